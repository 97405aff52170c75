"""Hyperparameters that change over a run, written as RL Zoo writes them: ``lin_2.5e-4``.

A schedulable hyperparameter (``hp(..., schedule=True)``) holds a number, constant over the
run, or the text ``lin_<initial>``: ``initial * (1 - progress)``, from ``initial`` at the
first step to 0 at the last, progress being the share of the run's ``--max-steps`` done
(Stable-Baselines3's ``progress_remaining`` schedules). The text is the value everywhere:
flags, the Python API, presets and ``config.json``, so a resumed run reads it back and goes
on at the point its step count gives. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import math

LINEAR = 'lin_'


def parse(value: float | str) -> tuple[float, bool]:
    """``(initial value, linear)`` of a schedulable value; a ValueError for text that is neither
    a number nor ``lin_<number>``."""
    if isinstance(value, str):
        linear = value.startswith(LINEAR)
        text = value[len(LINEAR) :] if linear else value
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f'expected a number or lin_<number> (a linear schedule to 0), got {value!r}') from None
    else:
        linear, number = False, float(value)
    if not math.isfinite(number):
        raise ValueError(f'expected a finite number, got {value!r}')
    return number, linear


def canonical(value: float | str) -> float | str:
    """A number as a float; a schedule as ``lin_<initial>`` (what the config keeps)."""
    number, linear = parse(value)
    return linear_schedule(number) if linear else number


def checked(value: float | str, positive: bool = False) -> float | str:
    """``canonical(value)``, a ValueError also for an initial value not above 0 when ``positive``."""
    value = canonical(value)
    if positive and initial(value) <= 0:
        raise ValueError(f'must be > 0, got {value}')
    return value


def linear_schedule(initial_value: float) -> str:
    return f'{LINEAR}{initial_value!r}'


def is_scheduled(value) -> bool:
    return isinstance(value, str) and parse(value)[1]


def initial(value: float | str) -> float:
    return parse(value)[0]


def value_at(value: float | str, progress: float) -> float:
    """The value at ``progress`` (0 at the first step, 1 at ``--max-steps``; past it, the last value)."""
    number, linear = parse(value)
    return number * (1.0 - min(max(progress, 0.0), 1.0)) if linear else number
