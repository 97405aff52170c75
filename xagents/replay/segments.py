"""ACER's replay: whole rollout segments, sampled one env column at a time."""

from __future__ import annotations

import numpy as np


class SegmentBuffer:
    """Whole rollout segments of ``n_steps`` steps from every env, for ACER's replay.

    A segment holds ``n_steps + 1`` observations (the last one bootstraps the
    returns), actions, rewards, dones and the behaviour policy's action
    probabilities. Sampling draws, for each env column, that column from a random
    stored segment, so a batch has the shape of a fresh rollout.

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
        self.count = 0
        self.rng = np.random.default_rng(seed)
        self.env_index = np.arange(n_envs)

    def __len__(self) -> int:
        return min(self.count, self.size) * self.n_steps * self.n_envs

    def add(self, segment: dict[str, np.ndarray]) -> None:
        """Store one segment: arrays of shape ``(n_steps[+1], n_envs, ...)``, dtypes kept."""
        if not self.arrays:
            self.arrays = {name: np.zeros((self.size, *array.shape), array.dtype) for name, array in segment.items()}
        slot = self.count % self.size
        for name, array in segment.items():
            self.arrays[name][slot] = array
        self.count += 1

    def sample(self) -> dict[str, np.ndarray]:
        """One segment-shaped batch: env column ``n`` from a random stored segment."""
        slots = self.rng.integers(0, min(self.count, self.size), self.n_envs)
        return {name: array[slots, :, self.env_index].swapaxes(0, 1) for name, array in self.arrays.items()}
