"""Hindsight experience replay (Andrychowicz et al. 2017) on the replay buffer of Dict observations.

Goal environments (gymnasium-robotics' form) observe a Dict of ``observation``, ``achieved_goal``
and ``desired_goal`` and have a vectorized ``compute_reward(achieved_goal, desired_goal, info)``.
The buffer stores transitions as they happened and relabels when sampling, as Stable-Baselines3's
``HerReplayBuffer``: of each ``goals + 1`` rows of a batch, one is the real transition and
``goals`` carry a new goal, the goal achieved after a transition of the same episode (and the same
env stream) chosen by the strategy:

- ``future``: a transition from this one (included) to the episode's end;
- ``final``: the episode's last transition;
- ``episode``: any transition of the episode.

The new goal replaces ``desired_goal`` in the observation and the next observation, and the rewards
of all relabeled rows come from one call of ``compute_reward`` (the achieved goals of the next
observations against the new goals, ``info={}``: the buffer keeps no infos; gymnasium-robotics'
envs ignore them). Terminal flags stay those of the real transitions, as in SB3.

An episode still running when a batch is sampled is relabeled within what it has so far (its
newest transition stands for its end); transitions overwritten in the buffer are never goals.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from xagents.replay.buffers import ReplayBuffer

STRATEGIES = ('future', 'final', 'episode')
GOAL_KEYS = ('observation', 'achieved_goal', 'desired_goal')


class HerReplayBuffer(ReplayBuffer):
    """Uniform replay of Dict transitions with ``goals`` relabeled rows per real one.

    Args:
        compute_reward: The env's vectorized ``compute_reward(achieved_goal, desired_goal, info)``.
        goals: Relabeled rows per real row (SB3's ``n_sampled_goal``).
        strategy: ``future``, ``final`` or ``episode``.
        **kwargs: As :class:`ReplayBuffer` (one-step transitions only).
    """

    SLOT_ARRAYS = (*ReplayBuffer.SLOT_ARRAYS, 'starts', 'ends')

    def __init__(self, *args, compute_reward, goals: int = 4, strategy: str = 'future', **kwargs):
        super().__init__(*args, **kwargs)
        if self.n_step != 1 or self.stacked:
            raise ValueError('hindsight replay relabels one-step transitions of unstacked observations')
        if strategy not in STRATEGIES:
            raise ValueError(f'--her-strategy must be one of {", ".join(STRATEGIES)}, got {strategy!r}')
        self.compute_reward, self.goals, self.strategy = compute_reward, goals, strategy
        # Per transition, the absolute index (count at writing) of its episode's first and last
        # transitions; -1 for the last while the episode runs.
        self.starts = np.zeros((self.size, self.n_envs), np.int64)
        self.ends = np.full((self.size, self.n_envs), -1, np.int64)
        self.episode_start = np.zeros(self.n_envs, np.int64)

    def add(self, actions, rewards, next_observations, terminals, dones=None, next_masks=None) -> None:
        slot = self.count % self.size
        self.starts[slot] = self.episode_start
        self.ends[slot] = -1
        super().add(actions, rewards, next_observations, terminals, dones, next_masks)
        self.close_episodes(np.flatnonzero(terminals if dones is None else dones))

    def cut_episodes(self) -> None:
        super().cut_episodes()
        self.close_episodes(self.env_index)

    def close_episodes(self, envs: np.ndarray) -> None:
        """End the running episodes of ``envs`` at the newest transition."""
        for env in envs:
            first = max(int(self.episode_start[env]), self.count - self.size)
            self.ends[np.arange(first, self.count) % self.size, env] = self.count - 1
            self.episode_start[env] = self.count

    def goal_times(self, slots: np.ndarray, envs: np.ndarray) -> np.ndarray:
        """The absolute index of the transition whose achieved goal relabels each of ``(slots, envs)``."""
        newest = self.count - 1
        now = newest - (newest - slots) % self.size
        ends = self.ends[slots, envs]
        last = np.where(ends < 0, newest, ends)
        if self.strategy == 'final':
            return last
        if self.strategy == 'future':
            return self.rng.integers(now, last + 1)
        # The episode's kept part: slots not overwritten, next frames not overwritten.
        oldest_frame = self.frame_count[envs] - self.frame_capacity
        kept = now - (self.positions[slots, envs] + 1 - oldest_frame)
        first = np.maximum.reduce([self.starts[slots, envs], np.full_like(now, self.count - self.size), kept])
        return self.rng.integers(first, last + 1)

    def relabel(self, batch: dict, slots: np.ndarray, envs: np.ndarray, rows: np.ndarray) -> None:
        """Give the ``rows`` of ``batch`` (drawn from ``slots, envs``) new goals and their rewards, in place."""
        goal_slots = self.goal_times(slots, envs) % self.size
        frames = (self.positions[goal_slots, envs] + 1) % self.frame_capacity
        goals = self.frames.arrays['achieved_goal'][frames, envs]
        batch['observations']['desired_goal'][rows] = goals
        batch['next_observations']['desired_goal'][rows] = goals
        achieved = batch['next_observations']['achieved_goal'][rows]
        rewards = np.asarray(self.compute_reward(achieved, goals, {}), np.float32)
        batch['rewards'][rows] = rewards.reshape(len(rows))

    def sample(self, batch_size: int) -> dict[str, np.ndarray]:
        """``batch_size`` transitions drawn uniformly; every row but each ``goals + 1``-th relabeled."""
        slots, envs = self._draw(batch_size)
        batch = self.batch(slots, envs)
        rows = np.flatnonzero(np.arange(batch_size) % (self.goals + 1) != 0)
        if len(rows):
            self.relabel(batch, slots[rows], envs[rows], rows)
        return batch

    def arrays(self) -> dict[str, np.ndarray]:
        return {**super().arrays(), 'episode_start': self.episode_start}

    def load_extra(self, stored) -> None:
        if 'episode_start' not in stored:
            raise KeyError('episode_start (saved without --her)')
        self.episode_start[...] = stored['episode_start']


def goal_reward_function(envs: gym.vector.VectorEnv, name: str):
    """The env's vectorized ``compute_reward``, reached once; a one-line ValueError naming what a goal env
    lacks (a key of the three, or the method), or a ``compute_reward`` that does not take batches."""
    space = envs.single_observation_space
    keys = list(space.spaces) if isinstance(space, gym.spaces.Dict) else []
    missing = [key for key in GOAL_KEYS if key not in keys]
    if missing:
        has = f'keys {" ".join(keys)}' if keys else f'{type(space).__name__} observations'
        raise ValueError(
            f'--her needs a goal env (a Dict of {", ".join(GOAL_KEYS)}): {name} has {has}, missing {" ".join(missing)}'
        )
    base = envs.unwrapped
    if hasattr(base, 'envs'):  # SyncVectorEnv: the first env's own method
        compute_reward = getattr(base.envs[0].unwrapped, 'compute_reward', None)
    else:  # AsyncVectorEnv: the first worker's answer (every worker computes the same)
        compute_reward = lambda *args: base.call('compute_reward', *args)[0]  # noqa: E731
    goals = np.stack([space['achieved_goal'].sample() for _ in range(2)])
    try:
        if compute_reward is None:
            raise AttributeError
        rewards = np.asarray(compute_reward(goals, goals[::-1], {}))
    except AttributeError:
        raise ValueError(
            f'--her needs compute_reward(achieved_goal, desired_goal, info) on the env: {name} has none'
        ) from None
    except Exception as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ValueError(f'{name}.compute_reward failed on a batch of 2 goals: {message}') from None
    if rewards.shape != (2,):
        raise ValueError(
            f'{name}.compute_reward must take batches (--her relabels many goals at once): '
            f'2 goals gave shape {rewards.shape}'
        )
    return compute_reward
