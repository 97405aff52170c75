"""Running statistics that normalize observations and rewards."""

from __future__ import annotations

import numpy as np


class RunningMeanStd:
    """Running mean and variance over a batch axis (parallel algorithm of Chan et al.)."""

    def __init__(self, shape: tuple[int, ...] = (), epsilon: float = 1e-4):
        self.mean = np.zeros(shape, np.float64)
        self.var = np.ones(shape, np.float64)
        self.count = epsilon

    def update(self, batch: np.ndarray) -> None:
        batch_mean, batch_var, batch_count = batch.mean(axis=0), batch.var(axis=0), batch.shape[0]
        delta = batch_mean - self.mean
        total = self.count + batch_count
        self.mean = self.mean + delta * batch_count / total
        m2 = self.var * self.count + batch_var * batch_count + delta**2 * self.count * batch_count / total
        self.var = m2 / total
        self.count = total

    def state(self) -> dict:
        return {'mean': self.mean.tolist(), 'var': self.var.tolist(), 'count': self.count}

    def load(self, state: dict) -> None:
        self.mean = np.asarray(state['mean'], np.float64)
        self.var = np.asarray(state['var'], np.float64)
        self.count = float(state['count'])


class ObservationNormalizer:
    """Normalizes observations to zero mean and unit variance, clipped to ``±clip``."""

    def __init__(self, shape: tuple[int, ...], clip: float = 10.0, epsilon: float = 1e-8):
        self.stats = RunningMeanStd(shape)
        self.clip, self.epsilon = clip, epsilon

    def __call__(self, observations: np.ndarray, update: bool) -> np.ndarray:
        if update:
            self.stats.update(observations)
        normalized = (observations - self.stats.mean) / np.sqrt(self.stats.var + self.epsilon)
        return np.clip(normalized, -self.clip, self.clip).astype(np.float32)


class RewardNormalizer:
    """Divides rewards by the running std of the discounted return of each env."""

    def __init__(self, n_envs: int, gamma: float, clip: float = 10.0, epsilon: float = 1e-8):
        self.stats = RunningMeanStd(())
        self.returns = np.zeros(n_envs)
        self.gamma, self.clip, self.epsilon = gamma, clip, epsilon

    def __call__(self, rewards: np.ndarray, dones: np.ndarray) -> np.ndarray:
        self.returns = self.returns * self.gamma + rewards
        self.stats.update(self.returns)
        self.returns[dones] = 0.0
        return np.clip(rewards / np.sqrt(self.stats.var + self.epsilon), -self.clip, self.clip).astype(np.float32)


class KeyStatistics:
    """The running statistics of several keys, saved and loaded together (as one ``RunningMeanStd`` is)."""

    def __init__(self, normalizers: dict[str, ObservationNormalizer]):
        self.normalizers = normalizers

    def state(self) -> dict:
        return {key: normalizer.stats.state() for key, normalizer in self.normalizers.items()}

    def load(self, state: dict) -> None:
        for key, normalizer in self.normalizers.items():
            normalizer.stats.load(state[key])


class KeyNormalizer:
    """Normalizes the vector keys of Dict observations, each with statistics of its own; the other
    keys (images, Discrete, MultiDiscrete, MultiBinary) pass as they are.

    Args:
        shapes: The shape of each vector key.
    """

    def __init__(self, shapes: dict[str, tuple[int, ...]], clip: float = 10.0, epsilon: float = 1e-8):
        self.normalizers = {key: ObservationNormalizer(shape, clip, epsilon) for key, shape in shapes.items()}
        self.stats = KeyStatistics(self.normalizers)

    def __call__(self, observations: dict[str, np.ndarray], update: bool) -> dict[str, np.ndarray]:
        normalized = dict(observations)
        for key, normalizer in self.normalizers.items():
            normalized[key] = normalizer(observations[key], update)
        return normalized
