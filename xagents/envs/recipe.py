"""What makes a run's environments, as config.json keeps it and the run rebuilds it."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable

import gymnasium as gym

from xagents.envs.ids import env_name


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


@dataclasses.dataclass
class EnvRecipe:
    """An environment (registered id, ``package.module:EnvId``, ``package.module:function``, or a
    function returning a ``gymnasium.Env``) with its keyword arguments and xagents' own env options."""

    env: str | Callable[..., gym.Env]
    env_kwargs: dict = dataclasses.field(default_factory=dict)
    preprocess: bool = False
    max_frame: bool = False
    async_envs: bool = False

    def __post_init__(self):
        try:
            json.dumps(self.env_kwargs, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f'env kwargs are saved with the run as JSON (numbers, strings, lists, dicts): {error}'
            ) from None

    @property
    def name(self) -> str:
        """The env as the user gave it (``package.module:EnvId``), a function as ``module:name``
        when it can be imported again, else the function's name."""
        if callable(self.env):
            return import_path(self.env) or callable_name(self.env)
        return self.env

    @property
    def short_name(self) -> str:
        """The id without its module, for folder and file names."""
        return re.sub(r'[^\w.-]', '', env_name(self.name).replace('/', '-')) or 'env'

    def make(self, n_envs: int, render_mode: str | None = None, async_envs: bool | None = None, **kwargs):
        """``n_envs`` copies as one vector env (``async_envs`` None: the recipe's own choice)."""
        from xagents.envs.vector import create_envs

        return create_envs(
            self.env,
            n_envs,
            preprocess=self.preprocess,
            max_frame=self.max_frame,
            async_envs=self.async_envs if async_envs is None else async_envs,
            render_mode=render_mode,
            env_kwargs=self.env_kwargs,
            **kwargs,
        )

    def to_config(self) -> dict:
        """The keys config.json keeps (a function that cannot be imported again is marked as such)."""
        config = {'env': self.name, 'env_kwargs': self.env_kwargs, 'preprocess': self.preprocess}
        config['max_frame'] = self.max_frame
        if callable(self.env) and import_path(self.env) is None:
            config['env_function'] = callable_name(self.env)
        return config

    @classmethod
    def from_config(cls, config: dict, env: str | Callable | None = None) -> EnvRecipe:
        """The recipe a run's config.json keeps; ``env`` replaces a function that cannot be imported again."""
        if env is None and config.get('env_function'):
            name = config['env_function']
            raise ValueError(
                f'the run made its environments with {name}(), which cannot be imported again: '
                f'pass it to xagents.load(run_dir, env={name})'
            )
        return cls(
            config['env'] if env is None else env,
            dict(config.get('env_kwargs') or {}),
            bool(config.get('preprocess')),
            bool(config.get('max_frame')),
        )
