"""The hyperparameter schema: dataclass fields that carry help, default and tuning type.

Every hyperparameter is declared once, as a field made by :func:`hp` on a config
dataclass. The agent constructors take their defaults from those fields; the command
layer reads the same fields for its flags and help tables and the tuner for its search
space. Nothing here imports argparse or TensorFlow.
"""

from __future__ import annotations

import ast
import dataclasses
import math
import os
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


def check_at_least_one(config, *names: str) -> None:
    """A clear error for any of the optional count fields ``names`` of ``config`` set below 1."""
    for name in names:
        value = getattr(config, name)
        if value is not None and value < 1:
            raise ValueError(f'{flag_name(name)} must be at least 1, got {value}')


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


def parse_env_kwarg(text: str) -> tuple[str, Any]:
    """``key:value`` (RL Zoo's form) -> (key, value): the value read as a Python literal, as a string otherwise."""
    key, colon, value = text.partition(':')
    if not colon or not key.isidentifier():
        raise ValueError(f'expected key:value, got {text!r}')
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


@dataclasses.dataclass
class EnvOptions:
    """How environments are made (shared by train, play and tune)."""

    env: str = hp(None, 'Gymnasium id, or package.module:EnvId (the module registers it)', required=True)
    env_kwargs: dict | None = hp(
        None,
        'Keyword arguments of every env made, as key:value (values read as Python literals)',
        nargs='+',
        type=parse_env_kwarg,
        metavar='KEY:VALUE',
    )
    n_envs: int = hp(1, 'Number of environments in the vector environment', 'categorical', positive=True)
    preprocess: bool = hp(
        False,
        "Atari preprocessing as SB3's AtariWrapper: up to 30 no-ops, frame skip 4, FIRE on reset, 84x84 gray, "
        '4-frame stack (clipped rewards and life loss as terminal in training)',
    )
    max_frame: bool = hp(
        True, 'With --preprocess: each step sees the max of its last two frames (--no-max-frame: the last one)'
    )
    async_envs: bool = hp(
        False, 'Step environments in subprocesses (gymnasium AsyncVectorEnv; Atari envs always step in threads)'
    )

    def __post_init__(self):
        if isinstance(self.env_kwargs, list):  # key:value flags, parsed into pairs
            self.env_kwargs = dict(self.env_kwargs)


@dataclasses.dataclass
class AgentConfig:
    """Hyperparameters and options every agent has."""

    gamma: float = hp(0.99, 'Discount factor', 'log_uniform')
    lr: float | str = learning_rate(7e-4, 'Learning rate of the Adam optimizer')
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
        check_schedules(self)
        check_range('gamma', self.gamma, 0, 1, low_open=True)


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


@dataclasses.dataclass
class ContinuousOffPolicyConfig(OffPolicyConfig):
    """What the actor-critics of continuous actions that learn from replay share (TD3, DDPG, SAC)."""

    tau: float = hp(0.005, 'Polyak rate of the target networks (1: copy)', 'log_uniform', positive=True)
    train_frequency: int = hp(1, 'Vector env steps between updates', 'categorical', positive=True)
    gradient_steps: int = hp(1, 'Updates each time the agent trains', 'categorical', positive=True)
    buffer_max_size: int = hp(
        1_000_000, "Capacity of the replay buffer (transitions; SB3's 1M; xagents 0.2: 10k)", 'int', positive=True
    )
    buffer_batch_size: int = hp(
        256, "Transitions per update (SB3's 256; xagents 0.2: 32)", 'categorical', positive=True
    )
    # Whether a second critic (and its target) is trained: a fixed field of each agent's config.
    twin_critics: bool = dataclasses.field(default=False, init=False)

    def __post_init__(self):
        super().__post_init__()
        check_range('tau', self.tau, 0, 1, low_open=True)


def preprocess_defaults(hyperparameters: dict, preprocess: bool) -> dict:
    """Atari preprocessing trains on clipped rewards with a lost life as terminal, unless told otherwise."""
    if not preprocess:
        return dict(hyperparameters)
    return {'clip_rewards': True, 'life_loss_terminal': True, **hyperparameters}
