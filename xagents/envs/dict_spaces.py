"""Dict observation spaces: which keys a network takes, choosing keys (``--obs-keys``), and batches of
observations that are either one array or a dict of arrays (one per key, each with its dtype).

A Dict observation is one level of keys, each a Box (vectors, or images: see
:mod:`xagents.nets.observations`), Discrete, MultiDiscrete or MultiBinary. A Dict nested in a key is
flattened to ``outer.inner`` keys (one level of nesting; a Dict nested twice is refused). Other keys
(text, graphs, sequences, tuples, Boxes of strings) are refused naming the key and the way out.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from xagents.envs.checks import EnvAPIError, check_dict_space


def flatten_nested(observation: dict) -> dict:
    """A Dict observation with the dicts of its keys as ``outer.inner`` keys (one level of nesting)."""
    if not any(isinstance(value, dict) for value in observation.values()):
        return observation
    flat = {}
    for key, value in observation.items():
        if isinstance(value, dict):
            flat.update({f'{key}.{inner}': inner_value for inner, inner_value in value.items()})
        else:
            flat[key] = value
    return flat


class FlattenedKeys(gym.ObservationWrapper):
    """A Dict observation whose keys that are Dicts become ``outer.inner`` keys, as they come."""

    def __init__(self, env: gym.Env, name: str):
        super().__init__(env)
        spaces = {}
        for key, subspace in env.observation_space.spaces.items():
            if not isinstance(subspace, gym.spaces.Dict):
                spaces[key] = subspace
                continue
            for inner, inner_space in subspace.spaces.items():
                if isinstance(inner_space, gym.spaces.Dict):
                    raise EnvAPIError(
                        f"{name}: observation key '{key}.{inner}' is a Dict in a Dict: xagents flattens one level "
                        'of nesting (outer.inner keys); flatten the rest in a wrapper'
                    )
                spaces[f'{key}.{inner}'] = inner_space
        self.observation_space = gym.spaces.Dict(spaces)

    def observation(self, observation: dict) -> dict:
        return flatten_nested(observation)


def choose_keys(env: gym.Env, obs_keys: list[str] | None, name: str) -> gym.Env:
    """``env`` with its nested Dict keys flattened to ``outer.inner`` and only the Dict observation keys
    ``obs_keys`` (all of them when None)."""
    space = env.observation_space
    if isinstance(space, gym.spaces.Dict) and any(isinstance(sub, gym.spaces.Dict) for sub in space.spaces.values()):
        env = FlattenedKeys(env, name)
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
    chosen = gym.wrappers.FilterObservation(env, list(obs_keys))
    check_dict_space(chosen.observation_space, name, full=space)  # the way out among all the env's keys
    return chosen


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
