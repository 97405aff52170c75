"""The console: what training prints, and nothing when ``quiet``."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable

# Progress lines not shown on a terminal (a log file, a pipe) wrap at this width.
PLAIN_WIDTH = 100
BAR_WIDTH = 12


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


def line_width() -> int:
    """The width progress lines fit: the terminal's, or :data:`PLAIN_WIDTH` when stdout is none."""
    columns = shutil.get_terminal_size((PLAIN_WIDTH + 1, 24)).columns - 1
    return max(40, columns if sys.stdout.isatty() else min(columns, PLAIN_WIDTH))


def fitted_line(groups: list[list[str]], width: int) -> str:
    """The parts of ``groups`` joined by `` | `` on one line when it fits ``width``; otherwise a part
    that would pass ``width`` starts an indented line, and so does each group after the first
    unless the one before already ended on such a line."""
    whole = ' | '.join(part for group in groups for part in group)
    if len(whole) <= width:
        return whole
    lines: list[str] = []
    for group in filter(None, groups):
        parts = list(group)
        if not lines or not lines[-1].startswith('  '):
            lines.append(('  ' if lines else '') + parts.pop(0))
        for part in parts:
            if len(lines[-1]) + 3 + len(part) > width:
                lines.append('  ' + part)
            else:
                lines[-1] += ' | ' + part
    return '\n'.join(lines)


def budget_part(steps: int, budget: int, speed: float | None, bar: bool) -> str:
    """How far a run with a step ``budget`` is: a bar (on a terminal), the share and, when the
    ``speed`` is known, the time left (ETA)."""
    fraction = min(steps / budget, 1.0)
    left = max(budget - steps, 0)
    eta = f', ETA {short_duration(left / speed)}' if speed and left else ''
    percent = f'{int(fraction * 100)}%'  # 100% only when done
    if not bar:
        return f'({percent}{eta})'
    filled = int(fraction * BAR_WIDTH)
    return f'[{"=" * filled}{" " * (BAR_WIDTH - filled)}] {percent}{eta.removeprefix(",")}'


def short_duration(seconds: float) -> str:
    """``seconds`` as 45s, 3m05s or 2h07m."""
    seconds = round(seconds)
    if seconds < 60:
        return f'{seconds}s'
    if seconds < 3600:
        return f'{seconds // 60}m{seconds % 60:02d}s'
    return f'{seconds // 3600}h{seconds // 60 % 60:02d}m'
