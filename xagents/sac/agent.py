"""Soft Actor-Critic."""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from xagents.core.continuous import ContinuousOffPolicy
from xagents.nets.distributions import SquashedGaussian
from xagents.sac.config import INIT_ENT_COEF, MODEL_ROLES, SACConfig

# Bounds of the actor's log-std outputs (SB3's and the authors' code).
LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0


class SAC(ContinuousOffPolicy):
    """SAC (Haarnoja et al. 2018), with the learned temperature of Haarnoja et al. 2018b.

    The actor outputs the mean and log-std of a Gaussian squashed by tanh into [-1, 1]
    (mapped linearly onto the action bounds); its log-probabilities carry the tanh
    correction. Two critics, with polyak targets moved every update, regress onto
    ``r + discount (min target Q(s', a') - alpha log pi(a'|s'))`` with ``a'`` drawn from the
    current policy; the actor minimizes ``alpha log pi(a|s) - min Q(s, a)`` through
    reparameterized actions; the temperature ``alpha = exp(log_alpha)`` minimizes
    ``-log_alpha (log pi(a|s) + target entropy)``, the target entropy being minus the action
    dimensions unless given. Greedy actions are the tanh of the mean. Deviations from the
    paper, as in Stable-Baselines3: updates run every ``train_frequency`` steps,
    ``gradient_steps`` at a time, and the temperature, critic and actor steps of an update all
    use the temperature it starts with.
    """

    Config = SACConfig
    model_roles = MODEL_ROLES
    loss_names = ('critic_loss', 'actor_loss', 'ent_coef_loss', 'ent_coef')

    def __init__(self, envs, actor, critic, **kwargs):
        super().__init__(envs, actor, critic, **kwargs)
        config = self.config
        self.learns_temperature = config.ent_coef is None
        initial = INIT_ENT_COEF if config.init_ent_coef is None else config.init_ent_coef
        self.log_ent_coef = tf.Variable(
            math.log(initial if self.learns_temperature else config.ent_coef), dtype=tf.float32
        )
        self.ent_coef_optimizer = self.make_optimizer()
        self.ent_coef_optimizer.build([self.log_ent_coef])
        dimensions = float(np.prod(self.action_space.shape))
        self.target_entropy = -dimensions if config.target_entropy is None else config.target_entropy

    @classmethod
    def output_units(cls, envs, config):
        return [[2 * envs.single_action_space.shape[0]], [1]]

    def trackables(self):
        return {
            **super().trackables(),
            'log_ent_coef': self.log_ent_coef,
            'ent_coef_optimizer': self.ent_coef_optimizer,
        }

    # ------------------------------------------------------------------ acting
    @staticmethod
    def split_outputs(outputs):
        """The actor's outputs as (mean, log-std), the log-std clipped to its bounds."""
        half = outputs.shape[-1] // 2
        clip = tf.clip_by_value if isinstance(outputs, tf.Tensor) else np.clip
        return outputs[..., :half], clip(outputs[..., half:], LOG_STD_MIN, LOG_STD_MAX)

    def policy_distribution(self, observations, training=False) -> SquashedGaussian:
        """The actor's squashed Gaussian for a batch of observations."""
        return SquashedGaussian(*self.split_outputs(self.actor(observations, training=training)))

    def greedy_actions(self, observations):
        return self.policy_distribution(observations).mode()

    def policy(self, observations, *, deterministic):
        """The tanh of the mean; with ``deterministic=False``, a draw from the squashed Gaussian."""
        mean, log_std = self.split_outputs(self.actor_outputs_now(observations))
        if deterministic:
            return np.tanh(mean)
        return np.tanh(mean + np.exp(log_std) * self.rng.standard_normal(mean.shape)).astype(np.float32)

    # ---------------------------------------------------------------- learning
    def critic_step(self, observations, actions, rewards, next_observations, terminals, discounts, ent_coef):
        next_actions, next_log_probs = self.policy_distribution(next_observations).sample_with_log_prob(self.tf_rng)
        next_q = self.min_q(self.target_critics, next_observations, next_actions) - ent_coef * next_log_probs
        targets = rewards + discounts * (1.0 - tf.cast(terminals, tf.float32)) * next_q
        return self.fit_critics(observations, actions, targets)

    def actor_step(self, observations, ent_coef):
        """One step of the actor; its loss and the log-probabilities of the actions it drew."""
        with tf.GradientTape() as tape:
            actions, log_probs = self.policy_distribution(observations, True).sample_with_log_prob(self.tf_rng)
            loss = tf.reduce_mean(ent_coef * log_probs - self.min_q(self.critics, observations, actions))
        gradients = tape.gradient(loss, self.actor.trainable_variables)
        self.actor.optimizer.apply_gradients(zip(gradients, self.actor.trainable_variables))
        return loss, log_probs

    def temperature_step(self, log_probs):
        entropy_gap = tf.stop_gradient(log_probs + self.target_entropy)
        with tf.GradientTape() as tape:
            loss = -tf.reduce_mean(self.log_ent_coef * entropy_gap)
        self.ent_coef_optimizer.apply_gradients([(tape.gradient(loss, self.log_ent_coef), self.log_ent_coef)])
        return loss

    def train_step(self, batch, losses):
        ent_coef = tf.exp(self.log_ent_coef)
        critic_loss = self.critic_step(**batch, ent_coef=ent_coef)
        actor_loss, log_probs = self.actor_step(batch['observations'], ent_coef)
        ent_coef_loss = self.temperature_step(log_probs) if self.learns_temperature else losses['ent_coef_loss']
        self.update_target_critics()
        self.updates.assign_add(1)
        return dict(critic_loss=critic_loss, actor_loss=actor_loss, ent_coef_loss=ent_coef_loss, ent_coef=ent_coef)
