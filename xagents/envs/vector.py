"""Vector environments: one object for N copies, the fastest implementation that fits.

Environments come from a registered id, gymnasium's ``package.module:EnvId``, or a
function returning a ``gymnasium.Env``; ``env_kwargs`` reach every copy. A user's
environment is checked against the gymnasium API once before it is vectorized.
"""

from __future__ import annotations

import functools
import inspect
import os
import re
import warnings
from collections.abc import Callable

import gymnasium as gym
from gymnasium.envs.classic_control.cartpole import CartPoleVectorEnv
from gymnasium.vector import AutoresetMode

from xagents.envs.atari import ATARI_STACK, atari_envs, is_atari
from xagents.envs.autoreset import SameStepCartPole
from xagents.envs.checks import GuardedEnv, check_env_api, check_spaces, env_calls, made_with
from xagents.envs.dict_spaces import choose_keys
from xagents.envs.frame_stack import FrameStack, check_frame_stack
from xagents.envs.ids import callable_name, check_env_id, env_name, find_factory, import_path, is_user_env
from xagents.envs.rendering import FollowTrackedBody


def use_headless_backends() -> None:
    """Without a display: MuJoCo renders through EGL and pygame through SDL's dummy driver."""
    if os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY'):
        return
    os.environ.setdefault('MUJOCO_GL', 'egl')
    os.environ.setdefault('PYOPENGL_PLATFORM', os.environ['MUJOCO_GL'])
    os.environ.setdefault('SDL_VIDEODRIVER', 'dummy')


use_headless_backends()  # before any environment loads its renderer


def _is_mujoco(spec) -> bool:
    return isinstance(spec.entry_point, str) and spec.entry_point.startswith('gymnasium.envs.mujoco')


def make_vector_envs(
    env_id: str | Callable[..., gym.Env],
    n_envs: int = 1,
    preprocess: bool = False,
    max_frame: bool = True,
    async_envs: bool = False,
    render_mode: str | None = None,
    max_episode_steps: int | None = None,
    env_kwargs: dict | None = None,
    obs_keys: list[str] | None = None,
    frame_stack: int | None = None,
) -> gym.vector.VectorEnv:
    """Build one vector environment of ``n_envs`` copies of ``env_id``.

    Uses a native vector implementation where gymnasium or ale-py has one (CartPole,
    Atari with ``preprocess``), ``SyncVectorEnv`` otherwise and ``AsyncVectorEnv`` when
    ``async_envs`` is set. Seeding happens at the first ``reset(seed=...)``.

    Args:
        env_id: A registered gymnasium id such as ``CartPole-v1`` or ``PongNoFrameskip-v4``,
            ``package.module:EnvId`` (the module is imported first, registering the env),
            or a function returning a ``gymnasium.Env`` (called with ``env_kwargs``, and
            ``render_mode`` when it takes one).
        n_envs: Number of copies.
        preprocess: Atari preprocessing (:class:`xagents.envs.atari.PreprocessedAtari`),
            observations ``(n, 84, 84, 4)`` uint8.
        max_frame: Each step's observation is the max of its last two frames (with ``preprocess``).
        async_envs: Step copies in subprocesses.
        render_mode: Passed to the environments, e.g. ``rgb_array`` for recording. MuJoCo
            environments that render run in spawned subprocesses, away from TensorFlow.
        max_episode_steps: Override of the environment's time limit.
        env_kwargs: Keyword arguments of every copy (``gym.make(id, **env_kwargs)``).
        obs_keys: The keys of a Dict observation the agent sees (default: all).
        frame_stack: The last ``frame_stack`` observations concatenated on the last axis
            (:mod:`xagents.envs.frame_stack`); with ``preprocess``, the frames of Atari's stack (default 4).

    Raises:
        ValueError: For an unknown id, an environment that breaks the gymnasium API, or ``n_envs < 1``.
    """
    if n_envs < 1:
        raise ValueError(f'--n-envs must be at least 1, got {n_envs}')
    check_frame_stack(frame_stack)
    options = (max_frame, async_envs, render_mode, max_episode_steps, env_kwargs, obs_keys, frame_stack or ATARI_STACK)
    envs = _unstacked_envs(env_id, n_envs, preprocess, *options)
    if preprocess or (frame_stack or 1) == 1:  # Atari's pipeline stacks its own frames (ale-py), as many as asked
        return envs
    return FrameStack(envs, frame_stack)


def _unstacked_envs(
    env_id, n_envs, preprocess, max_frame, async_envs, render_mode, max_episode_steps, env_kwargs, obs_keys, atari_stack
) -> gym.vector.VectorEnv:
    env_kwargs = dict(env_kwargs or {})
    factory = env_id if callable(env_id) else find_factory(env_id)
    if factory is not None:
        if preprocess:
            raise ValueError('--preprocess is for Atari ids; a function of your own makes its env as it is')
        return _factory_envs(factory, n_envs, async_envs, render_mode, env_kwargs, obs_keys)
    spec = check_env_id(env_id)
    user_env = is_user_env(spec)
    if user_env:
        with env_calls(env_id, made_with(env_kwargs)):
            env = gym.make(env_name(env_id), disable_env_checker=True, **env_kwargs)
        check_env_api(choose_keys(env, obs_keys, env_id), env_id)
    if obs_keys and (preprocess or _is_native_cartpole(spec) or _is_mujoco(spec)):
        raise ValueError(f'--obs-keys chooses keys of a Dict observation, {env_id} has no Dict observation')
    if preprocess:
        if not is_atari(spec):
            raise ValueError(f'--preprocess is for Atari environments, {env_id} is not one')
        return atari_envs(spec, n_envs, max_frame, render_mode, env_kwargs, atari_stack)
    if _is_native_cartpole(spec) and not async_envs and not env_kwargs:
        return _cartpole_envs(spec, n_envs, render_mode, max_episode_steps)
    if max_episode_steps:
        env_kwargs['max_episode_steps'] = max_episode_steps
    if _is_mujoco(spec):
        return _mujoco_envs(spec, n_envs, async_envs, render_mode, env_kwargs)
    return _registered_envs(env_id, n_envs, async_envs, render_mode, env_kwargs, user_env, obs_keys)


