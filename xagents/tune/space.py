"""The search space: one dimension per flag given to ``xagents tune``, and what optuna samples from it."""

from __future__ import annotations

import dataclasses

from xagents.core import schedules
from xagents.core.schema import field_type, flag_name, parse_scalar
from xagents.tune.options import GAMMA_PARAM, TuneError


@dataclasses.dataclass
class Dimension:
    """One hyperparameter of the search: a fixed ``value``, a ``low``-``high`` range or ``choices``."""

    name: str
    kind: str  # fixed | range | choices
    value: object = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False
    choices: list | None = None
    linear: bool = False  # a range of lin_ schedules: sampled on their initial values

    def at(self, value):
        """A sampled number as the hyperparameter's value (a schedule from it, for a range of schedules)."""
        return schedules.linear_schedule(value) if self.linear else value

    def describe(self) -> str:
        if self.kind == 'fixed':
            return f'{self.name}={self.value}'
        if self.kind == 'choices':
            return f'{self.name} in {{{", ".join(map(str, self.choices))}}}'
        scale = 'log ' if self.log else ''
        kind = 'int' if self.integer else 'float'
        schedule = ' (lin_ of it)' if self.linear else ''
        return f'{self.name} {scale}{kind} in [{self.low:g}, {self.high:g}]{schedule}'


BOOLEAN_WORDS = {
    'true': True,
    'false': False,
    'yes': True,
    'no': False,
    'on': True,
    'off': False,
    '1': True,
    '0': False,
}


def _convert(field: dataclasses.Field, text: str):
    kind = field_type(field)
    flag = flag_name(field.name)
    if field.metadata['argparse'].get('schedule'):
        try:
            return schedules.checked(text, field.metadata['argparse'].get('positive', False))
        except ValueError as error:
            raise TuneError(f'{flag}: {error}') from None
    convert = field.metadata['argparse'].get('type')
    if convert is not None:  # the field's own words (--threads auto, --threads 1 1), as the train flag takes them
        try:
            return convert(text)
        except ValueError as error:
            raise TuneError(f'{flag}: {error}') from None
    if kind is bool:
        if text.lower() not in BOOLEAN_WORDS:
            raise TuneError(f'{flag} takes true or false, got {text!r}')
        return BOOLEAN_WORDS[text.lower()]
    try:  # the same conversion and checks as the train flags
        value = parse_scalar(kind, text, field.metadata['argparse'].get('positive', False))
    except ValueError as error:
        raise TuneError(f'{flag}: {error}') from None
    allowed = field.metadata['argparse'].get('choices')
    if allowed and value not in allowed:
        raise TuneError(f'{flag} must be one of {", ".join(map(str, allowed))}, got {text!r}')
    return value


