"""Off-policy actor-critics for bounded continuous actions: an actor and Q critics (TD3, DDPG, SAC)."""

from __future__ import annotations

import gymnasium as gym
import keras
import numpy as np
import tensorflow as tf

from xagents.core.off_policy import OffPolicy
from xagents.nets.multi_input import build_multi_input_model
from xagents.nets.observations import model_input_dtype
from xagents.nets.reader import ModelReader
from xagents.rl_math import polyak_update

# The critic's inputs of the action, beside the keys of Dict observations, and of Box observations
# other than vectors (images, tables).
ACTION_KEY, OBSERVATION_KEY = 'action', 'observation'


def critic_joins_vectors(space: gym.Space) -> bool:
    """Whether the critic of ``space`` reads one vector, the observation's and the action's concatenated."""
    return isinstance(space, gym.spaces.Box) and len(space.shape) == 1


class ContinuousOffPolicy(OffPolicy):
    """An actor and a Q critic (two with ``twin_critics``, the second built from the critic's model
    file and saved with it), each critic with a polyak-averaged target.

    Policies act in [-1, 1], mapped linearly onto the action bounds. Updates run every
    ``train_frequency`` vector steps, ``gradient_steps`` at a time (as in Stable-Baselines3), all
    of them in one compiled loop on batches drawn before it starts; the loop also computes the
    actor's outputs for the next observations with the new weights, which the next acting
    step takes instead of a call of its own. A subclass gives ``train_step`` and ``policy``.
    """

    model_roles = ('actor', 'critic')
    model_configs = ('actor', 'critic')
    takes_dict_observations = True
    # The losses ``train_step`` returns (the loop starts them at 0).
    loss_names: tuple[str, ...] = ()

    def __init__(self, envs, actor, critic, **kwargs):
        super().__init__(envs, actor, critic, **kwargs)
        self.actor, self.critic = actor, critic
        self.critics = [critic]
        if self.config.twin_critics:
            twin = keras.models.clone_model(critic, clone_function=_reseeded)
            twin.compile(optimizer=self.make_optimizer())
            twin.optimizer.build(twin.trainable_variables)
            self.critics.append(twin)
        self.target_critics = [self.target_of(model) for model in self.critics]
        self._train = self.compiled(self.train_batches)
        self._actor = self.compiled(self.actor_outputs)
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
            raise cls.action_space_error(envs, 'a bounded continuous (Box) action space')

    @classmethod
    def build_models(cls, envs, model_files=None, config=None):
        """The actor reads observations as other agents' models do. A vector critic reads observations
        and actions concatenated; any other (images, 2-D tables, Dict observations) reads the action as
        an input of its own (``ACTION_KEY``) joined to the observation's features before its dense
        layers: an image's from the convolutions of the critic's own file (a Dict's image keys: of the
        agent's ``cnn-critic.cfg``), as Stable-Baselines3's critics have CNNs of their own."""
        config = config or cls.Config()
        space, action_space = envs.single_observation_space, envs.single_action_space
        if isinstance(space, gym.spaces.Dict) and ACTION_KEY in space.spaces:
            raise ValueError(
                f"{cls.__name__} takes Dict observations without a key named {ACTION_KEY} (its critic's input "
                'of the action): choose other keys with --obs-keys, or rename it in a wrapper'
            )
        files = model_files or cls.default_model_files(space)
        if config.seed is not None:
            keras.utils.set_random_seed(config.seed)
        actor_units, critic_units = cls.output_units(envs, config)
        if isinstance(space, gym.spaces.Dict):
            critic_space = gym.spaces.Dict({**space.spaces, ACTION_KEY: action_space})
            return [
                build_multi_input_model(files[0], cls.cnn_file_for('actor'), actor_units, space, seed=config.seed),
                build_multi_input_model(
                    files[1], cls.cnn_file_for('critic'), critic_units, critic_space, seed=config.seed
                ),
            ]
        dtype = model_input_dtype(space)
        actor = ModelReader(files[0], actor_units, space.shape, seed=config.seed, input_dtype=dtype).build_model()
        if critic_joins_vectors(space):
            inputs = space.shape[0] + action_space.shape[0]
            return [actor, ModelReader(files[1], critic_units, inputs, seed=config.seed).build_model()]
        # The critic file's convolutions read an image, its dense layers come after the action joins.
        critic_space = gym.spaces.Dict({OBSERVATION_KEY: space, ACTION_KEY: action_space})
        critic = build_multi_input_model(
            files[1], lambda shape: files[1], critic_units, critic_space, seed=config.seed, dense_only=True
        )
        return [actor, critic]

    def trackables(self):
        objects = {'updates': self.updates}
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

    def random_actions(self, n=None, masks=None):  # masks: never given (Box actions take none)
        return self.rng.uniform(-1.0, 1.0, (n or self.n_envs, *self.action_space.shape)).astype(np.float32)

    def actor_outputs(self, observations):
        """The actor's outputs, in TensorFlow."""
        return self.actor(observations)

    def actor_outputs_now(self, observations: np.ndarray) -> np.ndarray:
        """The actor's outputs for ``observations`` with the current weights: those the last update
        computed for them, else from the host model, else from TensorFlow."""
        outputs = self.kept_greedy(observations)
        if outputs is None:
            actor = self.host('actor')
            outputs = self._actor(observations).numpy() if actor is None else actor(observations)[0]
        return outputs

    def explore(self, observations):
        return self.policy(observations, deterministic=False)

    # ---------------------------------------------------------------- learning
    def q_value(self, critic, observations, actions, training=False):
        if isinstance(observations, dict):  # the action is an input of its own
            inputs = {**observations, ACTION_KEY: actions}
        elif critic_joins_vectors(self.observation_space):
            inputs = tf.concat([observations, actions], -1)
        else:
            inputs = {OBSERVATION_KEY: observations, ACTION_KEY: actions}
        return tf.squeeze(critic(inputs, training=training), -1)

    def min_q(self, critics, observations, actions):
        """The smallest of ``critics``' values of ``actions``."""
        return tf.reduce_min(tf.stack([self.q_value(critic, observations, actions) for critic in critics]), 0)

    def fit_critics(self, observations, actions, targets):
        """One gradient step of each critic towards ``targets``; their mean squared error, averaged."""
        targets = tf.stop_gradient(targets)
        losses = [
            self.step_model(
                critic,
                lambda critic=critic: tf.reduce_mean(
                    tf.square(self.q_value(critic, observations, actions, True) - targets)
                ),
            )
            for critic in self.critics
        ]
        return tf.add_n(losses) / len(losses)

    def step_model(self, model, loss_function):
        """One optimizer step of ``model`` on ``loss_function()``; the loss."""
        with tf.GradientTape() as tape:
            loss = loss_function()
        gradients = tape.gradient(loss, model.trainable_variables)
        model.optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss

    def update_target_critics(self):
        for target, critic in zip(self.target_critics, self.critics):
            polyak_update(target.weights, critic.weights, self.config.tau)

    def train_step(self, batch: dict, losses: dict) -> dict:
        """One update on ``batch`` (in TensorFlow); the losses (``losses``: the previous step's)."""
        raise NotImplementedError

    def train_batches(self, batches, observations):
        """``gradient_steps`` updates, one per leading index of ``batches``, then the actor's outputs
        for ``observations`` with the new weights (compiled as ``_train``)."""
        losses = {name: tf.constant(0.0) for name in self.loss_names}
        for index in tf.range(tf.shape(batches['rewards'])[0]):
            losses = self.train_step(tf.nest.map_structure(lambda values, index=index: values[index], batches), losses)
        return losses, self.actor_outputs(observations)

    def update_from_replay(self):
        self.iterations += 1
        if self.iterations % self.config.train_frequency:
            return self.losses
        losses, outputs = self._train(self.sample_batches(self.config.gradient_steps), self.observations)
        self.weights_changed()
        self.keep_greedy(self.observations, outputs)
        return {name: float(value) for name, value in losses.items()}


# Added to the seeds of the twin critic's initializers: a seeded twin cloned with the critic's own
# seeds would start (and, trained on the same batches, stay) equal to it, and the minimum of the two
# would be one critic's value.
TWIN_SEED_OFFSET = 7919


def _reseeded(layer: keras.layers.Layer) -> keras.layers.Layer:
    """A new layer as ``layer``, its seeded initializers offset by :data:`TWIN_SEED_OFFSET`."""
    config = layer.get_config()
    for value in config.values():
        seed = value.get('config', {}).get('seed') if isinstance(value, dict) else None
        if isinstance(seed, int):
            value['config']['seed'] = seed + TWIN_SEED_OFFSET
    return type(layer).from_config(config)
