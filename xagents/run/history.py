"""Per-episode training history in parquet, written so a ``kill -9`` never breaks it.

An open ``ParquetWriter`` killed mid-run leaves a file without footer, so the whole
table is written to a temporary file in the same folder and moved over the old one
with ``os.replace``, which is atomic: a reader sees the old or the new file, never a
partial one.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
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


def plot_history(
    paths: list[str | os.PathLike],
    labels: list[str] | None = None,
    env: str = '',
    history_interval: int = 1,
    x: str = 'step',
    y: str = 'mean_reward',
    ax=None,
):
    """Plot the mean reward of one or more histories against step, time or episode.

    Histories given under the same label are drawn as their mean with a band of one
    standard deviation (seeds of one configuration).

    Args:
        paths: History parquet files.
        labels: One label per path (default: file names).
        env: Environment name for the title.
        history_interval: Plot every n-th row.
        x: ``step``, ``time`` or ``episode``.
        y: Column to plot.
        ax: A matplotlib axes to draw on (default: the current one).

    Returns:
        The matplotlib axes.
    """
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    if x not in ('step', 'time', 'episode'):
        raise ValueError(f'x must be step, time or episode, got {x!r}')
    labels = labels or [Path(path).stem for path in paths]
    if len(labels) != len(paths):
        raise ValueError(f'{len(paths)} histories but {len(labels)} labels')
    ax = ax or plt.gca()
    groups: dict[str, list[pa.Table]] = {}
    for path, label in zip(paths, labels):
        table = read_history(path)
        if table.num_rows == 0:
            raise HistoryError(f'{path} has no episodes yet: nothing to plot')
        groups.setdefault(label, []).append(table)
    for label, tables in groups.items():
        curves = [
            (np.asarray(t.column(x), float)[::history_interval], np.asarray(t.column(y), float)[::history_interval])
            for t in tables
        ]
        if len(curves) == 1:
            ax.plot(*curves[0], label=label)
            continue
        grid = np.linspace(0, min(curve[0][-1] for curve in curves), 200)
        values = np.stack([np.interp(grid, *curve) for curve in curves])
        mean, std = values.mean(0), values.std(0)
        (line,) = ax.plot(grid, mean, label=f'{label} (n={len(curves)})')
        ax.fill_between(grid, mean - std, mean + std, color=line.get_color(), alpha=0.25)
    ax.set_xlabel({'step': 'steps', 'time': 'time (s)', 'episode': 'episodes'}[x])
    ax.set_ylabel(y.replace('_', ' '))
    ax.set_title(env)
    ax.grid(alpha=0.3)
    ax.legend()
    return ax
