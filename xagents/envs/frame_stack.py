"""Frame stacking of any observation (``--frame-stack N``), for partially observed tasks.

One rule for every observation, the one Atari's pipeline follows: the last ``N`` observations are
concatenated on the last axis, the oldest first. A vector of ``d`` becomes ``d * N``, an image
``H x W x C`` becomes ``H x W x (C * N)``, an image ``H x W`` becomes ``H x W x N``; each key of a
Dict observation is stacked the same way (a Discrete key of ``n`` becomes a MultiDiscrete of ``N``
entries of ``n``, one-hot each). After a reset the older frames are zeros, as ale-py pads
Atari's stacks (gymnasium's ``FrameStackObservation(padding_type=0)``); with the same-step autoreset
(:mod:`xagents.envs.autoreset`) each env's stack restarts at its own episode start, and the stack
that ended the episode is its ``info['final_obs']``. Replay buffers store each frame once
(:mod:`xagents.replay.buffers`).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from xagents.envs.autoreset import final_observations
from xagents.nets.observations import is_image


class StackLayout:
    """How one array (an observation, or one key of a Dict observation) is stacked ``n`` times.

    Args:
        space: The space of one frame.
        n: Frames stacked.
    """

    def __init__(self, space: gym.Space, n: int):
        self.n = n
        # H x W frames and Discrete numbers gain an axis to stack on.
        self.channel_axis = isinstance(space, gym.spaces.Discrete) or (is_image(space) and len(space.shape) == 2)
        shape = (*space.shape, 1) if self.channel_axis else space.shape
        self.width = shape[-1]
        self.shape = (*shape[:-1], self.width * n)
        self.space = self._stacked_space(space)

    def _tiled(self, values: np.ndarray) -> np.ndarray:
        """A frame's bounds (or ``nvec``) repeated for each frame of the stack."""
        values = np.asarray(values)
        return np.concatenate([values[..., None] if self.channel_axis else values] * self.n, axis=-1)

    def _stacked_space(self, space: gym.Space) -> gym.Space:
        if isinstance(space, gym.spaces.MultiBinary):
            return gym.spaces.MultiBinary(self.shape)
        if isinstance(space, gym.spaces.Discrete):  # zeros pad below a start above 0: one-hot of no value
            return gym.spaces.MultiDiscrete(self._tiled(space.n), space.dtype, start=self._tiled(space.start))
        if isinstance(space, gym.spaces.MultiDiscrete):
            return gym.spaces.MultiDiscrete(self._tiled(space.nvec), space.dtype, start=self._tiled(space.start))
        low, high = self._tiled(space.low), self._tiled(space.high)
        # The zeros that pad a stack after a reset are observations of the stacked space too.
        return gym.spaces.Box(np.minimum(low, 0), np.maximum(high, 0), self.shape, space.dtype)

    def empty(self, n_envs: int) -> np.ndarray:
        return np.zeros((n_envs, *self.shape), self.space.dtype)

    def push(self, stacks: np.ndarray, frames: np.ndarray) -> None:
        """Shift every env's stack by one frame and write ``frames`` (one per env) as the newest."""
        stacks[..., : -self.width] = stacks[..., self.width :]
        stacks[..., -self.width :] = frames[..., None] if self.channel_axis else frames

    def restart(self, stacks: np.ndarray, frames: np.ndarray, envs: np.ndarray) -> None:
        """Zeros then ``frames[envs]`` as the newest frame, in the stacks of ``envs`` (new episodes)."""
        stacks[envs] = 0
        newest = frames[envs]
        stacks[envs, ..., -self.width :] = newest[..., None] if self.channel_axis else newest


class FrameStack(gym.vector.VectorWrapper):
    """A vector env whose observations are the last ``frame_stack`` ones of each env (see the module).

    Args:
        envs: A vector env with the same-step autoreset.
        frame_stack: Frames stacked (at least 2).
    """

    def __init__(self, envs: gym.vector.VectorEnv, frame_stack: int):
        super().__init__(envs)
        space = envs.single_observation_space
        self.keyed = isinstance(space, gym.spaces.Dict)
        if self.keyed:
            self.layouts = {key: StackLayout(subspace, frame_stack) for key, subspace in space.spaces.items()}
            self.single_observation_space = gym.spaces.Dict({key: kept.space for key, kept in self.layouts.items()})
        else:
            self.layouts = {None: StackLayout(space, frame_stack)}
            self.single_observation_space = self.layouts[None].space
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, self.num_envs)
        self.stacks = {key: layout.empty(self.num_envs) for key, layout in self.layouts.items()}

    def _parts(self, observations) -> dict:
        return observations if self.keyed else {None: observations}

    def _observations(self) -> dict | np.ndarray:
        copies = {key: stacks.copy() for key, stacks in self.stacks.items()}
        return copies if self.keyed else copies[None]

    def reset(self, *, seed=None, options=None):
        observations, info = self.env.reset(seed=seed, options=options)
        every_env = np.arange(self.num_envs)
        for key, frames in self._parts(observations).items():
            self.layouts[key].restart(self.stacks[key], frames, every_env)
        return self._observations(), info

    def step(self, actions):
        observations, rewards, terminated, truncated, info = self.env.step(actions)
        done = np.logical_or(terminated, truncated)
        newest = self._parts(final_observations(info, observations, done))
        for key, layout in self.layouts.items():
            layout.push(self.stacks[key], newest[key])
        if done.any():
            info = {**info, 'final_obs': self._finals(), '_final_obs': done}
            for key, frames in self._parts(observations).items():
                self.layouts[key].restart(self.stacks[key], frames, np.flatnonzero(done))
        return self._observations(), rewards, terminated, truncated, info

    def _finals(self) -> np.ndarray:
        """The stacks that ended episodes, as vector envs give final observations (Dict: an array of dicts)."""
        if not self.keyed:
            return self.stacks[None].copy()
        finals = np.empty(self.num_envs, object)
        for index in range(self.num_envs):
            finals[index] = {key: stacks[index].copy() for key, stacks in self.stacks.items()}
        return finals

    def call(self, name: str, *args, **kwargs):
        return self.env.call(name, *args, **kwargs)

    def get_attr(self, name: str):
        return self.env.get_attr(name)

    def set_attr(self, name: str, values):
        return self.env.set_attr(name, values)


def check_frame_stack(frame_stack: int | None) -> None:
    if frame_stack is not None and (isinstance(frame_stack, bool) or not isinstance(frame_stack, int)):
        raise ValueError(f'--frame-stack takes a whole number of frames, got {frame_stack!r}')
    if frame_stack is not None and frame_stack < 1:
        raise ValueError(f'--frame-stack must be at least 1, got {frame_stack}')
