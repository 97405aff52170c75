"""One autoreset convention for every environment.

Every environment is a gymnasium vector environment that resets finished episodes in
the same step (``AutoresetMode.SAME_STEP``): the observation returned after an episode
ends is the first one of the next episode, and the last one of the finished episode is
in ``info['final_obs']``. The training loop relies on this to bootstrap on truncation.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium.envs.classic_control.cartpole import CartPoleEnv, CartPoleVectorEnv
from gymnasium.vector import AutoresetMode

from xagents.envs.dict_spaces import replace_finished


class SameStepCartPole(CartPoleVectorEnv):
    """gymnasium's native CartPole vector env, resetting finished episodes in the same step.

    The native implementation only offers next-step autoreset, where the step after an
    episode end ignores its action and returns a zero reward; converting it here keeps
    one autoreset convention for every environment.
    """

    metadata = {**CartPoleVectorEnv.metadata, 'autoreset_mode': AutoresetMode.SAME_STEP}

    def step(self, action):
        self.prev_done[:] = False
        observations, rewards, terminated, truncated, info = super().step(np.asarray(action))
        done = terminated | truncated
        if done.any():
            info = {'final_obs': observations, '_final_obs': done}
            self.state[:, done] = self.np_random.uniform(low=self.low, high=self.high, size=(4, done.sum()))
            self.steps[done] = 0
            observations = self.state.T.astype(np.float32)
        return observations, rewards, terminated, truncated, info

    def render_one(self, index: int) -> np.ndarray:
        """The frame of env ``index`` alone (``render`` draws every env)."""
        if getattr(self, 'painter', None) is None:
            self.painter = CartPoleEnv(render_mode='rgb_array')
        self.painter.state = self.state[:, index]
        return self.painter.render()

    def close(self, **kwargs):
        if getattr(self, 'painter', None) is not None:
            self.painter.close()
        super().close(**kwargs)


def same_step(envs: gym.vector.VectorEnv) -> gym.vector.VectorEnv:
    """``envs`` resetting finished episodes in the same step, or a one-line error saying how to make them so.

    gymnasium 1.x vector envs reset in the next step by default (``gym.make_vec``): a ``SyncVectorEnv``
    switches mode (it implements all three; the agent resets it before training) and gymnasium's
    native CartPole becomes :class:`SameStepCartPole` (the same object, so a caller's handle stays
    good). Other envs in another mode (async, wrapped, native ones) are refused.
    """
    mode = envs.metadata.get('autoreset_mode', AutoresetMode.NEXT_STEP)
    if mode == AutoresetMode.SAME_STEP:
        return envs
    if type(envs) is gym.vector.SyncVectorEnv:
        envs.autoreset_mode = envs.metadata['autoreset_mode'] = AutoresetMode.SAME_STEP
        return envs
    if type(envs) is CartPoleVectorEnv:
        envs.__class__ = SameStepCartPole
        return envs
    name = envs.spec.id if envs.spec is not None else 'the env id'
    raise ValueError(
        f'{type(envs).__name__} resets finished episodes in {getattr(mode, "value", mode)} mode, xagents needs '
        f"same-step: make it with vector_kwargs={{'autoreset_mode': gym.vector.AutoresetMode.SAME_STEP}} "
        f"(gym.make_vec) or give the id: from_env('{name}', n_envs={envs.num_envs})"
    )


def final_observations(info: dict, observations: np.ndarray, done: np.ndarray) -> np.ndarray:
    """Observations that ended each episode: ``info['final_obs']`` where done, else the current."""
    if not done.any():
        return observations
    if isinstance(observations, dict):
        return replace_finished(observations, info['final_obs'], done)
    finals = observations.copy()
    final = info['final_obs']
    if isinstance(final, np.ndarray) and final.dtype != object:
        finals[done] = final[done]
    else:
        for index in np.flatnonzero(done):
            finals[index] = final[index]
    return finals


def final_success(info: dict | None, index: int) -> dict:
    """``{'success': 1.0 or 0.0}`` when the episode of env ``index`` that just ended reported
    ``info['is_success']`` (goal envs do) in its final info, else ``{}``."""
    final = (info or {}).get('final_info', {})
    reported = final.get('_is_success')
    if 'is_success' not in final or (reported is not None and not reported[index]):
        return {}
    return {'success': float(bool(final['is_success'][index]))}
