"""Actor-Critic with Experience Replay."""

from __future__ import annotations

import gymnasium as gym
import keras
import numpy as np
import tensorflow as tf

from xagents.acer.config import MODEL_ROLES, ACERConfig
from xagents.core.actor_critic import ActorCritic
from xagents.nets.distributions import Categorical, host_act, log_softmax
from xagents.replay.segments import SegmentBuffer
from xagents.rl_math import retrace_targets

EPSILON = 1e-6


def truncated_importance_objective(probs, behaviour_probs, actions, q_values, q_retrace, importance_c):
    """ACER's policy objective per sample (Wang et al. 2017, eq. 9), to maximize.

    ``min(c, rho_a) * log pi(a) * (Q^ret - V)`` for the action taken plus the bias
    correction ``sum_b [1 - c / rho_b]_+ * pi(b) * log pi(b) * (Q(b) - V)`` over all
    actions, with ``rho = pi / mu`` and ``V = sum_b pi(b) Q(b)``. Only the ``log pi``
    factors carry gradients. Shapes: ``probs``, ``behaviour_probs``, ``q_values``
    ``(batch, actions)``; ``actions``, ``q_retrace`` ``(batch,)``.
    """
    ratios = tf.stop_gradient(probs / (behaviour_probs + EPSILON))
    log_probs = tf.math.log(probs + EPSILON)
    values = tf.reduce_sum(tf.stop_gradient(probs) * q_values, axis=-1)
    ratio_taken = tf.gather(ratios, actions, batch_dims=1)
    advantage = tf.stop_gradient(q_retrace - values)
    truncated = tf.minimum(importance_c, ratio_taken) * tf.gather(log_probs, actions, batch_dims=1) * advantage
    correction_weights = tf.stop_gradient(
        tf.nn.relu(1.0 - importance_c / (ratios + EPSILON)) * probs * (q_values - values[:, None])
    )
    correction = tf.reduce_sum(correction_weights * log_probs, axis=-1)
    return truncated + correction


def trust_region_gradient(gradient, probs, average_probs, delta):
    """Project the objective's gradient w.r.t. the policy probabilities into ACER's trust region (eq. 12).

    ``k`` is the gradient of ``KL(average || pi)`` w.r.t. ``pi``; the part of
    ``gradient`` along ``k`` is removed beyond ``delta``, per sample.
    """
    k = -average_probs / (probs + EPSILON)
    excess = tf.nn.relu((tf.reduce_sum(k * gradient, -1) - delta) / (tf.reduce_sum(k * k, -1) + EPSILON))
    return gradient - excess[:, None] * k