def _is_native_cartpole(spec) -> bool:
    return spec.vector_entry_point == CartPoleVectorEnv.__module__ + ':CartPoleVectorEnv'


def _cartpole_envs(spec, n_envs, render_mode, max_episode_steps) -> gym.vector.VectorEnv:
    """CartPole's own vector env (all copies in one numpy array), with the same-step autoreset."""
    if render_mode not in (None, 'rgb_array'):
        render_mode = 'rgb_array'
    limit = max_episode_steps or spec.max_episode_steps or 500
    envs = SameStepCartPole(n_envs, max_episode_steps=limit, render_mode=render_mode)
    envs.spec = spec
    return envs


def _registered_envs(env_id, n_envs, async_envs, render_mode, env_kwargs, user_env, obs_keys=None):
    """Copies of a registered env made by gymnasium, their spaces checked against what the agents take
    (a user's env: its exceptions in reset() and step() name it)."""
    if render_mode is not None:  # not passed otherwise: a user's env may take no render_mode
        env_kwargs['render_mode'] = render_mode
    if user_env:  # checked by xagents (check_env_api); gymnasium's checker asserts on undeclared render_modes
        env_kwargs['disable_env_checker'] = True
    with env_calls(env_id, made_with(env_kwargs)), warnings.catch_warnings():
        # Rendering an env that declares no render_modes is xagents' to judge (envs/rendering.py).
        warnings.filterwarnings('ignore', '.*(render_modes|render_mode=)', UserWarning)
        envs = gym.make_vec(
            env_name(env_id),
            n_envs,
            vectorization_mode='async' if async_envs else 'sync',
            vector_kwargs={'autoreset_mode': AutoresetMode.SAME_STEP},
            wrappers=[
                *([functools.partial(GuardedEnv, name=env_id)] if user_env else []),
                functools.partial(choose_keys, obs_keys=obs_keys, name=env_id),
            ],
            **env_kwargs,
        )
    check_spaces(envs.single_observation_space, envs.single_action_space, env_id)
    return envs


def _factory_envs(factory, n_envs, async_envs, render_mode, env_kwargs, obs_keys=None) -> gym.vector.VectorEnv:
    """Copies of the env a function makes; checked once, with a spec naming the function."""
    name = callable_name(factory)
    make = functools.partial(_call_factory, factory, render_mode, env_kwargs, import_path(factory) or name, obs_keys)
    env = make()
    check_env_api(env, name)
    vector_class = gym.vector.AsyncVectorEnv if async_envs else gym.vector.SyncVectorEnv
    envs = vector_class([make] * n_envs, autoreset_mode=AutoresetMode.SAME_STEP)
    spec_id = re.sub(r'[^A-Za-z0-9_]', '', name) or 'CustomEnv'  # gymnasium's id grammar
    envs.spec = gym.envs.registration.EnvSpec(spec_id, entry_point=factory, kwargs=env_kwargs)
    return envs


def _call_factory(factory, render_mode, env_kwargs, name, obs_keys=None) -> gym.Env:
    """The env ``factory`` makes, its exceptions (in the call, reset() and step()) naming it."""
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        parameters = {}
    takes_render_mode = 'render_mode' in parameters or any(
        parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in parameters.values()
    )
    with env_calls(name, made_with(env_kwargs)):
        env = factory(**env_kwargs, **({'render_mode': render_mode} if takes_render_mode else {}))
    if not isinstance(env, gym.Env):
        raise ValueError(f'{name} returned {type(env).__name__}, not a gymnasium.Env')
    return choose_keys(GuardedEnv(env, name), obs_keys, name)


def _mujoco_envs(spec, n_envs, async_envs, render_mode, env_kwargs):
    make = functools.partial(_make_mujoco_env, spec.id, render_mode, env_kwargs)
    if render_mode is not None:
        # Mesa's OpenGL and TensorFlow crash when loaded in one process: draw in fresh subprocesses.
        envs = gym.vector.AsyncVectorEnv([make] * n_envs, autoreset_mode=AutoresetMode.SAME_STEP, context='spawn')
    else:
        vector_class = gym.vector.AsyncVectorEnv if async_envs else gym.vector.SyncVectorEnv
        envs = vector_class([make] * n_envs, autoreset_mode=AutoresetMode.SAME_STEP)
    envs.spec = spec
    return envs


def _make_mujoco_env(env_id: str, render_mode: str | None, env_kwargs: dict) -> gym.Env:
    import mujoco

    mujoco.set_mju_user_warning(_mujoco_warning)
    env = gym.make(env_id, render_mode=render_mode, **env_kwargs)
    return env if render_mode is None else FollowTrackedBody(env)


def _mujoco_warning(message: str) -> None:
    """MuJoCo warnings as Python warnings (not a MUJOCO_LOG.TXT in the working directory)."""
    if 'deprecated' not in message:  # gymnasium's model files use attributes MuJoCo 4 deprecates
        warnings.warn(f'MuJoCo: {message}', RuntimeWarning, stacklevel=2)
