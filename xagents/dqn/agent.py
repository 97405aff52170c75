"""Deep Q-Network and double DQN."""

from __future__ import annotations

import gymnasium as gym
import keras
import tensorflow as tf

from xagents.base import OffPolicy
from xagents.dqn.cli import MODEL_ROLES, DQNConfig
from xagents.utils.rl_math import q_targets


class DQN(OffPolicy):
    """DQN (Mnih et al. 2015, Nature 518) with the double-DQN option (van Hasselt et al. 2016).

    Epsilon-greedy exploration decaying linearly, Huber loss on one-step targets from
    a target network copied every ``target_sync_steps`` steps. As in Stable-Baselines3,
    updates run every ``train_frequency`` vector steps, ``gradient_steps`` at a time,
    and gradients are clipped by global norm.
    """

    Config = DQNConfig
    model_roles = MODEL_ROLES
    model_configs = ('dqn',)

    def __init__(self, envs, model, **kwargs):
        super().__init__(envs, model, **kwargs)
        self.model = model
        self.target_model = keras.models.clone_model(model)
        self.target_model.set_weights(model.get_weights())
        self.iterations = 0
        self.last_sync = 0

    @classmethod
    def output_units(cls, envs):
        return [[envs.single_action_space.n]]

    @classmethod
    def check_envs(cls, envs):
        if not isinstance(envs.single_action_space, gym.spaces.Discrete):
            raise ValueError(f'DQN needs a discrete action space, {envs.spec.id} has {envs.single_action_space}')

    def trackables(self):
        return {'target_model': self.target_model}

    def state(self):
        return {**super().state(), 'iterations': self.iterations, 'last_sync': self.last_sync}

    def load_state(self, state):
        super().load_state(state)
        self.iterations, self.last_sync = state['iterations'], state['last_sync']

    @property
    def epsilon(self) -> float:
        config = self.config
        fraction = min(1.0, self.steps / config.epsilon_decay_steps)
        return config.epsilon_start + fraction * (config.epsilon_end - config.epsilon_start)

    @tf.function(reduce_retracing=True)
    def _greedy(self, observations):
        return tf.argmax(self.model(observations), axis=-1, output_type=tf.int32)

    def policy(self, observations, deterministic=True):
        return self._greedy(observations).numpy()

    def explore(self, observations):
        actions = self.policy(observations)
        random = self.rng.random(self.n_envs) < self.epsilon
        if random.any():
            actions[random] = self.rng.integers(0, self.action_space.n, random.sum())
        return actions

    @tf.function(reduce_retracing=True)
    def _train(self, observations, actions, rewards, next_observations, terminals):
        next_target_q = self.target_model(next_observations)
        next_online_q = self.model(next_observations) if self.config.double else None
        targets = tf.stop_gradient(q_targets(rewards, terminals, next_target_q, self.config.gamma, next_online_q))
        variables = self.model.trainable_variables
        with tf.GradientTape() as tape:
            q_values = tf.gather(self.model(observations, training=True), tf.cast(actions, tf.int32), batch_dims=1)
            loss = tf.reduce_mean(keras.losses.huber(targets[:, None], q_values[:, None]))
        gradients = tape.gradient(loss, variables)
        if self.config.grad_norm is not None:
            gradients, _ = tf.clip_by_global_norm(gradients, self.config.grad_norm)
        self.model.optimizer.apply_gradients(zip(gradients, variables))
        return {'loss': loss, 'q': tf.reduce_mean(q_values)}

    def update(self):
        self.iterations += 1
        if self.iterations % self.config.train_frequency:
            return self.losses
        for _ in range(self.config.gradient_steps):
            losses = self._train(**self.sample())
        if self.steps - self.last_sync >= self.config.target_sync_steps:
            self.target_model.set_weights(self.model.get_weights())
            self.last_sync = self.steps
        return {**{name: value.numpy() for name, value in losses.items()}, 'epsilon': self.epsilon}
