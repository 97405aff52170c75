"""Trust Region Policy Optimization."""

from __future__ import annotations

import tensorflow as tf

from xagents.core.actor_critic import ActorCritic
from xagents.rl_math import assign_flat, conjugate_gradient, flat_concat, flatten_time, line_search, rollout_advantages
from xagents.trpo.config import MODEL_ROLES, TRPOConfig


class TRPO(ActorCritic):
    """TRPO (Schulman et al. 2015, arXiv:1502.05477) with separate actor and critic models.

    Each rollout gives one natural-gradient step of the actor: the surrogate gradient
    is multiplied by the inverse Fisher matrix by conjugate gradient (Fisher-vector
    products from the Hessian of the mean KL, on every ``fvp_n_steps``-th transition,
    plus ``cg_damping``), scaled so that the quadratic KL estimate equals ``max_kl``,
    then shrunk by halves until the surrogate improves and the measured KL is within
    ``max_kl`` (at most ``actor_iterations`` tries; none accepted keeps the old policy).

    Deviations from the paper, as in OpenAI baselines: advantages come from GAE
    (``lam``; the paper uses Monte Carlo returns, which ``lam=1`` matches), are
    normalized per rollout, the surrogate may carry an entropy bonus, and the critic is
    a separate network fitted by Adam for ``critic_iterations`` epochs of
    ``mini_batches`` minibatches rather than by the paper's constrained regression.
    """

    Config = TRPOConfig
    graph_hyperparameters = ('entropy_coef',)
    model_roles = MODEL_ROLES
    model_configs = ('actor', 'critic')

    def __init__(self, envs, actor, critic, **kwargs):
        super().__init__(envs, actor, critic, **kwargs)
        self.actor, self.critic = self.models['actor'], self.models['critic']
        self.minibatch_size = self.rollout_minibatch_size(self.config.mini_batches)

    @classmethod
    def output_units(cls, envs, config):
        return [[cls.policy_units(envs)], [1]]

    def actor_outputs(self, observations, training=False) -> list[tf.Tensor]:
        outputs = self.actor(observations, training=training)
        return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]

    def policy_and_values(self, observations, training=False, masks=None):
        values = tf.squeeze(self.critic(observations, training=training), -1)
        return self.make_distribution(self.actor_outputs(observations, training), masks), values

    def policy_distribution(self, observations, masks=None):
        return self.make_distribution(self.actor_outputs(observations), masks)

    def host_policy_and_values(self, observations):
        actor, critic = self.host('actor'), self.host('critic')
        if actor is None or critic is None:
            return None
        return actor(observations), critic(observations)[0][:, 0]

    def update(self, rollout):
        config = self.config
        advantages, returns = rollout_advantages(rollout, config.gamma, config.lam)
        advantages = (advantages - advantages.mean()) / (advantages.std() + config.advantage_epsilon)
        flat = lambda array: tf.nest.map_structure(tf.constant, flatten_time(array))  # noqa: E731
        observations, actions = flat(rollout['observations']), flat(rollout['actions'])
        old_log_probs, advantages = flat(rollout['log_probs']), flat(advantages)
        old_outputs = self.actor_outputs(observations)
        masks = flat(rollout['action_masks']) if 'action_masks' in rollout else None
        step, surrogate = self._natural_step(observations, actions, old_log_probs, advantages, old_outputs, masks)
        parameters = flat_concat(self.actor.trainable_variables)
        measured = {}

        def evaluate(fraction):
            assign_flat(self.actor.trainable_variables, parameters + fraction * step)
            surrogate_after, kl = self._surrogate_and_kl(
                observations, actions, old_log_probs, advantages, old_outputs, masks
            )
            measured.update(surrogate_gain=float(surrogate_after - surrogate), kl=float(kl))
            return measured['surrogate_gain'], measured['kl']

        fraction = line_search(evaluate, config.max_kl, config.actor_iterations)
        if fraction == 0.0:
            assign_flat(self.actor.trainable_variables, parameters)
            measured = {'surrogate_gain': 0.0, 'kl': 0.0}
        value_loss = self._fit_critic(observations, flat(returns))
        return {**measured, 'step_fraction': fraction, 'value_loss': float(value_loss)}

    def surrogate(self, observations, actions, old_log_probs, advantages, masks=None):
        distribution = self.make_distribution(self.actor_outputs(observations, training=True), masks)
        ratio = tf.exp(distribution.log_prob(actions) - old_log_probs)
        entropy = tf.reduce_mean(distribution.entropy())
        return tf.reduce_mean(ratio * advantages) + self.graph_values['entropy_coef'] * entropy, distribution

    @tf.function(reduce_retracing=True)
    def _surrogate_and_kl(self, observations, actions, old_log_probs, advantages, old_outputs, masks=None):
        surrogate, distribution = self.surrogate(observations, actions, old_log_probs, advantages, masks)
        kl = tf.reduce_mean(self.make_distribution(old_outputs, masks).kl(distribution))
        return surrogate, kl

    @tf.function(reduce_retracing=True)
    def _natural_step(self, observations, actions, old_log_probs, advantages, old_outputs, masks=None):
        config = self.config
        variables = self.actor.trainable_variables
        with tf.GradientTape() as tape:
            surrogate, _ = self.surrogate(observations, actions, old_log_probs, advantages, masks)
        gradient = flat_concat(tape.gradient(surrogate, variables))
        fvp_observations = tf.nest.map_structure(lambda tensor: tensor[:: config.fvp_n_steps], observations)
        fvp_masks = None if masks is None else masks[:: config.fvp_n_steps]
        old_distribution = self.make_distribution([output[:: config.fvp_n_steps] for output in old_outputs], fvp_masks)

        def fisher_vector_product(vector):
            with tf.GradientTape() as outer:
                with tf.GradientTape() as inner:
                    outputs = self.actor_outputs(fvp_observations, training=True)
                    distribution = self.make_distribution(outputs, fvp_masks)
                    kl = tf.reduce_mean(old_distribution.kl(distribution))
                kl_gradient = flat_concat(inner.gradient(kl, variables))
                projection = tf.tensordot(kl_gradient, tf.stop_gradient(vector), 1)
            return flat_concat(outer.gradient(projection, variables)) + config.cg_damping * vector

        direction = conjugate_gradient(
            fisher_vector_product, gradient, config.cg_iterations, config.cg_residual_tolerance
        )
        curvature = tf.tensordot(direction, fisher_vector_product(direction), 1)
        scale = tf.sqrt(2.0 * config.max_kl / (curvature + 1e-12))
        return scale * direction, surrogate

    @tf.function(reduce_retracing=True)
    def _fit_critic(self, observations, returns):
        size = tf.shape(returns)[0]
        variables = self.critic.trainable_variables
        loss = tf.constant(0.0)
        for _ in tf.range(self.config.critic_iterations):
            order = tf.argsort(self.tf_rng.uniform([size]))
            for batch in tf.range(self.config.mini_batches):
                indices = order[batch * self.minibatch_size : (batch + 1) * self.minibatch_size]
                batch_observations = tf.nest.map_structure(
                    lambda tensor, indices=indices: tf.gather(tensor, indices), observations
                )
                batch_returns = tf.gather(returns, indices)
                with tf.GradientTape() as tape:
                    values = tf.squeeze(self.critic(batch_observations, training=True), -1)
                    loss = 0.5 * tf.reduce_mean(tf.square(batch_returns - values))
                self.critic.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss
