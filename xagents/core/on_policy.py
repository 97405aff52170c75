"""Agents that learn from fresh rollouts."""

from __future__ import annotations

import numpy as np

from xagents.core.agent import Agent
from xagents.envs.dict_spaces import select, stack


class OnPolicy(Agent):
    """Agents that learn from fresh rollouts of ``n_steps`` steps of every env.

    A subclass implements ``rollout_step`` (actions plus whatever it needs stored per
    step, such as log-probabilities and values), ``values`` (state values, used to
    bootstrap truncated episodes) and ``update`` (one training step on the rollout).
    """

    on_policy = True

    def rollout_step(self, observations: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        raise NotImplementedError

    def values(self, observations: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def update(self, rollout: dict[str, np.ndarray]) -> dict[str, float]:
        """Train on ``rollout``; return the losses (off-policy agents have ``update_from_replay()``)."""
        raise NotImplementedError

    def collect_rollout(self) -> dict[str, np.ndarray]:
        """``n_steps`` transitions of every env, time-major, plus ``last_observations`` and ``last_values``.

        A truncated episode (time limit) did not really end: its reward gets
        ``gamma * V(final observation)`` so the return is bootstrapped, and ``dones``
        still cuts the return there because the next observation belongs to a new
        episode.
        """
        steps = []
        for _ in range(self.config.n_steps):
            observations = self.observations
            actions, extras = self.rollout_step(observations)
            transition = self.step_envs(actions)
            rewards = transition['rewards']
            if transition['truncated'].any():
                truncated = transition['truncated']
                rewards = rewards.copy()
                finals = select(transition['final_observations'], truncated)
                rewards[truncated] += self.config.gamma * self.values(finals)
            steps.append(
                {
                    'observations': observations,
                    'actions': actions,
                    'rewards': rewards,
                    'dones': (transition['dones'] | transition['terminals']).astype(np.float32),
                    **extras,
                }
            )
        rollout = {name: stack([step[name] for step in steps]) for name in steps[0]}
        rollout['last_observations'] = self.observations
        rollout['last_values'] = self.values(self.observations)
        return rollout

    def train_iteration(self) -> dict[str, float]:
        losses = self.update(self.collect_rollout())
        self.weights_changed()
        return losses
