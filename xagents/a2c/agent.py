"""Advantage Actor-Critic."""

from __future__ import annotations

import tensorflow as tf

from xagents.a2c.config import MODEL_ROLES, A2CConfig
from xagents.core.actor_critic import ActorCritic
from xagents.rl_math import flatten_time, rollout_advantages


class A2C(ActorCritic):
    """Synchronous advantage actor-critic (Mnih et al. 2016, arXiv:1602.01783).

    One gradient step per rollout of ``n_steps`` steps from every env: policy gradient
    with advantages ``R - V(s)`` from n-step returns, squared value error and an
    entropy bonus, gradients clipped by global norm. ``lam`` below 1 replaces the
    n-step returns by GAE, as Stable-Baselines3's ``gae_lambda`` does; the default 1
    is the paper's estimator. Adam replaces the paper's shared RMSProp.
    """

    Config = A2CConfig
    graph_hyperparameters = ('entropy_coef',)
    model_roles = MODEL_ROLES

    def __init__(self, envs, model, **kwargs):
        super().__init__(envs, model, **kwargs)
        self.model = self.models['model']

    def update(self, rollout):
        config = self.config
        _, returns = rollout_advantages(rollout, config.gamma, config.lam)
        masks = flatten_time(rollout['action_masks']) if 'action_masks' in rollout else None
        losses = self._train(
            flatten_time(rollout['observations']), flatten_time(rollout['actions']), flatten_time(returns), masks
        )
        return {name: value.numpy() for name, value in losses.items()}

    def compute_losses(self, observations, actions, returns, masks=None):
        """The total loss and its parts for a batch of transitions and their n-step (or GAE) returns
        (the policy's distribution over the legal actions of ``masks`` when given)."""
        config = self.config
        distribution, values = self.policy_and_values(observations, training=True, masks=masks)
        advantages = tf.stop_gradient(returns - values)
        policy_loss = -tf.reduce_mean(distribution.log_prob(actions) * advantages)
        value_loss = 0.5 * tf.reduce_mean(tf.square(returns - values))
        entropy = tf.reduce_mean(distribution.entropy())
        loss = policy_loss + config.value_loss_coef * value_loss - self.graph_values['entropy_coef'] * entropy
        return loss, {'loss': loss, 'policy_loss': policy_loss, 'value_loss': value_loss, 'entropy': entropy}

    @tf.function(reduce_retracing=True)
    def _train(self, observations, actions, returns, masks=None):
        variables = self.model.trainable_variables
        with tf.GradientTape() as tape:
            loss, metrics = self.compute_losses(observations, actions, returns, masks)
        gradients = tape.gradient(loss, variables)
        gradients, _ = tf.clip_by_global_norm(gradients, self.config.grad_norm)
        self.model.optimizer.apply_gradients(zip(gradients, variables))
        return metrics
