"""Replay buffers on disk (``--save-buffer``): ``.npz`` files replaced only once complete."""

from __future__ import annotations

import contextlib
import os
import zipfile
from pathlib import Path

import numpy as np


def save_arrays(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``path`` (``.npz``), replacing any previous file only once complete."""
    path = Path(path)
    temporary = path.with_name(path.name + '.tmp.npz')
    try:
        np.savez(temporary, **arrays)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)  # what a full disk left half-written


@contextlib.contextmanager
def damaged_says(path: str | os.PathLike):
    """A file that cannot be read back (truncated, a missing array) becomes one clear ValueError."""
    try:
        yield
    except (zipfile.BadZipFile, KeyError, EOFError, OSError) as error:
        raise ValueError(f'replay buffer {path} is damaged ({error}): remove it to resume without it') from None