def dimension(field: dataclasses.Field, texts: list[str]) -> Dimension:
    """The search dimension that the values given to a flag ask for."""
    flag, tune = flag_name(field.name), field.metadata['tune']
    kind = field_type(field)
    if field.metadata['argparse'].get('nargs') and tune is None:  # one value of several words: fixed
        if not texts:
            raise TuneError(f'{flag} needs a value, as xagents train takes it')
        return Dimension(field.name, 'fixed', value=[_convert(field, text) for text in texts])
    if len(texts) == 1 and '..' in texts[0]:  # LOW..HIGH, the same as LOW HIGH for a range-type flag
        if tune == 'categorical':
            raise TuneError(
                f'{flag} is categorical: list its choices ({flag} A B C); a range LOW..HIGH is for flags '
                'of tuning type uniform, log_uniform or int'
            )
        texts = texts[0].split('..', 1)
    if kind is bool:
        values = [True] if not texts else [_convert(field, text) for text in texts]
    else:
        if not texts:
            raise TuneError(f'{flag} needs a value (one fixes it, two give a range, several are choices)')
        values = [_convert(field, text) for text in texts]
    if len(values) == 1:
        return Dimension(field.name, 'fixed', value=values[0])
    if len(set(values)) != len(values):
        raise TuneError(f'{flag}: values repeat: {" ".join(texts)}')
    if tune is None:
        raise TuneError(f'{flag} is not tunable (its tuning type is -): give one value')
    if tune == 'categorical':
        return Dimension(field.name, 'choices', choices=values)
    if len(values) != 2:
        raise TuneError(
            f'{flag} is a {tune} flag: give one value or a range LOW HIGH, not {len(values)} values '
            '(lists of choices are for categorical flags)'
        )
    linear = [schedules.is_scheduled(value) for value in values]
    if any(linear) and not all(linear):
        raise TuneError(f'{flag}: a range is two numbers or two lin_ schedules, got {" ".join(texts)}')
    low, high = (schedules.initial(value) for value in values)
    if low > high:
        raise TuneError(f'{flag}: the range minimum {low} is above its maximum {high}')
    if field.name == 'gamma':
        if not 0 < low <= high < 1:
            raise TuneError(
                f'--gamma range must lie in (0, 1) (it is searched as 1 - gamma on a log scale), got {low} {high}'
            )
        return Dimension(field.name, 'range', low=low, high=high, log=True)
    log = tune == 'log_uniform'
    if log and low <= 0:
        raise TuneError(f'{flag} is searched on a log scale: its range must be above 0, got {low} {high}')
    return Dimension(field.name, 'range', low=low, high=high, log=log, integer=kind is int, linear=all(linear))


def search_space(config_classes, given: dict[str, list[str]]) -> dict[str, Dimension]:
    fields = {field.name: field for config in config_classes for field in dataclasses.fields(config) if field.metadata}
    return {name: dimension(fields[name], texts) for name, texts in given.items()}


def add_preset(space: dict[str, Dimension], preset: dict, config_class) -> None:
    """Fix the hyperparameters of ``preset`` (of ``config_class`` or ``n_envs``) that ``space`` leaves out."""
    names = {field.name for field in dataclasses.fields(config_class)} | {'n_envs'}
    # A searched field replaces the preset's other way of setting the same thing.
    names -= {name for pair in config_class.ALTERNATIVES if space.keys() & set(pair) for name in pair}
    for name, value in preset.items():
        if name not in space and name in names:
            space[name] = Dimension(name, 'fixed', value=value)


def suggest(trial, space: dict[str, Dimension]) -> dict:
    """Hyperparameters for ``trial``: fixed values as given, the others sampled by optuna."""
    values = {}
    for name, dim in space.items():
        if dim.kind == 'fixed':
            values[name] = dim.value
        elif dim.kind == 'choices':
            values[name] = trial.suggest_categorical(name, dim.choices)
        elif name == 'gamma':
            values[name] = 1 - trial.suggest_float(GAMMA_PARAM, 1 - dim.high, 1 - dim.low, log=True)
        elif dim.integer:
            values[name] = trial.suggest_int(name, int(dim.low), int(dim.high), log=dim.log)
        else:
            values[name] = dim.at(trial.suggest_float(name, dim.low, dim.high, log=dim.log))
    return values


def check_values(module, space: dict[str, Dimension]) -> None:
    """The agent's own checks on every fixed value, range end and choice, before any trial runs."""
    names = {field.name for field in dataclasses.fields(module.CONFIG)}
    fixed = {name: dim.value for name, dim in space.items() if dim.kind == 'fixed' and name in names}
    candidates = [{}]
    for name, dim in space.items():
        if name in names and dim.kind == 'range':
            low, high = (int(dim.low), int(dim.high)) if dim.integer else (dim.at(dim.low), dim.at(dim.high))
            candidates += [{name: low}, {name: high}]
        elif name in names and dim.kind == 'choices':
            candidates += [{name: choice} for choice in dim.choices]
    for candidate in candidates:
        try:
            module.CONFIG(**{**fixed, **candidate})
        except (ValueError, TypeError) as error:
            raise TuneError(str(error).splitlines()[0]) from None