class ACER(ActorCritic):
    """ACER for discrete actions (Wang et al. 2017, arXiv:1611.01224).

    Each iteration collects a segment of ``n_steps`` steps from every env, trains on
    it, stores it whole, then trains on a Poisson(``replay_ratio``) number of replayed
    segments. The model has two heads: policy logits and Q-values; ``V = sum pi Q``.
    The critic regresses on Retrace targets; the policy gradient uses importance
    weights truncated at ``importance_c`` with the bias-correction term; with
    ``trust_region`` the gradient w.r.t. the policy probabilities is projected against
    the KL to an exponential moving average of the model (``ema_alpha``) with bound
    ``delta``. As in the paper's discrete experiments; Adam replaces RMSProp.
    """

    Config = ACERConfig
    graph_hyperparameters = ('entropy_coef',)
    model_roles = MODEL_ROLES
    takes_masks = False  # its replayed Retrace targets have no masked form here

    def __init__(self, envs, model, **kwargs):
        super().__init__(envs, model, **kwargs)
        self.model = self.models['model']
        self.average_model = keras.models.clone_model(self.model)
        self.average_model.set_weights(self.model.get_weights())
        config = self.config
        self.buffer = SegmentBuffer(
            config.buffer_max_size,
            config.n_steps,
            self.n_envs,
            seed=None if config.seed is None else config.seed + 1,
        )

    @classmethod
    def check_envs(cls, envs):
        if not isinstance(envs.single_action_space, gym.spaces.Discrete):
            raise cls.action_space_error(envs, 'a discrete action space')

    @classmethod
    def output_units(cls, envs, config):
        actions = envs.single_action_space.n
        return [[actions, actions]]

    @property
    def replay_buffer(self) -> SegmentBuffer:
        return self.buffer

    def state(self) -> dict:
        return {**super().state(), 'buffer_count': self.buffer.count}

    def trackables(self):
        return {'average_model': self.average_model}

    def policy_and_values(self, observations, training=False):
        logits, q_values = self.model(observations, training=training)
        return Categorical(logits), tf.reduce_sum(tf.nn.softmax(logits) * q_values, axis=-1)

    def policy_distribution(self, observations):
        return Categorical(self.model(observations)[0])

    @tf.function(reduce_retracing=True)
    def _sample(self, observations):
        logits = self.model(observations)[0]
        return Categorical(logits).sample(self.tf_rng), tf.nn.softmax(logits)

    def host_policy_and_values(self, observations):
        model = self.host('model')
        if model is None:
            return None
        logits, q_values = model(observations)
        return [logits], (np.exp(log_softmax(logits)) * q_values).sum(-1)

    def rollout_step(self, observations):
        model = self.host('model')
        if model is None:
            actions, probs = self._sample(observations)
            return actions.numpy(), {'behaviour_probs': probs.numpy()}
        logits = model(observations)[0]
        actions, _ = host_act(Categorical, [logits], self.rng, deterministic=False)
        return actions, {'behaviour_probs': np.exp(log_softmax(logits))}

    def segment(self, rollout) -> dict:
        """A rollout as it is trained on and stored: ``n_steps + 1`` observations (the last bootstraps the
        returns; one array per key of a Dict, each in its dtype), actions, rewards, dones and the behaviour
        policy's probabilities."""
        with_last = lambda steps, last: np.concatenate([steps, last[None]])  # noqa: E731
        return {
            'observations': tf.nest.map_structure(with_last, rollout['observations'], rollout['last_observations']),
            'actions': rollout['actions'].astype(np.int32),
            'rewards': rollout['rewards'].astype(np.float32),
            'dones': rollout['dones'],
            'behaviour_probs': rollout['behaviour_probs'],
        }

    def train_iteration(self):
        segment = self.segment(self.collect_rollout())
        self.buffer.add(segment)
        losses = self._train(**segment)
        if len(self.buffer) >= self.config.buffer_initial_size:
            for _ in range(self.rng.poisson(self.config.replay_ratio)):
                losses = self._train(**self.buffer.sample())
        self.weights_changed()
        return {name: value.numpy() for name, value in losses.items()}

    def segment_losses(self, flat_observations, actions, rewards, dones, behaviour_probs):
        """ACER's losses on a segment, inside the update's tape (the policy gradient is eq. 9).

        ``flat_observations`` are the segment's ``n_steps + 1`` steps of every env, flattened;
        ``actions`` and ``behaviour_probs`` are flattened, ``rewards`` and ``dones`` are
        ``(n_steps, n_envs)``. Returns the losses to log, then what the gradients are taken
        of: the policy probabilities, the summed objective and the weighted value loss.
        """
        config = self.config
        n_steps, n_envs = rewards.shape[0], tf.shape(rewards)[1]
        batch = n_steps * n_envs
        logits, q_all = self.model(flat_observations, training=True)
        probs = tf.nn.softmax(logits[:batch])
        q_values = q_all[:batch]
        all_values = tf.stop_gradient(tf.reduce_sum(tf.nn.softmax(logits) * q_all, axis=-1))
        q_taken = tf.gather(q_values, actions, batch_dims=1)
        ratios = tf.gather(tf.stop_gradient(probs) / (behaviour_probs + EPSILON), actions, batch_dims=1)
        unflat = lambda tensor: tf.reshape(tensor, [n_steps, n_envs])  # noqa: E731
        q_retrace = retrace_targets(
            rewards,
            dones,
            unflat(tf.stop_gradient(q_taken)),
            unflat(all_values[:batch]),
            unflat(tf.minimum(1.0, ratios)),
            all_values[batch:],
            config.gamma,
        )
        q_retrace = tf.stop_gradient(tf.reshape(q_retrace, [batch]))
        entropies = -tf.reduce_sum(probs * tf.math.log(probs + EPSILON), axis=-1)
        objective = truncated_importance_objective(
            probs, behaviour_probs, actions, tf.stop_gradient(q_values), q_retrace, config.importance_c
        )
        objective += self.graph_values['entropy_coef'] * entropies
        value_loss = 0.5 * tf.reduce_mean(tf.square(q_retrace - q_taken))
        policy_loss = -tf.reduce_mean(objective)
        weighted_value_loss = config.value_loss_coef * value_loss
        losses = {
            'loss': policy_loss + weighted_value_loss,
            'policy_loss': policy_loss,
            'value_loss': value_loss,
            'entropy': tf.reduce_mean(entropies),
        }
        return losses, probs, tf.reduce_sum(objective), weighted_value_loss

    @tf.function(reduce_retracing=True)
    def _train(self, observations, actions, rewards, dones, behaviour_probs):
        config = self.config
        n_steps, n_envs = actions.shape[0], tf.shape(actions)[1]
        batch = n_steps * n_envs
        flat_observations = tf.nest.map_structure(
            lambda tensor: tf.reshape(tensor, tf.concat([[-1], tf.shape(tensor)[2:]], 0)), observations
        )  # one tensor per key of a Dict
        flat = lambda tensor: tf.reshape(tensor, tf.concat([[batch], tf.shape(tensor)[2:]], 0))  # noqa: E731
        actions, behaviour_probs = flat(actions), flat(behaviour_probs)
        variables = self.model.trainable_variables
        with tf.GradientTape(persistent=config.trust_region) as tape:
            losses, probs, objective_sum, weighted_value_loss = self.segment_losses(
                flat_observations, actions, rewards, dones, behaviour_probs
            )
        if config.trust_region:
            stepped = tf.nest.map_structure(lambda tensor: tensor[:batch], flat_observations)
            average_probs = tf.nn.softmax(self.average_model(stepped)[0])
            probs_gradient = tape.gradient(objective_sum, probs)
            probs_gradient = trust_region_gradient(probs_gradient, probs, average_probs, config.delta)
            batch_size = tf.cast(batch, tf.float32)
            policy_gradients = tape.gradient(probs, variables, output_gradients=-probs_gradient / batch_size)
            value_gradients = tape.gradient(weighted_value_loss, variables)
            gradients = [
                value if policy is None else policy if value is None else policy + value
                for policy, value in zip(policy_gradients, value_gradients)
            ]
            del tape
        else:
            gradients = tape.gradient(losses['loss'], variables)
        gradients, _ = tf.clip_by_global_norm(gradients, config.grad_norm)
        self.model.optimizer.apply_gradients(zip(gradients, variables))
        for average, variable in zip(self.average_model.weights, self.model.weights):
            average.assign(config.ema_alpha * average + (1.0 - config.ema_alpha) * variable)
        return losses
