"""One writer per run folder: an exclusive lock held while a process trains into it."""

from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path

LOCK_FILE = '.lock'


class RunLocked(ValueError):
    """Another live process writes to the run folder."""


class RunLock:
    """An exclusive ``flock`` on ``<folder>/.lock``, which names the process that holds it.

    The kernel drops the lock when its process ends, however it ends, so the lock of a
    killed process (``kill -9``) is free: the next process takes it over, and only the
    file with the dead process's id is left behind.
    """

    def __init__(self, folder: str | os.PathLike):
        self.path = Path(folder) / LOCK_FILE
        self.file = None

    @property
    def held(self) -> bool:
        return self.file is not None

    def check(self) -> None:
        """Refuse a folder another live process holds, without writing anything."""
        if self.held or not self.path.is_file():
            return
        with open(self.path) as file:
            self._lock(file)
            fcntl.flock(file.fileno(), fcntl.LOCK_UN)

    def acquire(self) -> None:
        if self.held:
            return
        file = open(self.path, 'a+')
        self._lock(file)
        file.seek(0)
        file.truncate()
        file.write(f'process {os.getpid()} ({" ".join(sys.argv)[:200]})\n')
        file.flush()
        self.file = file

    def _lock(self, file) -> None:
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            holder = file.read().strip() or 'another process'
            file.close()
            raise RunLocked(
                f'{self.path.parent} is in use by {holder}: wait for it to end, or give another --output-dir'
            ) from None

    def release(self) -> None:
        if self.file is not None:
            fcntl.flock(self.file.fileno(), fcntl.LOCK_UN)
            self.file.close()
            self.file = None
