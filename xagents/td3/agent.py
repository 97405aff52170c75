"""Twin Delayed DDPG, and the base of DDPG (``xagents/ddpg/agent.py``)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from xagents.core.continuous import ContinuousOffPolicy
from xagents.rl_math import polyak_update, smoothed_target_actions
from xagents.td3.config import MODEL_ROLES, TD3Config


class TD3(ContinuousOffPolicy):
    """TD3 (Fujimoto et al. 2018): DDPG with twin critics, delayed actor updates and target smoothing.

    The actor's tanh outputs in [-1, 1] are mapped linearly onto the action bounds, and
    the noise scales are in those units (half the action range). Targets use the smaller
    of the two target critics at a target action with clipped Gaussian noise; the actor
    and the three target networks move every ``policy_delay`` critic updates, the
    targets by polyak averaging with ``tau``. Deviation from the paper: updates run every
    ``train_frequency`` steps, ``gradient_steps`` at a time (as in Stable-Baselines3).

    :class:`~xagents.ddpg.agent.DDPG` is this class with one critic, a delay of 1 and no
    smoothing noise, as in Stable-Baselines3.
    """

    Config = TD3Config
    model_roles = MODEL_ROLES
    loss_names = ('critic_loss', 'actor_loss')

    def __init__(self, envs, actor, critic, **kwargs):
        super().__init__(envs, actor, critic, **kwargs)
        self.target_actor = self.target_of(actor)

    @classmethod
    def output_units(cls, envs, config):
        return [[envs.single_action_space.shape[0]], [1]]

    def trackables(self):
        return {**super().trackables(), 'target_actor': self.target_actor}

    # ------------------------------------------------------------------ acting
    def greedy_actions(self, observations):
        return self.actor(observations)

    def policy(self, observations, *, deterministic):
        """The actor's actions; with ``deterministic=False``, plus the exploration noise of training."""
        actions = self.actor_outputs_now(observations)
        if deterministic:
            return actions
        noise = self.rng.normal(0.0, self.config.step_noise_coef, actions.shape)
        return np.clip(actions + noise, -1.0, 1.0).astype(np.float32)

    # ---------------------------------------------------------------- learning
    def critic_step(self, observations, actions, rewards, next_observations, terminals, discounts):
        config = self.config
        target_actions = self.target_actor(next_observations)
        noise = self.tf_rng.normal(tf.shape(target_actions), stddev=config.policy_noise_coef)
        target_actions = smoothed_target_actions(target_actions, noise, config.noise_clip)
        next_q = self.min_q(self.target_critics, next_observations, target_actions)
        targets = rewards + discounts * (1.0 - tf.cast(terminals, tf.float32)) * next_q
        return self.fit_critics(observations, actions, targets)

    def actor_step(self, observations):
        loss = self.step_model(
            self.actor,
            lambda: -tf.reduce_mean(self.q_value(self.critic, observations, self.actor(observations, training=True))),
        )
        polyak_update(self.target_actor.weights, self.actor.weights, self.config.tau)
        self.update_target_critics()
        return loss

    def train_step(self, batch, losses):
        critic_loss = self.critic_step(**batch)
        self.updates.assign_add(1)
        actor_loss = losses['actor_loss']
        if self.updates % self.config.policy_delay == 0:
            actor_loss = self.actor_step(batch['observations'])
        return {'critic_loss': critic_loss, 'actor_loss': actor_loss}
