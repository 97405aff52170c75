"""What makes a run's environments, as config.json keeps it and the run rebuilds it."""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable

import gymnasium as gym

from xagents.envs.ids import env_name


@dataclasses.dataclass
class EnvRecipe:
    """An environment (registered id, ``package.module:EnvId``, or a function returning a
    ``gymnasium.Env``) with its keyword arguments and xagents' own env options."""

    env: str | Callable[..., gym.Env]
    env_kwargs: dict = dataclasses.field(default_factory=dict)
    preprocess: bool = False
    max_frame: bool = False
    async_envs: bool = False

    @property
    def name(self) -> str:
        """The id as the user gave it (``package.module:EnvId`` included), or the function's name."""
        if callable(self.env):
            return getattr(self.env, '__name__', type(self.env).__name__)
        return self.env

    @property
    def short_name(self) -> str:
        """The id without its module, for folder and file names."""
        return env_name(self.name).replace('/', '-')

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
        """The keys config.json keeps (a function is kept as the ``module:qualified.name`` that imports it)."""
        config = {'env': self.name, 'env_kwargs': self.env_kwargs, 'preprocess': self.preprocess}
        config['max_frame'] = self.max_frame
        if callable(self.env):
            config['env_factory'] = f'{self.env.__module__}:{self.env.__qualname__}'
        return config

    @classmethod
    def from_config(cls, config: dict, env: str | Callable | None = None) -> EnvRecipe:
        """The recipe a run's config.json keeps; ``env`` replaces a function that cannot be imported again."""
        if env is None:
            env = _import_factory(config['env_factory']) if config.get('env_factory') else config['env']
        return cls(
            env,
            dict(config.get('env_kwargs') or {}),
            bool(config.get('preprocess')),
            bool(config.get('max_frame')),
        )


def _import_factory(path: str) -> Callable:
    module, _, qualname = path.partition(':')
    unreachable = ValueError(
        f'the run made its environments with {path}, which cannot be imported here: '
        'pass the function again (xagents.load(run_dir, env=make_env))'
    )
    if module == '__main__' or '<locals>' in qualname:
        raise unreachable
    try:
        target = importlib.import_module(module)
        for part in qualname.split('.'):
            target = getattr(target, part)
    except (ImportError, AttributeError):
        raise unreachable from None
    return target
