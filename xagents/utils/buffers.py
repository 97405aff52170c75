"""Replay buffers: one NumPy object for all environments.

Observations are kept as a per-environment stream of frames. Each episode starts by
pushing its whole first observation; every step then pushes only the newest frame of
the next observation (for a finished episode, its final observation). A transition
stores the position of its observation's newest frame, so an observation is the
``frame_stack`` frames ending there and the next observation ends one frame later.
With Atari's 4-frame stacks each 84x84 frame is stored once, not eight times, and
the reconstruction is exact whatever padding the environment used at a reset.
Without stacking, a "frame" is a whole observation and the same logic applies.
"""

from __future__ import annotations

import numpy as np


class ReplayBuffer:
    """Uniform replay of ``(obs, action, reward, next_obs, terminal)`` across vector envs.

    Args:
        capacity: Total transitions kept (over all envs).
        n_envs: Environments stepping together.
        obs_shape: Shape of one observation.
        obs_dtype: dtype kept for observations (uint8 frames stay uint8).
        action_shape: Shape of one action (``()`` for discrete).
        action_dtype: dtype of actions.
        frame_stack: Number of frames stacked on the last observation axis, or None.
        seed: Seed of the sampling generator.
    """

    def __init__(
        self,
        capacity: int,
        n_envs: int,
        obs_shape: tuple[int, ...],
        obs_dtype=np.float32,
        action_shape: tuple[int, ...] = (),
        action_dtype=np.int64,
        frame_stack: int | None = None,
        seed: int | None = None,
    ):
        if capacity < n_envs:
            raise ValueError(f'buffer capacity {capacity} is smaller than the number of envs {n_envs}')
        self.n_envs = n_envs
        self.size = capacity // n_envs
        self.stack = frame_stack or 1
        self.stacked = frame_stack is not None
        frame_shape = obs_shape[:-1] if self.stacked else obs_shape
        # Room for the transitions' frames plus episode-start stacks; transitions whose
        # oldest frame was overwritten anyway are never returned (see `sample`).
        self.frame_capacity = self.size + self.size // 4 + 2 * self.stack + 1
        self.frames = np.zeros((self.frame_capacity, n_envs, *frame_shape), obs_dtype)
        self.frame_count = np.zeros(n_envs, np.int64)
        self.positions = np.zeros((self.size, n_envs), np.int64)
        self.actions = np.zeros((self.size, n_envs, *action_shape), action_dtype)
        self.rewards = np.zeros((self.size, n_envs), np.float32)
        self.terminals = np.zeros((self.size, n_envs), np.bool_)
        self.count = 0
        self.rng = np.random.default_rng(seed)
        self.env_index = np.arange(n_envs)

    def __len__(self) -> int:
        return min(self.count, self.size) * self.n_envs

    def _push(self, frames: np.ndarray, envs: np.ndarray) -> None:
        self.frames[self.frame_count[envs] % self.frame_capacity, envs] = frames
        self.frame_count[envs] += 1

    def start_episodes(self, observations: np.ndarray, mask: np.ndarray | None = None) -> None:
        """Record the first observations of new episodes (all envs, or those in ``mask``)."""
        envs = self.env_index if mask is None else np.flatnonzero(mask)
        if not len(envs):
            return
        observations = observations if mask is None else observations[mask]
        if not self.stacked:
            self._push(observations, envs)
            return
        for k in range(self.stack):
            self._push(observations[..., k], envs)

    def add(
        self,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_observations: np.ndarray,
        terminals: np.ndarray,
    ) -> None:
        """Add one transition per env; ``next_observations`` are final ones where episodes ended."""
        slot = self.count % self.size
        self.positions[slot] = self.frame_count - 1
        self.actions[slot] = actions
        self.rewards[slot] = rewards
        self.terminals[slot] = terminals
        self._push(next_observations[..., -1] if self.stacked else next_observations, self.env_index)
        self.count += 1

    def _observations(self, newest: np.ndarray, envs: np.ndarray) -> np.ndarray:
        if not self.stacked:
            return self.frames[newest % self.frame_capacity, envs]
        offsets = np.arange(1 - self.stack, 1)
        frames = self.frames[(newest[:, None] + offsets) % self.frame_capacity, envs[:, None]]
        return np.moveaxis(frames, 1, -1)

    def sample(self, batch_size: int) -> dict[str, np.ndarray]:
        """Draw ``batch_size`` transitions uniformly."""
        filled = min(self.count, self.size)
        slots = self.rng.integers(0, filled, batch_size)
        envs = self.rng.integers(0, self.n_envs, batch_size)
        oldest_kept = self.frame_count - self.frame_capacity
        stale = self.positions[slots, envs] - self.stack + 1 < oldest_kept[envs]
        while stale.any():  # rare: only the oldest transitions after many short episodes
            slots[stale] = self.rng.integers(0, filled, stale.sum())
            stale = self.positions[slots, envs] - self.stack + 1 < oldest_kept[envs]
        newest = self.positions[slots, envs]
        return {
            'observations': self._observations(newest, envs),
            'actions': self.actions[slots, envs],
            'rewards': self.rewards[slots, envs],
            'next_observations': self._observations(newest + 1, envs),
            'terminals': self.terminals[slots, envs],
        }


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
