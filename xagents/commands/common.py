"""What the commands share: failing with one line, the environment options, the agent's config module, model flags."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import sys
from typing import Any

from xagents._quiet import import_tensorflow
from xagents.core.config import AgentConfig
from xagents.core.renamed import current_names
from xagents.core.schema import flag_name, hp
from xagents.registry import AGENTS

# With --debug anywhere on the command line, errors show their traceback.
DEBUG = False


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


def fail(message: str, code: int = 2):
    sys.stderr.write(f'xagents: error: {message}\n')
    raise SystemExit(code)


def agent_module(name: str):
    """The config module of agent ``name`` (``xagents/<name>/config.py``): CONFIG, MODEL_ROLES, PRESETS."""
    if name not in AGENTS:
        fail(f'unknown agent {name!r}, expected one of: {", ".join(AGENTS)}')
    return importlib.import_module(f'xagents.{name}.config')


def model_flag(role: str) -> str:
    """The destination of a role's model-file flag: ``model`` or ``<role>_model``."""
    return 'model' if role == 'model' else f'{role}_model'


def add_model_flags(parser, module) -> None:
    for role in module.MODEL_ROLES:
        parser.add_argument(flag_name(model_flag(role)), dest=model_flag(role), default=None)


def model_files(module, args) -> list[str] | None:
    """The model files given with the model flags: all of them or None."""
    files = [getattr(args, model_flag(role)) for role in module.MODEL_ROLES]
    if all(file is None for file in files):
        return None
    if any(file is None for file in files):
        fail('give every model file or none: ' + ' '.join(flag_name(model_flag(r)) for r in module.MODEL_ROLES))
    return files


def agent_options(module, help_rows) -> list[tuple[str, str, str, str]]:
    """Help rows of an agent's own flags (those all agents share are listed apart) and its model flags."""
    base = {field.name for field in dataclasses.fields(AgentConfig)}
    own = [row for row in help_rows(module.CONFIG) if row[0][2:].replace('-', '_') not in base]
    models = [(flag_name(model_flag(role)), f'{role} .cfg file', 'agent default', '-') for role in module.MODEL_ROLES]
    return own + models


def hyperparameters(module, args, preset: dict, skip=(), training: bool = False) -> dict:
    """Preset (or saved) values overridden by the given flags; fixed fields such as DDPG's are left out
    (renamed fields saved under an old name are taken under the name now).

    With ``training``, the training loop's options (saved with a run's hyperparameters) too.
    """
    preset = current_names(module.CONFIG, preset)
    names = {field.name for field in dataclasses.fields(module.CONFIG) if field.init and field.name not in skip}
    if training:
        from xagents.train.options import TrainingOptions

        names |= set(TrainingOptions().saved())
    values = {name: value for name, value in preset.items() if name in names}
    values.update({name: value for name, value in vars(args).items() if name in names})
    return values


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


def run_guarded(runner, *args) -> int:
    """Run a command with TensorFlow loaded, turning the errors a user can cause into one line and exit 2."""
    import_tensorflow()
    from xagents.core.errors import CheckpointError, TrainingDiverged, error_line
    from xagents.nets.reader import ModelConfigError
    from xagents.run.history import HistoryError

    try:
        return runner(*args)
    except TrainingDiverged as error:
        if DEBUG:
            raise
        fail(f'training diverged: {error}', code=1)
    # OSError: output paths a user got wrong (a file where a folder goes, no permission).
    except (ValueError, TypeError, CheckpointError, HistoryError, ModelConfigError, OSError) as error:  # noqa: B014
        if DEBUG:
            raise
        fail(error_line(error))
