"""One definition per flag: dataclass fields carry help, default and tuning type.

Every hyperparameter is declared once, as a field made by :func:`hp` on a config
dataclass. The command line flags, the help tables, the agent constructor defaults
and (later) the tuning search space are all read from those fields.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import math
import os
import sys
import types
import typing
from pathlib import Path
from typing import Any

TUNING_TYPES = ('log_uniform', 'uniform', 'int', 'categorical')


def hp(default: Any, help: str, tune: str | None = None, **argparse_kwargs) -> Any:
    """Declare a hyperparameter or option.

    Args:
        default: Default value (used by the constructor and the flag).
        help: One line of help shown in the tables.
        tune: Tuning type, one of ``TUNING_TYPES`` or None when not tunable.
        **argparse_kwargs: Extra ``add_argument`` keywords (``choices``, ``nargs``).
    """
    if tune is not None and tune not in TUNING_TYPES:
        raise ValueError(f'unknown tuning type {tune!r}')
    metadata = {'help': help, 'tune': tune, 'argparse': argparse_kwargs}
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


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


def _checked(kind: type, positive: bool = False):
    def convert(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f'expected {kind.__name__}, got {text!r}') from None
        if kind is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f'expected a finite number, got {text!r}')
        if positive and value <= 0:
            raise argparse.ArgumentTypeError(f'must be > 0, got {text}')
        return value

    convert.__name__ = kind.__name__
    return convert


def add_config_flags(parser: argparse.ArgumentParser, config_class, title: str, skip=(), negatable=False) -> None:
    """Add one flag per field of ``config_class`` to ``parser``.

    With ``negatable``, a switch ``--x`` also gets ``--no-x``, to turn off what a preset turned on.
    """
    group = parser.add_argument_group(title)
    for field in dataclasses.fields(config_class):
        if field.name in skip or not field.metadata:
            continue
        kind = field_type(field)
        meta = field.metadata
        extra = dict(meta['argparse'])
        positive = extra.pop('positive', False)
        kwargs = {'help': meta['help'], 'dest': field.name, 'default': argparse.SUPPRESS, **extra}
        if kind is bool:
            kwargs['action'] = argparse.BooleanOptionalAction if negatable else 'store_true'
        else:
            kwargs['type'] = _checked(kind, positive)
            kwargs['metavar'] = kind.__name__.upper()
        group.add_argument(flag_name(field.name), **kwargs)


def config_from_args(config_class, args: argparse.Namespace, **overrides):
    """Build ``config_class`` from parsed flags, given flags taking precedence."""
    names = {field.name for field in dataclasses.fields(config_class)}
    values = {name: value for name, value in overrides.items() if name in names}
    values.update({name: value for name, value in vars(args).items() if name in names})
    return config_class(**values)


def help_rows(config_class, skip=()) -> list[tuple[str, str, str, str]]:
    """Rows (flag, help, default, tuning type) for a help table."""
    rows = []
    for field in dataclasses.fields(config_class):
        if field.name in skip or not field.metadata:
            continue
        default = field.default if field.default is not dataclasses.MISSING else field.default_factory()
        if field_type(field) is bool:
            default = '-' if not default else 'on'
        rows.append(
            (
                flag_name(field.name),
                field.metadata['help'],
                '-' if default is None else str(default),
                field.metadata['tune'] or '-',
            )
        )
    return rows


def format_table(title: str, rows: list[tuple[str, ...]], header=('flag', 'help', 'default', 'tuning')) -> str:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    line = lambda row: '  ' + '  '.join(str(cell).ljust(width) for cell, width in zip(row, widths))  # noqa: E731
    return '\n'.join([title, line(header), line(['-' * width for width in widths]), *map(line, rows)])


def error_line(error: Exception) -> str:
    """One line for an error: its first (with the next when the first only introduces it), or for
    an error raised in compiled TensorFlow code its last."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    if lines[0] == 'in user code:':
        return lines[-1]
    return (' '.join(lines[:2]) if lines[0].endswith(':') else lines[0])[:300]


