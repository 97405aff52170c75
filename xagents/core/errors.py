"""Errors a user can cause or meet, and how any error reads as one line."""

from __future__ import annotations


class CheckpointError(ValueError):
    """Weights that cannot be loaded into the agent."""


class TrainingDiverged(RuntimeError):
    """A loss or a parameter became NaN or infinite; nothing after the last good save was saved."""


class DiskFull(RuntimeError):
    """No space left while saving: what was saved before is kept, the half-written files are removed."""


# The longest error line shown.
LONGEST = 600


def error_line(error: Exception) -> str:
    """One line for an error: its first (with the next when the first only introduces it), or for
    an error raised in compiled TensorFlow code its last."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    if lines[0] == 'in user code:':
        return lines[-1]
    line = ' '.join(lines[:2]) if lines[0].endswith(':') else lines[0]
    # Bounded (a dump of arrays or a repr of a space can run to pages), cut between words.
    if len(line) <= LONGEST:
        return line
    cut = line.rfind(' ', 0, LONGEST)
    return line[: cut if cut > 0 else LONGEST] + ' ...'
