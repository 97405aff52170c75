"""Action distributions chosen by the action space, not by a layer's activation."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import tensorflow as tf


class Categorical:
    """Distribution over discrete actions from unnormalized logits."""

    def __init__(self, logits: tf.Tensor):
        self.logits = logits
        self.log_probs_all = tf.nn.log_softmax(logits)

    def sample(self, generator: tf.random.Generator) -> tf.Tensor:
        # Gumbel-max draws from the categorical with a checkpointable generator.
        uniform = generator.uniform(tf.shape(self.logits), minval=1e-12, maxval=1.0)
        return tf.argmax(self.logits - tf.math.log(-tf.math.log(uniform)), axis=-1, output_type=tf.int32)

    def mode(self) -> tf.Tensor:
        return tf.argmax(self.logits, axis=-1, output_type=tf.int32)

    def log_prob(self, actions: tf.Tensor) -> tf.Tensor:
        return tf.gather(self.log_probs_all, tf.cast(actions, tf.int32), batch_dims=1)

    def entropy(self) -> tf.Tensor:
        return -tf.reduce_sum(tf.exp(self.log_probs_all) * self.log_probs_all, axis=-1)

    def kl(self, other: Categorical) -> tf.Tensor:
        return tf.reduce_sum(tf.exp(self.log_probs_all) * (self.log_probs_all - other.log_probs_all), axis=-1)


class DiagGaussian:
    """Gaussian with diagonal covariance; log-probabilities summed over action dims."""

    def __init__(self, mean: tf.Tensor, log_std: tf.Tensor):
        self.mean, self.log_std = mean, log_std
        self.std = tf.exp(log_std)

    def sample(self, generator: tf.random.Generator) -> tf.Tensor:
        return self.mean + self.std * generator.normal(tf.shape(self.mean))

    def mode(self) -> tf.Tensor:
        return self.mean

    def log_prob(self, actions: tf.Tensor) -> tf.Tensor:
        z = (actions - self.mean) / self.std
        return tf.reduce_sum(-0.5 * tf.square(z) - self.log_std - 0.5 * math.log(2 * math.pi), axis=-1)

    def entropy(self) -> tf.Tensor:
        return tf.reduce_sum(self.log_std + 0.5 * math.log(2 * math.pi * math.e), axis=-1)

    def kl(self, other: DiagGaussian) -> tf.Tensor:
        ratio = tf.square(self.std / other.std)
        return tf.reduce_sum(
            other.log_std - self.log_std + 0.5 * (ratio + tf.square((self.mean - other.mean) / other.std) - 1.0),
            axis=-1,
        )


def tanh_log_jacobian(pre_tanh: tf.Tensor) -> tf.Tensor:
    """``sum log(1 - tanh(u)^2)`` over the last axis, as ``2 (log 2 - u - softplus(-2u))``: the same
    identity, exact where ``tanh(u)`` rounds to ±1 (where the direct form takes the log of 0)."""
    return tf.reduce_sum(2.0 * (math.log(2.0) - pre_tanh - tf.nn.softplus(-2.0 * pre_tanh)), axis=-1)


class SquashedGaussian:
    """tanh of a diagonal Gaussian (SAC's policy): actions in (-1, 1), log-probabilities with the
    change of variables ``log p(a) = log N(u) - sum log(1 - tanh(u)^2)`` for ``a = tanh(u)``."""

    def __init__(self, mean: tf.Tensor, log_std: tf.Tensor):
        self.gaussian = DiagGaussian(mean, log_std)

    def mode(self) -> tf.Tensor:
        return tf.tanh(self.gaussian.mean)

    def sample_with_log_prob(self, generator: tf.random.Generator) -> tuple[tf.Tensor, tf.Tensor]:
        """Reparameterized actions (differentiable in the mean and log-std) and their log-probabilities."""
        pre_tanh = self.gaussian.sample(generator)
        return tf.tanh(pre_tanh), self.gaussian.log_prob(pre_tanh) - tanh_log_jacobian(pre_tanh)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def host_act(
    distribution: type, outputs: list[np.ndarray], rng: np.random.Generator, *, deterministic: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Actions and their log-probabilities from policy outputs in NumPy, drawn with ``rng``.

    The same distributions as the classes above (``outputs[0]`` holds the logits or the
    means, ``outputs[-1]`` the log-stds), for acting on the host without a TensorFlow call.
    """
    if distribution is Categorical:
        logits = outputs[0]
        log_probs = log_softmax(logits)
        if not deterministic:
            logits = logits + rng.gumbel(size=logits.shape)
        actions = logits.argmax(-1).astype(np.int32)
        return actions, log_probs[np.arange(len(actions)), actions]
    mean, log_std = outputs[0], outputs[-1]
    noise = np.zeros_like(mean) if deterministic else rng.standard_normal(mean.shape, np.float32)
    actions = mean + np.exp(log_std) * noise
    log_probs = (-0.5 * np.square(noise) - log_std - np.float32(0.5 * math.log(2 * math.pi))).sum(-1)
    return actions, log_probs


def distribution_for(action_space: gym.Space):
    """The distribution class for ``action_space``, or a clear error."""
    if isinstance(action_space, gym.spaces.Discrete):
        return Categorical
    if isinstance(action_space, gym.spaces.Box) and len(action_space.shape) == 1:
        return DiagGaussian
    raise ValueError(f'unsupported action space {action_space}')
