"""What makes a run's environments, as config.json keeps it and the run rebuilds it."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable

import gymnasium as gym

from xagents.envs.atari import ATARI_STACK
from xagents.envs.frame_stack import check_frame_stack
from xagents.envs.ids import callable_name, env_name, import_path
from xagents.envs.vector import make_vector_envs


@dataclasses.dataclass
class EnvRecipe:
    """An environment (registered id, ``package.module:EnvId``, ``package.module:function``, or a
    function returning a ``gymnasium.Env``) with its keyword arguments and xagents' own env options."""

    env: str | Callable[..., gym.Env]
    env_kwargs: dict = dataclasses.field(default_factory=dict)
    preprocess: bool = False
    max_frame: bool = True
    async_envs: bool = False
    obs_keys: list[str] | None = None  # the keys of a Dict observation the agent sees (None: all)
    frame_stack: int | None = None  # the last N observations as one (with preprocess: Atari's stack, default 4)

    def __post_init__(self):
        check_frame_stack(self.frame_stack)
        if isinstance(self.obs_keys, str):  # one key, not its characters
            self.obs_keys = [self.obs_keys]
        twice = sorted({key for key in self.obs_keys or () if list(self.obs_keys).count(key) > 1})
        if twice:
            raise ValueError(f'--obs-keys {" ".join(twice)}: given more than once, give each key once')
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
    def stacked_frames(self) -> int | None:
        """Frames the observations concatenate on their last axis, or None (the replay buffer stores each once)."""
        if self.preprocess:
            return self.frame_stack or ATARI_STACK
        return self.frame_stack if (self.frame_stack or 1) > 1 else None

    @property
    def short_name(self) -> str:
        """The id without its module, for folder and file names."""
        return re.sub(r'[^\w.-]', '', env_name(self.name).replace('/', '-')) or 'env'

    def make(self, n_envs: int, render_mode: str | None = None, async_envs: bool | None = None, **kwargs):
        """``n_envs`` copies as one vector env (``async_envs`` None: the recipe's own choice); the
        envs keep the recipe (``envs.recipe``), for an agent given them to evaluate, play and save with."""
        envs = make_vector_envs(
            self.env,
            n_envs,
            preprocess=self.preprocess,
            max_frame=self.max_frame,
            async_envs=self.async_envs if async_envs is None else async_envs,
            render_mode=render_mode,
            env_kwargs=self.env_kwargs,
            obs_keys=self.obs_keys,
            frame_stack=self.frame_stack,
            **kwargs,
        )
        envs.recipe = self
        return envs

    def to_config(self) -> dict:
        """The keys config.json keeps (a function that cannot be imported again is marked as such)."""
        config = {'env': self.name, 'env_kwargs': self.env_kwargs, 'preprocess': self.preprocess}
        config['max_frame'] = self.max_frame
        if self.obs_keys:
            config['obs_keys'] = list(self.obs_keys)
        if self.frame_stack is not None:
            config['frame_stack'] = self.frame_stack
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
            obs_keys=config.get('obs_keys'),
            frame_stack=config.get('frame_stack'),
        )


def create_envs(
    env_id: str | Callable[..., gym.Env],
    n_envs: int = 1,
    preprocess: bool = False,
    max_frame: bool = True,
    async_envs: bool = False,
    env_kwargs: dict | None = None,
    obs_keys: list[str] | None = None,
    frame_stack: int | None = None,
    **options,
) -> gym.vector.VectorEnv:
    """One vector env of ``n_envs`` copies of ``env_id`` that keeps how it was made (``envs.recipe``).

    The arguments (and ``options``: ``render_mode``, ``max_episode_steps``) are those of
    :func:`xagents.envs.vector.make_vector_envs`.
    """
    recipe = EnvRecipe(env_id, dict(env_kwargs or {}), preprocess, max_frame, async_envs, obs_keys, frame_stack)
    return recipe.make(n_envs, **options)
