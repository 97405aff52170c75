"""Per-episode training history in parquet, written so a ``kill -9`` never breaks it.

An open ``ParquetWriter`` killed mid-run leaves a file without footer, so the whole
table is written to a temporary file in the same folder and moved over the old one
with ``os.replace``, which is atomic: a reader sees the old or the new file, never a
partial one.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

COLUMNS = ('episode', 'step', 'time', 'episode_reward', 'mean_reward', 'best_reward', 'episode_length')


class HistoryError(ValueError):
    """A history file that cannot be used."""


def read_history(path: str | os.PathLike, required: tuple[str, ...] = COLUMNS) -> pa.Table:
    """Read a history file, checking that it has the ``required`` columns."""
    path = Path(path)
    if path.is_dir():
        raise HistoryError(f'{path} is a folder, not a history file (a .parquet file)')
    if not path.is_file():
        raise HistoryError(f'history file not found: {path}')
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise HistoryError(f'{path} is not a readable parquet file: {str(error).splitlines()[0]}') from None
    missing = [column for column in required if column not in table.column_names]
    if missing:
        raise HistoryError(f'{path} is not an xagents history (missing columns: {", ".join(missing)})')
    return table


def atomic_write_table(table: pa.Table, path: Path) -> None:
    # One fixed temporary name: a file left by a kill is written over by the next save, not piled up.
    temporary = path.with_name(f'.{path.name}.tmp')
    try:
        pq.write_table(table, temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


class HistoryTable:
    """Collects one row per finished episode (or evaluation) and rewrites the parquet file atomically.

    Args:
        path: Parquet file to write; an existing history is kept and continued.
        required: Columns an existing file must have.
    """

    def __init__(self, path: str | os.PathLike, required: tuple[str, ...] = COLUMNS):
        self.path = Path(path)
        self.required = required
        if self.path.is_dir():
            raise HistoryError(f'{self.path} is a folder, not a history file (a .parquet file)')
        if not self.path.parent.is_dir():
            raise HistoryError(f'folder of the history file does not exist: {self.path.parent}')
        self.columns: dict[str, list] = {}
        self.rows = 0
        if self.path.exists():
            table = read_history(self.path, required)
            self.columns = {name: table.column(name).to_pylist() for name in table.column_names}
            self.rows = table.num_rows

    def last(self) -> dict | None:
        """The last row, or None when empty."""
        if not self.rows:
            return None
        return {name: values[-1] for name, values in self.columns.items()}

    def truncate(self, step: int) -> None:
        """Drop rows recorded after ``step`` (a resumed run repeats them)."""
        keep = sum(1 for value in self.columns.get('step', []) if value <= step)
        self.columns = {name: values[:keep] for name, values in self.columns.items()}
        self.rows = keep

    def append(self, row: dict) -> None:
        for name in row.keys() - self.columns.keys():
            self.columns[name] = [None] * self.rows
        for name, values in self.columns.items():
            values.append(row.get(name))
        self.rows += 1

    def column(self, name: str) -> list:
        return self.columns.get(name, [])

    def flush(self) -> None:
        """Write everything collected so far (atomically)."""
        columns = {name: [] for name in self.required} | self.columns  # an empty history has its columns too
        table = pa.table({name: pa.array(values, type=_column_type(name, values)) for name, values in columns.items()})
        atomic_write_table(table, self.path)


def _column_type(name: str, values: list) -> pa.DataType:
    return pa.int64() if name in ('episode', 'step', 'episode_length', 'episodes') else pa.float64()
