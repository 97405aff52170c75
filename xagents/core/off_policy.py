"""Agents that learn from a replay buffer."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from xagents.core.agent import Agent
from xagents.core.config import OffPolicyConfig
from xagents.envs.dict_spaces import map_arrays
from xagents.nets.multi_input import key_dtype
from xagents.replay.buffers import ReplayBuffer
from xagents.replay.hindsight import HerReplayBuffer, goal_reward_function


class OffPolicy(Agent):
    """Agents that learn from a replay buffer filled one vector step at a time."""

    Config = OffPolicyConfig

    def __init__(self, envs, *models, **kwargs):
        super().__init__(envs, *models, **kwargs)
        self.buffer = self.make_buffer()
        self.initial_size = self.config.buffer_initial_size or self.config.buffer_batch_size

    @property
    def replay_buffer(self) -> ReplayBuffer:
        return self.buffer

    def make_buffer(self, buffer_class: type[ReplayBuffer] = ReplayBuffer, **options) -> ReplayBuffer:
        """The replay buffer for these envs; stacked frames (Atari's, ``--frame-stack``) are stored once each."""
        space = self.observation_space
        if isinstance(space, gym.spaces.Dict):  # one array per key, in the dtype the models take
            shape = {key: subspace.shape for key, subspace in space.spaces.items()}
            dtype = {key: key_dtype(subspace) for key, subspace in space.spaces.items()}
        else:  # float64 observations (MuJoCo) are kept as float32, what the models take.
            shape, dtype = space.shape, np.float32 if space.dtype == np.float64 else space.dtype
        if self.config.her:  # goals relabeled when sampling, rewards from the env's compute_reward
            buffer_class = HerReplayBuffer
            options['compute_reward'] = goal_reward_function(self.envs, self.env_id)
            options.update(goals=self.config.her_goals, strategy=self.config.her_strategy)
        return buffer_class(
            self.config.buffer_max_size,
            self.n_envs,
            shape,
            dtype,
            self.action_space.shape,
            self.action_space.dtype,
            frame_stack=self.env_recipe.stacked_frames,
            seed=None if self.config.seed is None else self.config.seed + 1,
            gamma=self.config.gamma,
            mask_units=None if self.masks is None else self.masks.units,
            **options,
        )

    def explore(self, observations: np.ndarray) -> np.ndarray:
        """Actions taken while collecting experience."""
        raise NotImplementedError

    def update_from_replay(self) -> dict[str, float]:
        """Train on batches from ``sample()`` (or not, between updates); return the latest losses.

        Called once per collected vector step; on-policy agents have ``update(rollout)`` instead."""
        raise NotImplementedError

    def reset_envs(self) -> None:
        super().reset_envs()
        # Episodes in progress are cut (as truncations) so n-step sums never join them to the new ones.
        self.buffer.cut_episodes()
        self.buffer.start_episodes(self.raw_observations)

    def state(self) -> dict:
        return {**super().state(), 'buffer_count': self.buffer.count}

    def warm_up(self, progress) -> None:
        """Random-policy transitions until the buffer holds ``buffer_initial_size``."""
        while len(self.buffer) < self.initial_size:
            self.collect(self.random_actions(masks=self.action_masks))
            progress('Filling the replay buffer', 'random-action transitions', len(self.buffer), self.initial_size)

    def collect(self, actions: np.ndarray) -> None:
        transition = self.step_envs(actions)
        # Raw observations go in the buffer; normalization happens when sampling.
        self.buffer.add(
            actions,
            transition['rewards'],
            transition['raw_final_observations'],
            transition['terminals'],
            transition['dones'],
            transition['next_masks'],
        )
        if transition['dones'].any():
            self.buffer.start_episodes(transition['raw_observations'], transition['dones'])

    def sample(self, batch_size: int | None = None, **options) -> dict[str, np.ndarray]:
        batch = self.buffer.sample(batch_size or self.config.buffer_batch_size, **options)
        batch['observations'] = self.normalize_observations(batch['observations'])
        batch['next_observations'] = self.normalize_observations(batch['next_observations'])
        return batch

    def sample_batches(self, count: int) -> dict[str, np.ndarray]:
        """``count`` batches drawn at once, stacked on a new leading axis (for a compiled loop of steps)."""
        size = self.config.buffer_batch_size
        batch = self.sample(batch_size=count * size)
        reshaped = lambda values: values.reshape(count, size, *values.shape[1:])  # noqa: E731
        return {name: map_arrays(reshaped, values) for name, values in batch.items()}

    def train_iteration(self) -> dict[str, float]:
        if len(self.buffer) < self.initial_size:
            self.warm_up(lambda *_: None)
        self.collect(self.explore(self.observations))
        return self.update_from_replay()
