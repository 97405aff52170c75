"""The console: what training prints, and nothing when ``quiet``."""

from __future__ import annotations

import time
from collections.abc import Callable


def console_for(options) -> Callable[[str], None]:
    """``print`` (flushed), or nothing with the training options' ``quiet`` (``options`` may be None)."""
    if options is not None and options.quiet:
        return lambda message: None
    return lambda message: print(message, flush=True)


class OperationProgress:
    """Progress lines for a long operation (a warm-up, an evaluation): one every ``interval`` seconds
    and one at the end.

    Operations that end within ``interval`` print only the final line.
    """

    def __init__(self, label: str, total: int, unit: str, console: Callable[[str], None] = print, interval=2.0):
        self.clock = time.perf_counter
        self.label, self.total, self.unit, self.console, self.interval = label, total, unit, console, interval
        self.start = self.last = self.clock()

    def update(self, done: int) -> None:
        now = self.clock()
        if now - self.last >= self.interval:
            self.last = now
            self.console(f'{self.label}: {done:,}/{self.total:,} {self.unit} ({done / max(self.total, 1):.0%})')

    def finish(self, summary: str = '') -> None:
        seconds = self.clock() - self.start
        self.console(f'{self.label}: {summary or f"{self.total:,} {self.unit}"} ({seconds:.1f} s)')