RUN_KEYS = ('agent', 'env', 'hyperparameters', 'checkpoints', 'history')


def read_run_config(run_dir: str | os.PathLike) -> dict:
    """The ``config.json`` of an xagents run directory; ValueError with a one-line reason otherwise."""
    path = Path(run_dir) / 'config.json'
    try:
        config = json.loads(path.read_text())
    except OSError:
        raise ValueError(f'{run_dir} is not an xagents run directory (no config.json)') from None
    except ValueError as error:
        raise ValueError(f'{path} is damaged: {error}') from None
    if not isinstance(config, dict) or any(key not in config for key in RUN_KEYS):
        raise ValueError(f'{run_dir} is not an xagents run directory (its config.json is not an xagents run config)')
    return config


# Names other libraries (Stable-Baselines3, CleanRL) give to flags that xagents spells differently.
FLAG_ALIASES = {
    '--learning-rate': '--lr',
    '--discount': '--gamma',
    '--gae-lambda': '--lam',
    '--num-envs': '--n-envs',
    '--total-timesteps': '--max-steps',
    '--ent-coef': '--entropy-coef',
    '--vf-coef': '--value-loss-coef',
    '--max-grad-norm': '--grad-norm',
    '--clip-range': '--clip-norm',
    '--n-epochs': '--ppo-epochs',
    '--buffer-size': '--buffer-max-size',
    '--batch-size': '--buffer-batch-size',
    '--learning-starts': '--buffer-initial-size',
}


def _closest_flag(flag: str, known: list[str]) -> str | None:
    if FLAG_ALIASES.get(flag) in known:
        return FLAG_ALIASES[flag]
    matches = difflib.get_close_matches(flag, known, n=1, cutoff=0.75)
    return matches[0] if matches else None


