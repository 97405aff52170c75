"""Envs for frame stacking (``--frame-stack``), registered when this module is imported (never by xagents).

``Clock-v0``: the observation is the step count ``t`` of the episode as ``[t, 100 + t]`` (float32),
action 1 ends the episode (terminated), action 0 goes on, reward 1 per step: each env's stack is
known exactly whatever the actions. ``image=True`` gives a 2x3 uint8 image of ``t`` instead, ``keys=True``
a Dict of both with a MultiBinary key (``t`` odd, ``t`` even), ``discrete=True`` adds a Discrete key
(``t % 3``); ``nest=1`` puts the keys of the Dict in a Dict under ``outer`` (``nest=2``: under
``outer`` then ``inner``).

``MaskedCartPole-v0``: CartPole-v1 with the velocities hidden (position and angle only), a partially
observed task that a policy of one observation cannot solve and one of a few stacked ones can.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np


class Clock(gym.Env):
    metadata = {'render_modes': ['rgb_array'], 'render_fps': 30}

    def __init__(self, image=False, keys=False, discrete=False, nest: int = 0, render_mode=None):
        self.image, self.keys, self.discrete, self.nest, self.render_mode = image, keys, discrete, nest, render_mode
        vector = gym.spaces.Box(-1000, 1000, (2,), np.float32)
        picture = gym.spaces.Box(0, 255, (2, 3), np.uint8)
        if keys:
            spaces = {'vector': vector, 'image': picture, 'parity': gym.spaces.MultiBinary(2)}
            phase = {'phase': gym.spaces.Discrete(3)} if discrete else {}
            self.observation_space = self.nested(gym.spaces.Dict({**spaces, **phase}), gym.spaces.Dict)
        else:
            self.observation_space = picture if image else vector
        self.action_space = gym.spaces.Discrete(2)
        self.t = 0

    def observation(self):
        vector = np.array([self.t, 100 + self.t], np.float32)
        picture = np.full((2, 3), self.t % 256, np.uint8)
        if not self.keys:
            return picture if self.image else vector
        parity = np.array([self.t % 2, 1 - self.t % 2], np.int8)
        phase = {'phase': self.t % 3} if self.discrete else {}
        return self.nested({'vector': vector, 'image': picture, 'parity': parity, **phase}, dict)

    def nested(self, keys, kind):
        for name in ('inner', 'outer')[2 - self.nest :]:
            keys = kind({name: keys})
        return keys

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self.observation(), {}

    def step(self, action):
        self.t += 1
        return self.observation(), 1.0, bool(action == 1), False, {}

    def render(self):
        return np.full((8, 8, 3), self.t % 256, np.uint8)


class HideVelocities(gym.ObservationWrapper):
    """CartPole's cart position and pole angle, without their velocities."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        low, high = env.observation_space.low[[0, 2]], env.observation_space.high[[0, 2]]
        self.observation_space = gym.spaces.Box(low, high, (2,), np.float32)

    def observation(self, observation):
        return observation[[0, 2]]


def masked_cartpole(render_mode=None) -> gym.Env:
    return HideVelocities(gym.make('CartPole-v1', render_mode=render_mode))


gym.register('Clock-v0', entry_point=Clock, max_episode_steps=50)
gym.register('MaskedCartPole-v0', entry_point=masked_cartpole)
