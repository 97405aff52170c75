"""ACER's replay: whole rollout segments, sampled one env column at a time."""

from __future__ import annotations

import json
import os

import numpy as np

from xagents.replay.files import damaged_says, save_arrays


class SegmentBuffer:
    """Whole rollout segments of ``n_steps`` steps from every env, for ACER's replay.

    A segment holds ``n_steps + 1`` observations (the last one bootstraps the
    returns), actions, rewards, dones and the behaviour policy's action
    probabilities. Sampling draws, for each env column, that column from a random
    stored segment, so a batch has the shape of a fresh rollout. Dict observations
    are kept as one array per key, each in its dtype (``observations.KEY``, as saved).

    Args:
        capacity: Total transitions kept (over all envs); at least one segment.
        n_steps: Steps per segment.
        n_envs: Environments stepping together.
        seed: Seed of the sampling generator.
    """

    def __init__(self, capacity: int, n_steps: int, n_envs: int, seed: int | None = None):
        self.n_steps, self.n_envs = n_steps, n_envs
        self.size = capacity // (n_steps * n_envs)
        if self.size < 1:
            raise ValueError(
                f'buffer capacity {capacity} is smaller than one segment of --n-steps x --n-envs '
                f'({n_steps * n_envs}) transitions'
            )
        self.arrays: dict[str, np.ndarray] = {}
        self.keys: dict[str, list[str]] = {}  # the keys of each dict of arrays (Dict observations)
        self.count = 0
        self.rng = np.random.default_rng(seed)
        self.env_index = np.arange(n_envs)

    def __len__(self) -> int:
        return min(self.count, self.size) * self.n_steps * self.n_envs

    def flat(self, segment: dict) -> dict[str, np.ndarray]:
        """``segment`` with each dict of arrays as ``NAME.KEY`` arrays (and their keys noted in ``keys``)."""
        flat = {}
        for name, value in segment.items():
            if isinstance(value, dict):
                self.keys[name] = list(value)
                flat.update({f'{name}.{key}': array for key, array in value.items()})
            else:
                flat[name] = value
        return flat

    def nested(self, flat: dict[str, np.ndarray]) -> dict:
        """The inverse of ``flat``."""
        segment = dict(flat)
        for name, keys in self.keys.items():
            segment[name] = {key: segment.pop(f'{name}.{key}') for key in keys}
        return segment

    def add(self, segment: dict) -> None:
        """Store one segment: arrays of shape ``(n_steps[+1], n_envs, ...)`` (or dicts of them), dtypes kept."""
        segment = self.flat(segment)
        if not self.arrays:
            self.arrays = {name: np.zeros((self.size, *array.shape), array.dtype) for name, array in segment.items()}
        slot = self.count % self.size
        for name, array in segment.items():
            stored = self.arrays[name]
            if stored.shape[1:] != array.shape or stored.dtype != array.dtype:
                raise ValueError(
                    f'ACER segment {name} is {array.dtype} {array.shape}, the buffer holds '
                    f'{stored.dtype} {stored.shape[1:]} (a buffer of another environment?)'
                )
            stored[slot] = array
        self.count += 1

    def sample(self) -> dict:
        """One segment-shaped batch: env column ``n`` from a random stored segment."""
        slots = self.rng.integers(0, min(self.count, self.size), self.n_envs)
        return self.nested(
            {name: array[slots, :, self.env_index].swapaxes(0, 1) for name, array in self.arrays.items()}
        )

    # ---------------------------------------------------------------- saving
    def save(self, path: str | os.PathLike) -> None:
        """Write the segments stored so far, the count and the sampling generator to ``path`` (``.npz``)."""
        written = min(self.count, self.size)
        state = {name: array[:written] for name, array in self.arrays.items()}
        state['capacities'] = np.array([self.size, self.n_steps, self.n_envs])
        state['count'] = np.array(self.count)
        state['keys'] = np.frombuffer(json.dumps(self.keys).encode(), np.uint8)
        state['rng'] = np.frombuffer(json.dumps(self.rng.bit_generator.state).encode(), np.uint8)
        save_arrays(path, state)

    def load(self, path: str | os.PathLike) -> None:
        """Restore a buffer written by ``save``; its capacity, steps and envs must match this buffer's."""
        with damaged_says(path), np.load(path, allow_pickle=False) as stored:
            theirs = [int(value) for value in stored['capacities']]
            if theirs != [self.size, self.n_steps, self.n_envs]:
                raise ValueError(
                    f'replay buffer {path} was made for {theirs[0]} segments of {theirs[1]} steps of {theirs[2]} '
                    f'envs, this agent needs {self.size} of {self.n_steps} steps of {self.n_envs} '
                    '(same --buffer-max-size, --n-steps and --n-envs?)'
                )
            self.keys = json.loads(stored['keys'].tobytes().decode())
            names = [name for name in stored.files if name not in ('capacities', 'count', 'keys', 'rng')]
            self.arrays = {}
            for name in names:
                array = stored[name]
                self.arrays[name] = np.zeros((self.size, *array.shape[1:]), array.dtype)
                self.arrays[name][: len(array)] = array
            self.count = int(stored['count'])
            self.rng.bit_generator.state = json.loads(stored['rng'].tobytes().decode())