class ArgumentParser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line on stderr and exit code 2."""

    def error(self, message: str):
        if message.startswith('unrecognized arguments: '):
            flags = [word for word in message.split()[2:] if word.startswith('--')]
            known = [option for option in self._option_string_actions if option.startswith('--')]
            guesses = [guess for flag in flags if (guess := _closest_flag(flag, known))]
            if guesses:
                message += f' (did you mean {", ".join(guesses)}?)'
        sys.stderr.write(f'xagents: error: {message}\n')
        raise SystemExit(2)


@dataclasses.dataclass
class EnvOptions:
    """How environments are made (shared by train, play and tune)."""

    env: str = hp(None, 'Gymnasium environment id', required=True)
    n_envs: int = hp(1, 'Number of environments in the vector environment', 'categorical', positive=True)
    preprocess: bool = hp(False, 'Atari preprocessing: no-op reset, frame skip, 84x84 grayscale, 4-frame stack')
    max_frame: bool = hp(False, 'With --preprocess: max-pool the last two skipped frames')
    async_envs: bool = hp(False, 'Step environments in subprocesses (gymnasium AsyncVectorEnv)')


# Fields of AgentConfig that only matter while training (play takes none of them).
TRAINING_ONLY = (
    'tensorboard',
    'monitor_session',
    'video_interval',
    'video_dir',
    'eval_interval',
    'eval_episodes',
    'snapshot_interval',
)


@dataclasses.dataclass
class AgentConfig:
    """Hyperparameters and options every agent has."""

    gamma: float = hp(0.99, 'Discount factor', 'log_uniform')
    lr: float = hp(7e-4, 'Learning rate of the Adam optimizer', 'log_uniform', positive=True)
    opt_epsilon: float = hp(1e-7, 'Epsilon of the Adam optimizer', 'log_uniform', positive=True)
    beta1: float = hp(0.9, 'Beta1 of the Adam optimizer', 'log_uniform')
    beta2: float = hp(0.999, 'Beta2 of the Adam optimizer', 'log_uniform')
    normalize_obs: bool = hp(
        False, 'Normalize observations by a running mean/std (saved with checkpoints)', 'categorical'
    )
    normalize_reward: bool = hp(False, 'Scale rewards by a running std of the discounted return', 'categorical')
    clip_rewards: bool = hp(False, 'Train on the sign of rewards (on by default with --preprocess)', 'categorical')
    life_loss_terminal: bool = hp(
        False, 'Treat a lost life as terminal in training (on with --preprocess)', 'categorical'
    )
    reward_buffer_size: int = hp(100, 'Episodes in the mean reward', positive=True)
    log_frequency: int | None = hp(None, 'Print progress every n finished episodes (default: every 2 s)')
    divergence_monitoring_steps: int | None = hp(
        None, 'Steps after which plateau lr reduction and early stopping start'
    )
    plateau_reduce_factor: float = hp(0.9, 'Factor applied to the learning rate on a plateau', positive=True)
    plateau_reduce_patience: int = hp(10, 'Progress checks without improvement that make a plateau', positive=True)
    early_stop_patience: int = hp(3, 'Plateau reductions after which training stops', positive=True)
    save_interval: float = hp(30.0, 'Seconds between saves of the latest checkpoint and the history', positive=True)
    display_precision: int = hp(2, 'Decimals shown in progress lines')
    quiet: bool = hp(False, 'Print nothing while training')
    tensorboard: bool = hp(
        False, "TensorBoard scalars (returns, lengths, losses, lr, steps/s) in the run's tensorboard/"
    )
    monitor_session: str | None = hp(
        None, 'Log metrics, losses and videos to this wandb run (offline, in the run, without an account)'
    )
    video_interval: int | None = hp(
        None, "Record training episodes 0, n, 2n, ... as mp4 (in the run's videos/)", positive=True
    )
    video_dir: str | None = hp(None, 'Folder for training videos (alone: episodes 0, 1, 8, 27, ..., then every 1000)')
    eval_interval: int | None = hp(
        None,
        'Every n steps, evaluate the greedy policy on separate envs; the best evaluation is the best checkpoint',
        positive=True,
    )
    eval_episodes: int = hp(10, 'Episodes per evaluation', positive=True)
    snapshot_interval: int | None = hp(
        None, "Every n steps, keep a checkpoint in the run's snapshots/ (play it with --snapshot)", positive=True
    )
    jit_compile: bool = hp(
        os.environ.get('XAGENTS_JIT', '1') != '0',
        'Compile the updates of dense models with XLA: faster updates after a compile of a few seconds '
        '(XAGENTS_JIT=0: off by default; models with convolutions never use it)',
    )
    host_inference: bool = hp(
        True, 'Act with dense models computed in NumPy on the host (--no-host-inference: in TensorFlow)'
    )
    seed: int | None = hp(None, 'Random seed: the same seed repeats a CPU run exactly')

    def __post_init__(self):
        check_range('gamma', self.gamma, 0, 1, low_open=True)
        for name in ('video_interval', 'eval_interval', 'eval_episodes', 'snapshot_interval'):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f'{flag_name(name)} must be at least 1, got {value}')


@dataclasses.dataclass
class OffPolicyConfig(AgentConfig):
    """Replay buffer options of agents that learn from replay."""

    buffer_max_size: int = hp(10000, 'Capacity of the replay buffer (transitions)', 'int', positive=True)
    buffer_initial_size: int | None = hp(None, 'Transitions collected before training (default: batch size)', 'int')
    buffer_batch_size: int = hp(32, 'Transitions per update', 'categorical', positive=True)
    save_buffer: bool = hp(False, 'Save the replay buffer with each latest checkpoint; --resume restores it')

    def __post_init__(self):
        super().__post_init__()
        if self.buffer_batch_size > self.buffer_max_size:
            raise ValueError(
                f'--buffer-batch-size ({self.buffer_batch_size}) is larger than --buffer-max-size '
                f'({self.buffer_max_size})'
            )
        initial = self.buffer_initial_size or self.buffer_batch_size
        if initial > self.buffer_max_size:
            raise ValueError(
                f'--buffer-initial-size ({initial}) is larger than --buffer-max-size ({self.buffer_max_size})'
            )
