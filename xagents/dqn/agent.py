"""Deep Q-Network with the double, dueling, n-step and prioritized-replay extensions."""

from __future__ import annotations

import gymnasium as gym
import keras
import numpy as np
import tensorflow as tf

from xagents.core.masking import masked_logits, masked_logits_np, uniform_legal
from xagents.core.off_policy import OffPolicy
from xagents.dqn.config import BETA_STEPS, DECAY_STEPS, EXPLORATION_FRACTION, MODEL_ROLES, DQNConfig
from xagents.nets import fused_adam
from xagents.replay.buffers import ReplayBuffer
from xagents.replay.prioritized import PrioritizedReplayBuffer
from xagents.rl_math import q_targets


class DQN(OffPolicy):
    """DQN (Mnih et al. 2015, Nature 518) with options from Rainbow (Hessel et al. 2018).

    Epsilon-greedy exploration decaying linearly, Huber loss on targets from a target
    network copied every ``target_sync_steps`` steps. As in Stable-Baselines3, updates
    run every ``train_frequency`` vector steps, ``gradient_steps`` at a time, and
    gradients are clipped by global norm. Options, all combinable:

    - ``double`` (van Hasselt et al. 2016): the online network picks the next action.
    - ``dueling`` (Wang et al. 2016): the last layer gives one value and one advantage
      per action, ``Q = V + A - mean(A)``. Deviation: the two streams share the hidden
      layers of the model file and split only at the output layer.
    - ``n_step``: targets sum ``n`` discounted rewards (fewer at an episode end) and
      bootstrap with ``gamma ** n``; the buffer assembles them across vector envs.
    - ``prioritized`` (Schaul et al. 2016): proportional replay, losses weighted by
      importance weights with beta annealed to 1, priorities set to the |TD errors|.

    With action masks, acting is greedy over the legal actions and explores uniformly among them,
    and the targets' max (the online argmax with ``double``) runs over the next state's legal actions
    (the buffer keeps them; after a truncation, the final state's masks from ``info['final_info']`` where
    the env gives them in ``info``, else over all actions: the reset replaced an ``action_masks()`` method's).
    """

    Config = DQNConfig
    model_roles = MODEL_ROLES
    takes_masks = True
    model_configs = ('dqn',)
    takes_dict_observations = True

    def __init__(self, envs, model, **kwargs):
        super().__init__(envs, model, **kwargs)
        self.model = model
        self.target_model = keras.models.clone_model(model)
        self.target_model.set_weights(model.get_weights())
        self.iterations = 0
        self.last_sync = 0
        self._train_batches = self.compiled(self.train_batches)
        self._train = self.compiled(self.train_batch)
        self._greedy = self.compiled(self.greedy_actions)  # convolutional models, --no-host-inference

    @classmethod
    def output_units(cls, envs, config):
        return [[envs.single_action_space.n + config.dueling]]

    def make_buffer(self) -> ReplayBuffer:
        config = self.config
        if config.prioritized:
            return super().make_buffer(
                PrioritizedReplayBuffer, n_step=config.n_step, alpha=config.per_alpha, epsilon=config.per_epsilon
            )
        return super().make_buffer(n_step=config.n_step)

    @classmethod
    def check_envs(cls, envs):
        if not isinstance(envs.single_action_space, gym.spaces.Discrete):
            raise cls.action_space_error(envs, 'a discrete action space')

    def trackables(self):
        return {'target_model': self.target_model}

    def state(self):
        return {**super().state(), 'iterations': self.iterations, 'last_sync': self.last_sync}

    def load_state(self, state):
        super().load_state(state)
        self.iterations, self.last_sync = state['iterations'], state['last_sync']

    @property
    def epsilon_decay_steps(self) -> int:
        """``--epsilon-decay-steps``, else ``--exploration-fraction`` of the run's budget (as SB3's
        ``exploration_fraction``), else 150,000 steps for a run without one."""
        config = self.config
        if config.epsilon_decay_steps is not None:
            return config.epsilon_decay_steps
        fraction = EXPLORATION_FRACTION if config.exploration_fraction is None else config.exploration_fraction
        return DECAY_STEPS if self.budget is None else max(1, round(fraction * self.budget))

    @property
    def epsilon(self) -> float:
        config = self.config
        fraction = min(1.0, self.steps / self.epsilon_decay_steps)
        return config.epsilon_start + fraction * (config.epsilon_end - config.epsilon_start)

    @property
    def per_beta(self) -> float:
        """Beta annealed to 1 over ``--per-beta-steps``, else over the run's budget, else 100,000 steps."""
        config = self.config
        steps = config.per_beta_steps or self.budget or BETA_STEPS
        return config.per_beta + (1.0 - config.per_beta) * min(1.0, self.steps / steps)

    def q_values(self, model: keras.Model, observations, training: bool = False) -> tf.Tensor:
        outputs = model(observations, training=training)
        if not self.config.dueling:
            return outputs
        values, advantages = outputs[:, :1], outputs[:, 1:]
        return values + advantages - tf.reduce_mean(advantages, axis=-1, keepdims=True)

    def greedy_actions(self, observations, masks=None):
        q_values = self.q_values(self.model, observations)
        if masks is not None:
            q_values = masked_logits(q_values, masks)
        return tf.argmax(q_values, axis=-1, output_type=tf.int32)

    def policy(self, observations, *, deterministic, masks=None):
        """Greedy actions; with ``deterministic=False``, epsilon-greedy at the final epsilon
        (``epsilon_end``: what a trained agent explores with)."""
        return self.greedy_or_random(observations, None if deterministic else self.config.epsilon_end, masks)

    def explore(self, observations):
        return self.greedy_or_random(observations, self.epsilon, self.action_masks)

    def greedy_or_random(self, observations, epsilon: float | None, masks=None) -> np.ndarray:
        """Greedy actions, each replaced by a uniformly random one with probability ``epsilon`` (None:
        none); among the legal actions of ``masks`` when given."""
        # Computed by the last update, when it was for these observations (and without masks).
        actions = self.kept_greedy(observations) if masks is None else None
        if actions is None:
            model = self.host('model')
            if model is None:
                inputs = (observations,) if masks is None else (observations, masks)
                actions = self._greedy(*inputs).numpy()
            else:
                outputs = model(observations)[0]
                # The dueling combination adds the same amount to every action: the argmax is that of A.
                advantages = outputs[:, 1:] if self.config.dueling else outputs
                if masks is not None:
                    advantages = masked_logits_np(advantages, masks)
                actions = advantages.argmax(-1).astype(np.int32)
        if epsilon is not None:
            random = self.rng.random(len(actions)) < epsilon
            if random.any():
                if masks is None:
                    actions[random] = self.rng.integers(0, self.action_space.n, random.sum())
                else:
                    actions[random] = uniform_legal(masks[random], self.rng)
        return actions

    def gradient_step(
        self, observations, actions, rewards, next_observations, terminals, discounts, weights=None, next_masks=None
    ):
        next_target_q = self.q_values(self.target_model, next_observations)
        next_online_q = self.q_values(self.model, next_observations) if self.config.double else None
        if next_masks is not None:
            next_target_q = masked_logits(next_target_q, next_masks)
            next_online_q = None if next_online_q is None else masked_logits(next_online_q, next_masks)
        targets = tf.stop_gradient(q_targets(rewards, terminals, next_target_q, discounts, next_online_q))
        variables = self.model.trainable_variables
        with tf.GradientTape() as tape:
            q_all = self.q_values(self.model, observations, training=True)
            q_values = tf.gather(q_all, tf.cast(actions, tf.int32), batch_dims=1)
            huber = keras.losses.huber(targets[:, None], q_values[:, None])
            loss = tf.reduce_mean(huber if weights is None else weights * huber)
        gradients = tape.gradient(loss, variables)
        if self.config.grad_norm is not None:
            gradients, _ = tf.clip_by_global_norm(gradients, self.config.grad_norm)
        if self.xla_updates:  # XLA fuses Keras's Adam itself: the op was no faster there (xla-flags.json)
            self.model.optimizer.apply_gradients(zip(gradients, variables))
        else:
            fused_adam.apply_gradients(self.model.optimizer, gradients, variables)
        return {'loss': loss, 'q': tf.reduce_mean(q_values)}, targets - q_values

    def train_batch(self, batch):
        """One update on ``batch`` (compiled as ``_train``): the losses and the TD errors."""
        return self.gradient_step(**batch)

    def train_batches(self, batches, observations):
        """``gradient_steps`` updates, one per leading index of ``batches``, then the greedy actions
        for ``observations`` with the new weights (compiled as ``_train_batches``)."""
        losses = {'loss': tf.constant(0.0), 'q': tf.constant(0.0)}
        for index in tf.range(tf.shape(batches['rewards'])[0]):
            losses, _ = self.gradient_step(**tf.nest.map_structure(lambda values, index=index: values[index], batches))
        return losses, self.greedy_actions(observations)

    def train_steps(self) -> tuple[dict[str, tf.Tensor], tf.Tensor | None]:
        """``gradient_steps`` gradient steps on sampled batches; the losses, and the greedy actions
        for the current observations where the compiled loop computed them.

        Uniform replay draws every batch at once and runs the steps in one compiled loop;
        prioritized replay samples each batch after the previous step's priority update.
        """
        if not self.config.prioritized:
            return self._train_batches(self.sample_batches(self.config.gradient_steps), self.observations)
        for _ in range(self.config.gradient_steps):
            batch = self.sample(beta=self.per_beta)
            indices = batch.pop('indices')
            losses, td_errors = self._train(batch)
            self.buffer.update_priorities(indices, td_errors.numpy())
        return losses, None

    def update_from_replay(self):
        self.iterations += 1
        if self.iterations % self.config.train_frequency:
            return self.losses
        losses, greedy = self.train_steps()
        self.weights_changed()
        if greedy is not None:
            self.keep_greedy(self.observations, greedy)
        if self.steps - self.last_sync >= self.config.target_sync_steps:
            self.target_model.set_weights(self.model.get_weights())
            self.last_sync = self.steps
        return {**{name: value.numpy() for name, value in losses.items()}, 'epsilon': self.epsilon}
