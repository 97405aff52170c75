"""Environment ids: registered ones, gymnasium's ``package.module:EnvId``, and Atari's registration."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable

import gymnasium as gym

from xagents.envs.atari import register_atari
from xagents.extras import require

# Where gymnasium's and ale-py's own environments live: every other entry point is a user's
# environment, checked against the gymnasium API before a run uses it.
TRUSTED_ENTRY_POINTS = ('gymnasium.envs.', 'ale_py')


class UnknownEnv(ValueError):
    """An environment id gymnasium does not know (or whose module cannot be imported)."""


def split_env(env: str) -> tuple[str | None, str]:
    """``package.module:EnvId`` -> (``package.module``, ``EnvId``); a plain id -> (None, id)."""
    module, colon, name = env.partition(':')
    if colon and not (module and name):
        raise UnknownEnv(f'--env {env}: expected an id or package.module:EnvId')
    return (module, name) if colon else (None, env)


def env_name(env: str) -> str:
    """The id without its module: ``myenvs:Corridor-v0`` -> ``Corridor-v0``."""
    return split_env(env)[1]


def import_env_module(module: str, env: str) -> None:
    """Import the module that registers ``env``, from the working folder too (as ``python -m`` would)."""
    if os.getcwd() not in sys.path and '' not in sys.path:
        sys.path.append(os.getcwd())
    try:
        importlib.import_module(module)
    except ImportError as error:
        hint = ' (run from its folder, or put that folder on PYTHONPATH)' if error.name == module.split('.')[0] else ''
        raise UnknownEnv(f'--env {env}: cannot import {module}: {error}{hint}') from None
    except Exception as error:  # a syntax error, a simulator missing: the module's own, named so
        line = next((part.strip() for part in str(error).splitlines() if part.strip()), '')
        raise UnknownEnv(f'--env {env}: importing {module} raised {type(error).__name__}: {line}') from error


def find_factory(env: str) -> Callable | None:
    """The function of ``package.module:function`` (a name that is no registered id), or None.

    It makes one env, called with the env kwargs (and ``render_mode`` when it takes one),
    as a function given to ``from_env`` does; a run made from an importable function saves it so.
    """
    module, name = split_env(env)
    if module is None or not all(part.isidentifier() for part in name.split('.')):
        return None
    import_env_module(module, env)
    if name in gym.registry:
        return None
    target = sys.modules[module]
    for part in name.split('.'):
        target = getattr(target, part, None)
    return target if callable(target) else None


def check_env_id(env: str) -> gym.envs.registration.EnvSpec:
    """The spec of a registered id (after importing its module, or ale-py for Atari ids); UnknownEnv otherwise."""
    module, name = split_env(env)
    if module is not None:
        import_env_module(module, env)
    if name.startswith('ALE/') or 'NoFrameskip' in name:
        register_atari(env)
    try:
        spec = gym.spec(name)
    except gym.error.Error as error:
        after = f' (importing {module} did not register it)' if module else ''
        raise UnknownEnv(f'unknown environment {name!r}{after}: {str(error).splitlines()[0]}') from None
    require_simulator(spec, env)
    return spec


# gymnasium's envs whose simulator is an extra: entry point prefix -> (module, extra).
SIMULATORS = {'gymnasium.envs.box2d.': ('Box2D', 'box2d'), 'gymnasium.envs.mujoco.': ('mujoco', 'mujoco')}


def require_simulator(spec: gym.envs.registration.EnvSpec, env: str) -> None:
    """The simulator of a Box2D or MuJoCo env, or a :class:`~xagents.extras.MissingExtra` naming its extra
    (not gymnasium's DependencyNotInstalled, whose pip advice installs gymnasium's extra)."""
    entry = spec.entry_point if isinstance(spec.entry_point, str) else ''
    for prefix, (module, extra) in SIMULATORS.items():
        if entry.startswith(prefix):
            require(module, extra, f'--env {env}')


def is_user_env(spec: gym.envs.registration.EnvSpec) -> bool:
    """Whether an env comes from outside gymnasium and ale-py (and so is checked before use)."""
    entry = spec.entry_point
    return not (isinstance(entry, str) and entry.startswith(TRUSTED_ENTRY_POINTS))


def callable_name(function: Callable) -> str:
    """A function's (or a partial's, or a class's) name."""
    inner = getattr(function, 'func', None)  # functools.partial
    return getattr(function, '__name__', None) or getattr(inner, '__name__', None) or type(function).__name__


def import_path(function: Callable) -> str | None:
    """``module:qualified.name`` that imports ``function`` again, or None (``__main__``, a lambda, a partial)."""
    module, qualname = getattr(function, '__module__', None), getattr(function, '__qualname__', None)
    if not module or not qualname or module == '__main__' or '<' in qualname:
        return None
    return f'{module}:{qualname}'
