"""Prioritized replay (DQN's ``--prioritized``): the replay buffer's storage, drawn by priority."""

from __future__ import annotations

import numpy as np

from xagents.replay.buffers import ReplayBuffer
from xagents.replay.sum_tree import SumTree


class PrioritizedReplayBuffer(ReplayBuffer):
    """Proportional prioritized replay (Schaul et al. 2016) on the same storage.

    Transition ``i`` is drawn with probability ``p_i^alpha / sum_k p_k^alpha``, new
    transitions get the largest priority seen so far, and ``sample`` returns the
    importance weights ``(N * P(i))^-beta`` divided by their maximum over the batch,
    plus the ``indices`` to pass back with new TD errors to ``update_priorities``.
    Sampling is stratified: one draw from each of ``batch_size`` equal segments.

    Args:
        alpha: How much priorities count (0: uniform).
        epsilon: Added to absolute TD errors so that no transition drops out.
        **kwargs: As :class:`ReplayBuffer`.
    """

    def __init__(self, *args, alpha: float = 0.6, epsilon: float = 1e-6, **kwargs):
        super().__init__(*args, **kwargs)
        self.alpha, self.epsilon = alpha, epsilon
        self.tree = SumTree(self.size * self.n_envs)
        self.max_priority = 1.0

    def add(self, *args, **kwargs) -> None:
        slot = self.count % self.size
        super().add(*args, **kwargs)
        self.tree.update_range(slot * self.n_envs, np.full(self.n_envs, self.max_priority**self.alpha))

    def _indices(self, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        bounds = np.linspace(0.0, self.tree.total, batch_size + 1)
        indices = self.tree.find(self.rng.uniform(bounds[:-1], bounds[1:]))
        return np.divmod(indices, self.n_envs)

    def sample(self, batch_size: int, beta: float = 0.4) -> dict[str, np.ndarray]:
        slots, envs = self._draw(batch_size)
        indices = slots * self.n_envs + envs
        probabilities = self.tree.leaves(indices) / self.tree.total
        weights = (len(self) * probabilities) ** -beta
        return {
            **self.batch(slots, envs),
            'weights': (weights / weights.max()).astype(np.float32),
            'indices': indices,
        }

    def update_priorities(self, indices: np.ndarray, td_errors: np.ndarray) -> None:
        priorities = np.abs(td_errors) + self.epsilon
        self.max_priority = max(self.max_priority, float(priorities.max()))
        self.tree.update(indices, priorities**self.alpha)

    def arrays(self) -> dict[str, np.ndarray]:
        return {**super().arrays(), 'tree': self.tree.nodes, 'max_priority': np.array(self.max_priority)}

    def load_extra(self, stored) -> None:
        self.tree.nodes[...] = stored['tree']
        self.max_priority = float(stored['max_priority'])
