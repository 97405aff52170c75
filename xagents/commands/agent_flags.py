"""An agent's part of a command line: its config module, its model-file flags, its hyperparameters."""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Collection
from pathlib import Path

from xagents.commands.failing import fail
from xagents.core.config import AgentConfig
from xagents.core.renamed import current_names
from xagents.core.schema import flag_name
from xagents.registry import AGENTS


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
    rule = default_models_rule(module)
    models = [
        (flag_name(model_flag(role)), f'{role} .cfg file ({rule})', 'agent default', '-') for role in module.MODEL_ROLES
    ]
    return own + models


def default_models_rule(module) -> str:
    """How the agent's default model files are picked, for the help of its model flags."""
    folder = Path(module.__file__).parent / 'models'
    if not any(folder.glob('cnn-*.cfg')):
        return 'default ann-*.cfg, for vector observations'
    return (
        'default: ann-*.cfg for vectors; for images (uint8 HxWxC or HxW) cnn-*.cfg, NatureCNN, '
        'from 36x36 up, cnn-small-*.cfg below'
    )


def hyperparameters(module, args, preset: dict, skip=(), training: Collection[str] = ()) -> dict:
    """Preset (or saved) values overridden by the given flags; fixed fields such as DDPG's are left out
    (renamed fields saved under an old name are taken under the name now).

    ``training`` names the training loop's options taken too (a run saves them with its hyperparameters).
    """
    preset = current_names(module.CONFIG, preset)
    names = {field.name for field in dataclasses.fields(module.CONFIG) if field.init and field.name not in skip}
    names |= set(training)
    given = {name: value for name, value in vars(args).items() if name in names}
    # A flag given replaces the preset's other way of setting the same thing (only two given conflict).
    replaced = {name for pair in module.CONFIG.ALTERNATIVES if given.keys() & set(pair) for name in pair}
    values = {name: value for name, value in preset.items() if name in names and name not in replaced}
    values.update(given)
    return values
