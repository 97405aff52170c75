"""The hyperparameter schema: dataclass fields that carry help, default and tuning type.

Every hyperparameter is declared once, as a field made by :func:`hp` on a config
dataclass (:mod:`xagents.core.config`, each agent's ``config.py``, the training options).
The agent constructors take their defaults from those fields; the command layer reads the
same fields for its flags and help tables and the tuner for its search space. The checks
here give one-line errors naming the flag. Nothing here imports argparse or TensorFlow.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import types
import typing
from typing import Any

from xagents.core import schedules

TUNING_TYPES = ('log_uniform', 'uniform', 'int', 'categorical')


def hp(default: Any, help: str, tune: str | None = None, **argparse_kwargs) -> Any:
    """Declare a hyperparameter or option.

    Args:
        default: Default value (used by the constructor and the flag).
        help: One line of help shown in the tables.
        tune: Tuning type, one of ``TUNING_TYPES`` or None when not tunable.
        **argparse_kwargs: Extra ``add_argument`` keywords (``choices``, ``nargs``), and
            ``aliases``: old names of a renamed field, still taken (see :mod:`xagents.core.renamed`).
    """
    if tune is not None and tune not in TUNING_TYPES:
        raise ValueError(f'unknown tuning type {tune!r}')
    metadata = {'help': help, 'tune': tune, 'argparse': argparse_kwargs}
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def learning_rate(default: float, help: str) -> Any:
    """The ``lr`` field: a number or a linear schedule (``lin_<initial>``), tunable on a log scale."""
    return hp(default, f'{help} (lin_X: from X to 0 over --max-steps)', 'log_uniform', positive=True, schedule=True)


def field_type(field: dataclasses.Field) -> type:
    """The scalar type of a config field (``int | None`` -> int)."""
    annotation = field.type
    if isinstance(annotation, str):
        annotation = eval(annotation, vars(typing), {})  # annotations of our own configs only
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        annotation = next(arg for arg in typing.get_args(annotation) if arg is not type(None))
    if typing.get_origin(annotation) is list:
        annotation = typing.get_args(annotation)[0]
    return annotation


def flag_name(name: str) -> str:
    return '--' + name.replace('_', '-')


def check_range(name: str, value: float, low: float, high: float, low_open=False, high_open=False) -> None:
    """A one-line ValueError naming the flag when ``value`` is outside the interval (open ends as given)."""
    above = value > low if low_open else value >= low
    below = value < high if high_open else value <= high
    if not (above and below):
        interval = f'{"(" if low_open else "["}{low:g}, {high:g}{")" if high_open else "]"}'
        raise ValueError(f'{flag_name(name)} must be in {interval}, got {value}')


def _schedulable(config) -> list[dataclasses.Field]:
    return [
        field for field in dataclasses.fields(config) if field.metadata and field.metadata['argparse'].get('schedule')
    ]


def check_schedules(config) -> None:
    """Every schedulable field of ``config`` as a number or ``lin_<initial>`` (see
    :mod:`xagents.core.schedules`), with a one-line error naming the flag."""
    for field in _schedulable(config):
        try:
            value = schedules.checked(getattr(config, field.name), field.metadata['argparse'].get('positive', False))
        except ValueError as error:
            raise ValueError(f'{flag_name(field.name)}: {error}') from None
        setattr(config, field.name, value)


def scheduled_fields(config) -> list[str]:
    """The fields of ``config`` that follow a schedule in this run."""
    return [field.name for field in _schedulable(config) if schedules.is_scheduled(getattr(config, field.name))]


def check_alternatives(config) -> None:
    """A one-line error when two fields of ``config`` that set one thing two ways are both given.

    ``config.ALTERNATIVES`` maps each pair ``(used, ignored)`` (``used`` is the one that won when both
    were taken, as old runs saved them) to what the two set.
    """
    for (first, second), what in config.ALTERNATIVES.items():
        if getattr(config, first) is not None and getattr(config, second) is not None:
            raise ValueError(f'{flag_name(first)} and {flag_name(second)} both set {what}: give one of them')


def without_ignored(config_class, values: dict) -> dict:
    """A saved run's hyperparameters without the value each pair of alternatives ignored.

    Runs saved before two alternatives were refused together can hold both (the default of one
    beside the other given): the one used then is kept.
    """
    values = dict(values)
    for used, ignored in config_class.ALTERNATIVES:
        if values.get(used) is not None:
            values.pop(ignored, None)
    return values


def check_at_least_one(config, *names: str) -> None:
    """A clear error for any of the optional count fields ``names`` of ``config`` set below 1."""
    for name in names:
        value = getattr(config, name)
        if value is not None and value < 1:
            raise ValueError(f'{flag_name(name)} must be at least 1, got {value}')


def checked_scalar(name: str, value: Any, kind: type, positive: bool = False) -> Any:
    """``value`` given in Python for the flag of ``name`` checked as the flag's text is (the same
    messages as :func:`parse_scalar`): an int or a float (an integral float for an int), finite, and
    above 0 when ``positive``; None passes."""
    if value is None or kind not in (int, float):
        return value
    number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if number and kind is int and not isinstance(value, numbers.Integral):
        number = math.isfinite(value) and float(value).is_integer()
        value = int(value) if number else value
    if not number:
        raise ValueError(f'{flag_name(name)}: expected {kind.__name__}, got {value!r}')
    if not math.isfinite(value):
        raise ValueError(f'{flag_name(name)}: expected a finite number, got {value!r}')
    if positive and value <= 0:
        raise ValueError(f'{flag_name(name)}: must be > 0, got {value}')
    return value


def check_fields(config) -> None:
    """The numbers of ``config`` (a dataclass of :func:`hp` fields) as their flags take them: of the
    field's type, finite, and above 0 where declared ``positive`` (schedules: :func:`check_schedules`).
    Configs call it first in ``__post_init__``, so values given in Python meet the CLI's checks."""
    for field in dataclasses.fields(config):
        if not field.metadata or field.metadata['argparse'].get('schedule') or 'list' in str(field.type):
            continue
        positive = field.metadata['argparse'].get('positive', False)
        value = checked_scalar(field.name, getattr(config, field.name), field_type(field), positive)
        setattr(config, field.name, value)


def parse_scalar(kind: type, text: str, positive: bool = False) -> Any:
    """``text`` as ``kind`` (int, float or str), as a flag or a tune value gives it; a one-line
    ValueError for text that is not one, a float that is not finite, or, when ``positive``, a
    number not above 0."""
    try:
        value = kind(text)
    except ValueError:
        raise ValueError(f'expected {kind.__name__}, got {text!r}') from None
    if kind is float and not math.isfinite(value):
        raise ValueError(f'expected a finite number, got {text!r}')
    if positive and value <= 0:
        raise ValueError(f'must be > 0, got {text}')
    return value
