"""A user's environment checked against what the agents take, with one line naming what is wrong,
and its exceptions (at construction, ``reset()`` or ``step()``) as one line naming it."""

from __future__ import annotations

import contextlib
import numbers

import gymnasium as gym
import numpy as np


class EnvAPIError(ValueError):
    """An environment that breaks the gymnasium API, or has spaces no agent takes."""


class EnvError(ValueError):
    """An environment raised an exception of its own: a user can fix it, xagents cannot."""


def first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0][:300] if lines else ''


def env_error(error: Exception, name: str, call: str) -> EnvError:
    """``error`` of the environment ``name`` as an EnvError saying where (``call``: ``in reset()``, ...)."""
    return EnvError(f'{name} raised {type(error).__name__} {call}: {first_line(error)}')


@contextlib.contextmanager
def env_calls(name: str, call: str):
    """Any exception of the environment ``name`` as an EnvError saying where; xagents' own checks pass."""
    try:
        yield
    except (EnvAPIError, EnvError):
        raise
    except Exception as error:
        raise env_error(error, name, call) from error


def made_with(env_kwargs: dict) -> str:
    """How an env was made, for :func:`env_calls`."""
    return 'while making the env' + (f' (env kwargs {env_kwargs})' if env_kwargs else '')


class GuardedEnv(gym.Wrapper):
    """A user's env whose exceptions in ``reset()`` and ``step()`` are EnvErrors naming it (one line, exit 2)."""

    def __init__(self, env: gym.Env, name: str):
        super().__init__(env)
        self.name = name

    # Plain try/except, not env_calls: a context manager per step costs each step of every env.
    def reset(self, **kwargs):
        try:
            return self.env.reset(**kwargs)
        except (EnvAPIError, EnvError):
            raise
        except Exception as error:
            raise env_error(error, self.name, 'in reset()') from error

    def step(self, action):
        try:
            return self.env.step(action)
        except (EnvAPIError, EnvError):
            raise
        except Exception as error:
            raise env_error(error, self.name, 'in step()') from error


KEY_SPACES = (gym.spaces.Box, gym.spaces.Discrete, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary)


def way_out(space: gym.spaces.Dict, key: str) -> str:
    """How to leave ``key`` out: the flag that chooses keys, with the others the networks take, or a wrapper."""
    others = [other for other, subspace in space.spaces.items() if other != key and not key_problem(other, subspace)]
    if not others:
        return 'no other key is one the networks can take: wrap the env to give one'
    return f'choose the keys with --obs-keys {" ".join(others)} (obs_keys= in Python), or wrap the env to drop it'


def key_problem(key: str, subspace: gym.Space) -> str | None:
    """Why the networks cannot take observation key ``key``, or None when they can."""
    if '/' in key:
        return "holds '/', which Keras refuses in the networks' input names: rename it in a wrapper"
    if isinstance(subspace, gym.spaces.Dict):
        return 'is itself a Dict: xagents takes one level of keys (flatten it, or leave it out)'
    numeric = not isinstance(subspace, gym.spaces.Box) or np.issubdtype(subspace.dtype, np.number)
    if not isinstance(subspace, KEY_SPACES) or not numeric:
        # A Box of strings in full; other spaces by their kind (a repr may hold a function's address).
        kind = subspace if isinstance(subspace, gym.spaces.Box) else f'a {type(subspace).__name__}'
        return (
            f'is {kind}, which the networks cannot take (they take Box, Discrete, MultiDiscrete and MultiBinary keys)'
        )
    if isinstance(subspace, gym.spaces.Box) and len(subspace.shape) not in (1, 2, 3):
        return f'is {subspace}: xagents takes Boxes of vectors, images (height, width[, channels]) or 3-D arrays'
    return None


def check_dict_space(space: gym.spaces.Dict, name: str, full: gym.spaces.Dict | None = None) -> None:
    """One line naming the first key the networks cannot take, and the way out among the keys of
    ``full`` (the env's own space, when ``space`` holds the keys chosen of it)."""
    for key, subspace in space.spaces.items():
        problem = key_problem(key, subspace)
        if problem:
            raise EnvAPIError(f'{name}: observation key {key!r} {problem}; {way_out(full or space, key)}')


def check_spaces(observation_space: gym.Space, action_space: gym.Space, name: str) -> None:
    """Observations must be a Box of vectors, of height x width (uint8 images; other dtypes are
    flattened) or of height x width x channels, or a Dict of such Boxes and Discrete, MultiDiscrete or
    MultiBinary keys; actions Discrete, a 1-D Box, or a 1-D MultiDiscrete or MultiBinary (each agent
    checks its own kind)."""
    if isinstance(observation_space, gym.spaces.Dict):
        check_dict_space(observation_space, name)
    elif not isinstance(observation_space, gym.spaces.Box) or len(observation_space.shape) not in (1, 2, 3):
        raise EnvAPIError(
            f'{name} has observation space {observation_space}: xagents takes a Box of vectors (1-D), 2-D tables, '
            'images (height, width[, channels]) or 3-D arrays, or a Dict of such keys; flatten or wrap the others'
        )
    if isinstance(action_space, (gym.spaces.MultiDiscrete, gym.spaces.MultiBinary)):
        _check_multi_actions(action_space, name)
        return
    discrete = isinstance(action_space, gym.spaces.Discrete)
    if discrete and action_space.start != 0:
        raise EnvAPIError(f'{name} has action space {action_space}: xagents takes Discrete actions from 0 to n-1')
    if not (discrete or (isinstance(action_space, gym.spaces.Box) and len(action_space.shape) == 1)):
        raise EnvAPIError(
            f'{name} has action space {action_space}: xagents takes Discrete, a 1-D Box, '
            'or a 1-D MultiDiscrete or MultiBinary'
        )


