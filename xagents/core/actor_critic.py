"""On-policy agents with a stochastic policy and a state-value estimate."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import tensorflow as tf

from xagents.core.masking import masked_logits, masked_logits_np
from xagents.core.on_policy import OnPolicy
from xagents.nets.distributions import DiagGaussian, distribution_for, host_act
from xagents.nets.reader import with_log_std


class ActorCritic(OnPolicy):
    """On-policy agents with a stochastic policy and a state-value estimate.

    The distribution follows the action space (``distribution_class``: categorical, diagonal
    Gaussian, or one categorical per dimension or one Bernoulli per bit;
    ``policy_distribution(observations)`` is the policy's for a batch). The first model is the
    policy: its first output holds the logits (of every dimension, side by side) or the means, and for
    continuous actions a state-independent log-std output is appended to it. By
    default the policy model also has the value head as its second output; agents with
    a separate critic override ``policy_and_values``. With action masks (``masks``, stored in the
    rollout), every distribution is the masked one: acting, log-probabilities, entropies and KLs.
    """

    takes_dict_observations = True
    takes_masks = True

    def __init__(self, envs, *models, **kwargs):
        if isinstance(envs.single_action_space, gym.spaces.Box):
            models = (with_log_std(models[0], envs.single_action_space.shape[0]), *models[1:])
        super().__init__(envs, *models, **kwargs)
        self.distribution_class = distribution_for(self.action_space)
        self._act = self.compiled(self.act_in_graph)

    @classmethod
    def check_envs(cls, envs):
        distribution_for(envs.single_action_space)

    @classmethod
    def output_units(cls, envs, config):
        return [[cls.policy_units(envs), 1]]

    @staticmethod
    def policy_units(envs) -> int:
        """Outputs of the policy head: logits per action (of each dimension of a MultiDiscrete, side by
        side), means per action dimension of a Box, or a logit per bit of a MultiBinary."""
        space = envs.single_action_space
        if isinstance(space, gym.spaces.Discrete):
            return space.n
        if isinstance(space, gym.spaces.MultiDiscrete):
            return int(space.nvec.sum())
        return space.shape[0]

    def make_distribution(self, outputs, masks=None):
        """The action distribution from the policy model's outputs (over the legal actions of ``masks``)."""
        if self.distribution_class is DiagGaussian:
            return DiagGaussian(outputs[0], outputs[-1])
        logits = outputs[0] if isinstance(outputs, (list, tuple)) else outputs
        return self.distribution_class(logits if masks is None else masked_logits(logits, masks))

    def rollout_minibatch_size(self, mini_batches: int) -> int:
        """Rollout transitions per minibatch; a clear error when they do not divide evenly."""
        batch = self.config.n_steps * self.n_envs
        if batch % mini_batches:
            raise ValueError(f'--n-steps x --n-envs ({batch}) must be divisible by --mini-batches ({mini_batches})')
        return batch // mini_batches

    def policy_and_values(self, observations, training=False, masks=None) -> tuple:
        """The action distribution and the state values (shape ``(batch,)``)."""
        outputs = self.models[self.model_roles[0]](observations, training=training)
        return self.make_distribution(outputs, masks), tf.squeeze(outputs[1], -1)

    def policy_distribution(self, observations, masks=None):
        """The action distribution alone (what acting greedily needs)."""
        return self.make_distribution(self.models[self.model_roles[0]](observations), masks)

    def greedy_actions(self, observations, masks=None):
        if masks is None:  # ACER's distribution takes no masks
            return self.policy_distribution(observations).mode()
        return self.policy_distribution(observations, masks).mode()

    def host_policy_and_values(self, observations: np.ndarray) -> tuple[list[np.ndarray], np.ndarray] | None:
        """``policy_and_values`` in NumPy: the policy model's outputs and the values, or None."""
        policy = self.host(self.model_roles[0])
        if policy is None:
            return None
        outputs = policy(observations)
        return outputs, outputs[1][:, 0]

    def act_in_graph(self, observations, deterministic, masks=None):
        """Actions, their log-probabilities and the values (compiled as ``_act``: TensorFlow acting, for
        models without a NumPy version such as convolutions)."""
        if masks is None:  # ACER's distribution takes no masks
            distribution, values = self.policy_and_values(observations)
        else:
            distribution, values = self.policy_and_values(observations, masks=masks)
        actions = distribution.mode() if deterministic else distribution.sample(self.tf_rng)
        return actions, distribution.log_prob(actions), values

    @tf.function(reduce_retracing=True)
    def _values(self, observations):
        return self.policy_and_values(observations)[1]

    def act(self, observations: np.ndarray, *, deterministic: bool, masks=None) -> tuple[np.ndarray, ...]:
        """Actions, their log-probabilities and the state values, as NumPy arrays (among the legal
        actions of ``masks`` when given)."""
        host = self.host_policy_and_values(observations)
        if host is None:
            inputs = (observations, np.array(deterministic)) + (() if masks is None else (masks,))
            return tuple(tensor.numpy() for tensor in self._act(*inputs))
        outputs, values = host
        if masks is not None:
            outputs = [masked_logits_np(outputs[0], masks), *outputs[1:]]
        return (*host_act(self.distribution_class, outputs, self.rng, deterministic=deterministic), values)

    def rollout_step(self, observations):
        masks = self.action_masks
        actions, log_probs, values = self.act(observations, deterministic=False, masks=masks)
        extras = {'log_probs': log_probs, 'values': values}
        return actions, extras if masks is None else {**extras, 'action_masks': masks}

    def values(self, observations):
        host = self.host_policy_and_values(observations)
        return self._values(observations).numpy() if host is None else host[1]

    def policy(self, observations, *, deterministic, masks=None):
        return self.act(observations, deterministic=deterministic, masks=masks)[0]
