"""Proximal Policy Optimization."""

from __future__ import annotations

import tensorflow as tf

from xagents.core.actor_critic import ActorCritic
from xagents.ppo.config import MODEL_ROLES, PPOConfig
from xagents.rl_math import flatten_time, rollout_advantages


class PPO(ActorCritic):
    """PPO with the clipped surrogate objective (Schulman et al. 2017, arXiv:1707.06347).

    Advantages by GAE, normalized per minibatch; several epochs of minibatch updates
    per rollout, all inside one compiled graph. As in the common implementations
    (OpenAI baselines, Stable-Baselines3) and unlike the paper's single combined
    network loss, the value loss can be clipped by its own range (``value_clip``), and
    gradients are clipped by global norm.

    The model has two outputs: policy logits (discrete) or means (continuous), and the
    state value. For continuous actions a state-independent log-std output is added.
    """

    Config = PPOConfig
    graph_hyperparameters = ('clip_range', 'entropy_coef')
    model_roles = MODEL_ROLES

    def __init__(self, envs, model, **kwargs):
        super().__init__(envs, model, **kwargs)
        self.model = self.models['model']
        self.minibatch_size = self.rollout_minibatch_size(self.config.mini_batches)
        self._train = self.compiled(self.train_epochs)

    def update(self, rollout):
        advantages, returns = rollout_advantages(rollout, self.config.gamma, self.config.lam)
        losses = self._train(
            flatten_time(rollout['observations']),
            flatten_time(rollout['actions']),
            flatten_time(rollout['log_probs']),
            flatten_time(advantages),
            flatten_time(returns),
            flatten_time(rollout['values']),
            *((flatten_time(rollout['action_masks']),) if 'action_masks' in rollout else ()),
        )
        return {name: value.numpy() for name, value in losses.items()}

    def compute_losses(self, observations, actions, old_log_probs, advantages, returns, old_values, masks=None):
        config = self.config
        distribution, values = self.policy_and_values(observations, training=True, masks=masks)
        mean, variance = tf.nn.moments(advantages, axes=[0])
        advantages = (advantages - mean) / (tf.sqrt(variance) + config.advantage_epsilon)
        ratio = tf.exp(distribution.log_prob(actions) - old_log_probs)
        clip_range = self.graph_values['clip_range']
        clipped = tf.clip_by_value(ratio, 1 - clip_range, 1 + clip_range)
        policy_loss = -tf.reduce_mean(tf.minimum(ratio * advantages, clipped * advantages))
        value_errors = tf.square(returns - values)
        if config.value_clip is not None:
            clipped_values = old_values + tf.clip_by_value(values - old_values, -config.value_clip, config.value_clip)
            value_errors = tf.maximum(value_errors, tf.square(returns - clipped_values))
        value_loss = 0.5 * tf.reduce_mean(value_errors)
        entropy = tf.reduce_mean(distribution.entropy())
        loss = policy_loss + config.value_loss_coef * value_loss - self.graph_values['entropy_coef'] * entropy
        return loss, {'loss': loss, 'policy_loss': policy_loss, 'value_loss': value_loss, 'entropy': entropy}

    def train_epochs(self, observations, actions, old_log_probs, advantages, returns, old_values, masks=None):
        """``ppo_epochs`` passes of ``mini_batches`` minibatch steps over the rollout (compiled as ``_train``),
        with the action masks of the transitions when the run has them."""
        size = tf.shape(advantages)[0]
        variables = self.model.trainable_variables
        metrics = {name: tf.constant(0.0) for name in ('loss', 'policy_loss', 'value_loss', 'entropy')}
        tensors = (observations, actions, old_log_probs, advantages, returns, old_values)
        leading = [self.config.mini_batches, self.minibatch_size]
        tensors += () if masks is None else (masks,)
        for _ in tf.range(self.config.ppo_epochs):
            # One shuffle per epoch into [mini_batches, minibatch_size, ...]; a minibatch is
            # then a slice of the leading axis (a gather per minibatch from the whole rollout
            # is slow under XLA on the CPU: about 0.2 s a step for a 16,384-step rollout).
            order = tf.argsort(self.tf_rng.uniform([size]))
            shuffled = tf.nest.map_structure(
                lambda tensor, order=order: tf.reshape(
                    tf.gather(tensor, order), tf.concat([leading, tf.shape(tensor)[1:]], 0)
                ),
                tensors,
            )
            for batch in tf.range(self.config.mini_batches):
                minibatch = tf.nest.map_structure(lambda tensor, batch=batch: tensor[batch], shuffled)
                with tf.GradientTape() as tape:
                    loss, metrics = self.compute_losses(*minibatch)
                gradients = tape.gradient(loss, variables)
                gradients, _ = tf.clip_by_global_norm(gradients, self.config.grad_norm)
                self.model.optimizer.apply_gradients(zip(gradients, variables))
        return metrics
