"""The environment flags every command takes: the options, their ``from_env`` keywords, the id checked early."""

from __future__ import annotations

import ast
import dataclasses
from typing import Any

from xagents.commands.failing import fail
from xagents.core.schema import hp


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
    obs_keys: list[str] | None = hp(
        None, 'The keys of a Dict observation the agent sees (default: all), e.g. image direction', nargs='+'
    )
    frame_stack: int | None = hp(
        None,
        'Observe the last N observations as one, concatenated on the last axis (vectors d -> d*N, images '
        'HxWxC -> HxWx(C*N), each key of a Dict), zeros before an episode starts; with --preprocess it sets '
        'the Atari stack (default 4). predict and exports take the stacked observation',
        positive=True,
        metavar='N',
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

    @classmethod
    def names(cls) -> list[str]:
        return [field.name for field in dataclasses.fields(cls)]


def env_kwargs(options: EnvOptions) -> dict:
    """The ``from_env`` keywords of the environment options (all but the id)."""
    values = dataclasses.asdict(options)
    values.pop('env')
    return values


def check_env(env_id: str) -> None:
    """Fail fast, before TensorFlow loads, on an unknown environment id."""
    from xagents.envs.ids import UnknownEnv, check_env_id, find_factory

    try:
        if find_factory(env_id) is None:
            check_env_id(env_id)
    except UnknownEnv as error:
        fail(str(error))