def _check_multi_actions(space: gym.spaces.MultiDiscrete | gym.spaces.MultiBinary, name: str) -> None:
    if len(space.shape) != 1:
        raise EnvAPIError(
            f'{name} has a {type(space).__name__} action space of shape {space.shape}: xagents takes 1-D '
            f'{type(space).__name__} actions; flatten them with an action wrapper'
        )
    if isinstance(space, gym.spaces.MultiDiscrete) and np.any(space.start != 0):
        raise EnvAPIError(
            f'{name} has action space {space}: xagents takes MultiDiscrete actions from 0 to nvec-1 (start 0)'
        )


def _check_observation(observation, space: gym.Space, call: str, name: str) -> None:
    if isinstance(space, gym.spaces.Dict):
        if not isinstance(observation, dict) or set(observation) != set(space.spaces):
            keys = sorted(observation) if isinstance(observation, dict) else type(observation).__name__
            raise EnvAPIError(
                f'{name}: {call} returned observation keys {keys}, its observation_space has {list(space.spaces)}'
            )
        for key, subspace in space.spaces.items():
            if isinstance(subspace, gym.spaces.Box):
                _check_observation(observation[key], subspace, f'{call} (key {key!r})', name)
        return
    array = np.asarray(observation)
    if array.shape != space.shape:
        raise EnvAPIError(
            f'{name}: {call} returned an observation of shape {array.shape}, its observation_space has {space.shape}'
        )
    if array.dtype != space.dtype:
        raise EnvAPIError(
            f'{name}: {call} returned an observation of dtype {array.dtype}, its observation_space has {space.dtype}'
        )


def _kind(value) -> str:
    return f'a tuple of {len(value)}' if isinstance(value, tuple) else type(value).__name__


def _check_action(env: gym.Env, info: dict):
    """The action of the check's step: a legal one when the env gives an action mask that fits (an illegal
    one may end or fail it; the agent checks the masks themselves), else a sampled one."""
    try:
        mask = info['action_mask'] if 'action_mask' in info else env.get_wrapper_attr('action_masks')()
    except (AttributeError, TypeError):  # no method (or not one): the agent's own checks say more
        mask = None
    space = env.action_space
    mask = np.asarray(mask) if mask is not None else None
    if mask is None or mask.dtype != np.bool_ or not isinstance(space, (gym.spaces.Discrete, gym.spaces.MultiDiscrete)):
        return space.sample()
    nvec = np.atleast_1d(space.nvec if isinstance(space, gym.spaces.MultiDiscrete) else space.n)
    if mask.shape != (nvec.sum(),):
        return space.sample()
    parts = np.split(mask, np.cumsum(nvec)[:-1])
    firsts = np.array([part.argmax() for part in parts]) + np.atleast_1d(space.start)
    return firsts.astype(space.dtype) if isinstance(space, gym.spaces.MultiDiscrete) else space.dtype.type(firsts[0])


def check_env_api(env: gym.Env, name: str) -> None:
    """One reset and one step of ``env`` (closed afterwards), checked against the gymnasium API; an
    exception of its own in either is an EnvError naming it."""
    env = env if isinstance(env, GuardedEnv) else GuardedEnv(env, name)
    try:
        check_spaces(env.observation_space, env.action_space, name)
        result = env.reset(seed=0)
        if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict)):
            raise EnvAPIError(f'{name}: reset() must return (observation, info dict), it returned {_kind(result)}')
        _check_observation(result[0], env.observation_space, 'reset()', name)
        result = env.step(_check_action(env, result[1]))
        if not (isinstance(result, tuple) and len(result) == 5):
            raise EnvAPIError(
                f'{name}: step() must return (observation, reward, terminated, truncated, info), '
                f'it returned {_kind(result)}'
            )
        observation, reward, terminated, truncated, info = result
        _check_observation(observation, env.observation_space, 'step()', name)
        if not isinstance(reward, numbers.Real):
            raise EnvAPIError(f'{name}: step() returned a reward of type {type(reward).__name__}, not a number')
        for flag, value in (('terminated', terminated), ('truncated', truncated)):
            if not isinstance(value, (bool, np.bool_)):
                raise EnvAPIError(f'{name}: step() returned {flag} of type {type(value).__name__}, not a bool')
        if not isinstance(info, dict):
            raise EnvAPIError(f'{name}: step() returned info of type {type(info).__name__}, not a dict')
    finally:
        with env_calls(name, 'in close()'):
            env.close()
