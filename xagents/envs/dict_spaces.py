"""Dict observation spaces: which keys a network takes, choosing keys (``--obs-keys``), and batches of
observations that are either one array or a dict of arrays (one per key, each with its dtype).

A Dict observation is one level of keys, each a Box (vectors, or images: see
:mod:`xagents.nets.observations`), Discrete, MultiDiscrete or MultiBinary. Other keys (text, graphs,
sequences, tuples, nested dicts, Boxes of strings) are refused naming the key and the way out.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from xagents.envs.checks import EnvAPIError


def choose_keys(env: gym.Env, obs_keys: list[str] | None, name: str) -> gym.Env:
    """``env`` with only the Dict observation keys ``obs_keys`` (all of them when None)."""
    if not obs_keys:
        return env
    space = env.observation_space
    if not isinstance(space, gym.spaces.Dict):
        raise EnvAPIError(f'--obs-keys chooses keys of a Dict observation, {name} has observation space {space}')
    unknown = [key for key in obs_keys if key not in space.spaces]
    if unknown:
        raise EnvAPIError(
            f'--obs-keys {" ".join(unknown)}: not a key of the observations of {name} '
            f'(its keys: {" ".join(space.spaces)})'
        )
    return gym.wrappers.FilterObservation(env, list(obs_keys))


def batch_size(observations) -> int:
    """Observations in a batch (one array, or a dict of arrays)."""
    if isinstance(observations, dict):
        return len(next(iter(observations.values())))
    return len(observations)


def map_arrays(function, observations):
    """``function`` of one array, or of each array of a dict."""
    if isinstance(observations, dict):
        return {key: function(value) for key, value in observations.items()}
    return function(observations)


def select(observations, index):
    """``observations[index]`` of one array or of each array of a dict."""
    if isinstance(observations, dict):
        return {key: value[index] for key, value in observations.items()}
    return observations[index]


def stack(batches: list):
    """``np.stack`` of arrays, or of each key of dicts of arrays."""
    if isinstance(batches[0], dict):
        return {key: np.stack([batch[key] for batch in batches]) for key in batches[0]}
    return np.stack(batches)


def replace_finished(observations: dict, final: np.ndarray, done: np.ndarray) -> dict:
    """Dict observations with those of envs ``done`` replaced by ``final`` (an object array of dicts)."""
    finals = {key: value.copy() for key, value in observations.items()}
    for index in np.flatnonzero(done):
        for key in finals:
            finals[key][index] = final[index][key]
    return finals
