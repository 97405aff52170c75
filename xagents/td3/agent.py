"""Twin Delayed DDPG."""

from __future__ import annotations

import gymnasium as gym
import keras
import numpy as np
import tensorflow as tf

from xagents.core.off_policy import OffPolicy
from xagents.td3.config import MODEL_ROLES, TD3Config
from xagents.utils.models import ModelReader
from xagents.utils.rl_math import polyak_update, smoothed_target_actions


class TD3(OffPolicy):
    """TD3 (Fujimoto et al. 2018): DDPG with twin critics, delayed actor updates and target smoothing.

    The actor's tanh outputs in [-1, 1] are mapped linearly onto the action bounds, and
    the noise scales are in those units (half the action range). Targets use the smaller
    of the two target critics at a target action with clipped Gaussian noise; the actor
    and the three target networks move every ``policy_delay`` critic updates, the
    targets by polyak averaging with ``tau``. The second critic is built from the
    critic's model file and saved with it. Deviation from the paper: updates run every
    ``train_frequency`` steps, ``gradient_steps`` at a time (as in Stable-Baselines3),
    and all of them in one compiled loop on batches drawn before it starts.
    """

    Config = TD3Config
    model_roles = MODEL_ROLES
    model_configs = ('actor', 'critic')

    def __init__(self, envs, actor, critic, **kwargs):
        super().__init__(envs, actor, critic, **kwargs)
        self.actor, self.critic = actor, critic
        self.critics = [critic]
        if self.config.twin_critics:
            twin = keras.models.clone_model(critic)
            twin.compile(optimizer=self.make_optimizer())
            twin.optimizer.build(twin.trainable_variables)
            self.critics.append(twin)
        self.target_actor = self.target_of(actor)
        self.target_critics = [self.target_of(model) for model in self.critics]
        self._train = self.compiled(self.train_batches)
        space = self.action_space
        self.action_center = (space.high + space.low) / 2
        self.action_scale = (space.high - space.low) / 2
        self.iterations = 0
        self.updates = tf.Variable(0, dtype=tf.int64, trainable=False)

    @staticmethod
    def target_of(model: keras.Model) -> keras.Model:
        target = keras.models.clone_model(model)
        target.set_weights(model.get_weights())
        return target

    @classmethod
    def check_envs(cls, envs):
        space = envs.single_action_space
        if not isinstance(space, gym.spaces.Box) or not np.all(np.isfinite(space.low) & np.isfinite(space.high)):
            raise ValueError(
                f'{cls.__name__} needs a bounded continuous (Box) action space, {envs.spec.id} has {space}'
            )

    @classmethod
    def output_units(cls, envs, config):
        return [[envs.single_action_space.shape[0]], [1]]

    @classmethod
    def build_models(cls, envs, model_files=None, config=None):
        """The actor reads observations; the critic reads observations and actions, concatenated."""
        config = config or cls.Config()
        space = envs.single_observation_space
        if len(space.shape) != 1:
            raise ValueError(f'{cls.__name__} needs flat observations, {envs.spec.id} has shape {space.shape}')
        files = model_files or cls.default_model_files(space)
        if config.seed is not None:
            keras.utils.set_random_seed(config.seed)
        inputs = [space.shape[0], space.shape[0] + envs.single_action_space.shape[0]]
        return [
            ModelReader(path, units, size, seed=config.seed).build_model()
            for path, units, size in zip(files, cls.output_units(envs, config), inputs)
        ]

    def trackables(self):
        objects = {'target_actor': self.target_actor, 'updates': self.updates}
        for index, (model, target) in enumerate(zip(self.critics, self.target_critics)):
            objects[f'target_critic_{index}'] = target
            if index:
                objects[f'critic_{index}'] = model
                objects[f'critic_{index}_optimizer'] = model.optimizer
        return objects

    def role_trackables(self, role):
        return {'twin': self.critics[1]} if role == 'critic' and len(self.critics) > 1 else {}

    def state(self):
        return {**super().state(), 'iterations': self.iterations}

    def load_state(self, state):
        super().load_state(state)
        self.iterations = state['iterations']

    # ------------------------------------------------------------------ acting
    def action_bounds(self):
        one = np.ones_like(self.action_scale)
        return -one, one, self.action_center, self.action_scale

    def random_actions(self, n=None):
        return self.rng.uniform(-1.0, 1.0, (n or self.n_envs, *self.action_space.shape)).astype(np.float32)

    def greedy_actions(self, observations):
        return self.actor(observations)

    def policy(self, observations, deterministic=True):
        """The actor's actions; with ``deterministic=False``, plus the exploration noise of training."""
        actions = self.kept_greedy(observations)
        if actions is None:
            actor = self.host('actor')
            actions = self._greedy(observations).numpy() if actor is None else actor(observations)[0]
        if deterministic:
            return actions
        noise = self.rng.normal(0.0, self.config.step_noise_coef, actions.shape)
        return np.clip(actions + noise, -1.0, 1.0).astype(np.float32)

    def explore(self, observations):
        return self.policy(observations, deterministic=False)

    # ---------------------------------------------------------------- learning
    def q_value(self, critic, observations, actions, training=False):
        return tf.squeeze(critic(tf.concat([observations, actions], -1), training=training), -1)

    def critic_step(self, observations, actions, rewards, next_observations, terminals, discounts):
        config = self.config
        target_actions = self.target_actor(next_observations)
        noise = self.tf_rng.normal(tf.shape(target_actions), stddev=config.policy_noise_coef)
        target_actions = smoothed_target_actions(target_actions, noise, config.noise_clip)
        next_q = tf.reduce_min(
            tf.stack([self.q_value(target, next_observations, target_actions) for target in self.target_critics]), 0
        )
        targets = tf.stop_gradient(rewards + discounts * (1.0 - tf.cast(terminals, tf.float32)) * next_q)
        losses = []
        for critic in self.critics:
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(self.q_value(critic, observations, actions, True) - targets))
            gradients = tape.gradient(loss, critic.trainable_variables)
            critic.optimizer.apply_gradients(zip(gradients, critic.trainable_variables))
            losses.append(loss)
        return tf.add_n(losses) / len(losses)

    def actor_step(self, observations):
        with tf.GradientTape() as tape:
            loss = -tf.reduce_mean(self.q_value(self.critic, observations, self.actor(observations, training=True)))
        gradients = tape.gradient(loss, self.actor.trainable_variables)
        self.actor.optimizer.apply_gradients(zip(gradients, self.actor.trainable_variables))
        tau = self.config.tau
        polyak_update(self.target_actor.weights, self.actor.weights, tau)
        for target, critic in zip(self.target_critics, self.critics):
            polyak_update(target.weights, critic.weights, tau)
        return loss

    def train_batches(self, batches, observations):
        """``gradient_steps`` updates, one per leading index of ``batches``, then the actor's actions
        for ``observations`` with the new weights (compiled as ``_train``)."""
        critic_loss, actor_loss = tf.constant(0.0), tf.constant(0.0)
        for index in tf.range(tf.shape(batches['rewards'])[0]):
            batch = {name: values[index] for name, values in batches.items()}
            critic_loss = self.critic_step(**batch)
            self.updates.assign_add(1)
            if self.updates % self.config.policy_delay == 0:
                actor_loss = self.actor_step(batch['observations'])
        return {'critic_loss': critic_loss, 'actor_loss': actor_loss}, self.greedy_actions(observations)

    def update(self):
        self.iterations += 1
        if self.iterations % self.config.train_frequency:
            return self.losses
        losses, greedy = self._train(self.sample_batches(self.config.gradient_steps), self.observations)
        self.weights_changed()
        self.keep_greedy(self.observations, greedy)
        return {name: float(value) for name, value in losses.items()}
