"""Action distributions chosen by the action space, not by a layer's activation: Categorical
(Discrete), DiagGaussian (Box), MultiCategorical (MultiDiscrete), Bernoulli (MultiBinary).
"""

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


class MultiCategorical:
    """One categorical per dimension of a MultiDiscrete space, from the logits of all dimensions
    side by side (``sum(nvec)`` of them): log-probabilities, entropies and KLs summed over dimensions.

    ``nvec`` (categories per dimension) belongs to the space, so each space has its own subclass
    (:meth:`over`), built like the other distributions from the logits alone.
    """

    nvec: tuple[int, ...] = ()

    @classmethod
    def over(cls, nvec) -> type[MultiCategorical]:
        """The distribution class of a MultiDiscrete space with ``nvec`` categories per dimension."""
        return type(cls.__name__, (cls,), {'nvec': tuple(int(n) for n in nvec)})

    def __init__(self, logits: tf.Tensor):
        self.logits = logits
        self.log_probs_all = tf.concat([tf.nn.log_softmax(part) for part in self.split(logits)], axis=-1)
        # Where each dimension's logits start: action i of dimension d is column offsets[d] + i.
        self.offsets = tf.constant(np.cumsum((0, *self.nvec[:-1])), tf.int32)

    def split(self, columns: tf.Tensor) -> list[tf.Tensor]:
        return tf.split(columns, self.nvec, axis=-1)

    def argmax_per_dimension(self, scores: tf.Tensor) -> tf.Tensor:
        return tf.stack([tf.argmax(part, axis=-1, output_type=tf.int32) for part in self.split(scores)], axis=-1)

    def sample(self, generator: tf.random.Generator) -> tf.Tensor:
        uniform = generator.uniform(tf.shape(self.logits), minval=1e-12, maxval=1.0)
        return self.argmax_per_dimension(self.logits - tf.math.log(-tf.math.log(uniform)))

    def mode(self) -> tf.Tensor:
        return self.argmax_per_dimension(self.logits)

    def log_prob(self, actions: tf.Tensor) -> tf.Tensor:
        columns = tf.cast(actions, tf.int32) + self.offsets
        return tf.reduce_sum(tf.gather(self.log_probs_all, columns, batch_dims=1), axis=-1)

    def entropy(self) -> tf.Tensor:
        # The sum over all columns is the sum of the dimensions' entropies.
        return -tf.reduce_sum(tf.exp(self.log_probs_all) * self.log_probs_all, axis=-1)

    def kl(self, other: MultiCategorical) -> tf.Tensor:
        return tf.reduce_sum(tf.exp(self.log_probs_all) * (self.log_probs_all - other.log_probs_all), axis=-1)


class Bernoulli:
    """Independent bits of a MultiBinary space, one logit each (``p(1) = sigmoid(logit)``);
    log-probabilities, entropies and KLs summed over bits."""

    def __init__(self, logits: tf.Tensor):
        self.logits = logits

    def sample(self, generator: tf.random.Generator) -> tf.Tensor:
        uniform = generator.uniform(tf.shape(self.logits))
        return tf.cast(uniform < tf.sigmoid(self.logits), tf.int32)

    def mode(self) -> tf.Tensor:
        return tf.cast(self.logits > 0, tf.int32)

    def log_prob(self, actions: tf.Tensor) -> tf.Tensor:
        # log p(a) = a x - softplus(x): log sigmoid(x) for a 1, log sigmoid(-x) for a 0.
        bits = tf.cast(actions, self.logits.dtype)
        return tf.reduce_sum(bits * self.logits - tf.nn.softplus(self.logits), axis=-1)

    def entropy(self) -> tf.Tensor:
        # -p log p - (1 - p) log(1 - p) = softplus(x) - p x.
        return tf.reduce_sum(tf.nn.softplus(self.logits) - tf.sigmoid(self.logits) * self.logits, axis=-1)

    def kl(self, other: Bernoulli) -> tf.Tensor:
        # p (x - y) - softplus(x) + softplus(y): the log-probability difference, expected under p.
        p = tf.sigmoid(self.logits)
        return tf.reduce_sum(
            p * (self.logits - other.logits) - tf.nn.softplus(self.logits) + tf.nn.softplus(other.logits), axis=-1
        )


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
    if distribution is DiagGaussian:
        mean, log_std = outputs[0], outputs[-1]
        noise = np.zeros_like(mean) if deterministic else rng.standard_normal(mean.shape, np.float32)
        actions = mean + np.exp(log_std) * noise
        log_probs = (-0.5 * np.square(noise) - log_std - np.float32(0.5 * math.log(2 * math.pi))).sum(-1)
        return actions, log_probs
    if distribution is Bernoulli:
        return _host_bernoulli(outputs[0], rng, deterministic)
    return _host_multi_categorical(distribution.nvec, outputs[0], rng, deterministic)


def _host_multi_categorical(nvec, logits, rng, deterministic):
    """MultiCategorical in NumPy: Gumbel-max per dimension, log-probabilities summed over dimensions."""
    bounds = np.cumsum(nvec)[:-1]
    log_probs = np.concatenate([log_softmax(part) for part in np.split(logits, bounds, axis=-1)], axis=-1)
    if not deterministic:
        logits = logits + rng.gumbel(size=logits.shape)
    actions = np.stack([part.argmax(-1) for part in np.split(logits, bounds, axis=-1)], axis=-1).astype(np.int32)
    columns = actions + np.concatenate([[0], bounds])
    return actions, np.take_along_axis(log_probs, columns, axis=-1).sum(-1)


def _host_bernoulli(logits, rng, deterministic):
    """Bernoulli in NumPy: a bit is 1 with probability sigmoid(logit) (greedy: logit > 0)."""
    if deterministic:
        ones = logits > 0
    else:
        ones = rng.random(logits.shape, np.float32) < 0.5 * (np.tanh(0.5 * logits) + 1.0)
    log_probs = np.where(ones, logits, np.float32(0.0)) - np.logaddexp(np.float32(0.0), logits)
    return ones.astype(np.int32), log_probs.sum(-1)


def distribution_for(action_space: gym.Space):
    """The distribution class for ``action_space``, or a clear error."""
    if isinstance(action_space, gym.spaces.Discrete):
        return Categorical
    if isinstance(action_space, gym.spaces.Box) and len(action_space.shape) == 1:
        return DiagGaussian
    if isinstance(action_space, gym.spaces.MultiDiscrete) and len(action_space.shape) == 1:
        return MultiCategorical.over(action_space.nvec)
    if isinstance(action_space, gym.spaces.MultiBinary) and len(action_space.shape) == 1:
        return Bernoulli
    raise ValueError(f'unsupported action space {action_space}')
