"""The math the agents share, each function tested against a naive loop or hand-computed numbers.

Return and target estimators, the polyak update, and the trust-region pieces (flat parameter
vectors, conjugate gradient, a KL line search).

Arrays are time-major ``(n_steps, n_envs)``. ``dones[t]`` says the episode ended with
the transition at step ``t`` (terminated; truncation is folded into the reward by the
loop), so nothing is bootstrapped across it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf


def generalized_advantages(
    rewards: np.ndarray,
    values: np.ndarray,
    dones: np.ndarray,
    last_values: np.ndarray,
    gamma: float,
    lam: float,
) -> np.ndarray:
    """Generalized advantage estimation (Schulman et al. 2015)."""
    advantages = np.empty_like(rewards, dtype=np.float32)
    running = np.zeros(rewards.shape[1:], np.float32)
    next_values = last_values.astype(np.float32)
    for t in reversed(range(len(rewards))):
        not_done = 1.0 - dones[t]
        delta = rewards[t] + gamma * next_values * not_done - values[t]
        running = delta + gamma * lam * not_done * running
        advantages[t] = running
        next_values = values[t]
    return advantages


def rollout_advantages(rollout: dict[str, np.ndarray], gamma: float, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """GAE advantages and the returns ``advantages + values`` of an on-policy rollout, both time-major."""
    advantages = generalized_advantages(
        rollout['rewards'], rollout['values'], rollout['dones'], rollout['last_values'], gamma, lam
    )
    return advantages, advantages + rollout['values']


def flatten_time(array: np.ndarray) -> np.ndarray:
    """A time-major ``(n_steps, n_envs, ...)`` array (or dict of them) as one batch ``(n_steps * n_envs, ...)``."""
    if isinstance(array, dict):
        return {key: flatten_time(value) for key, value in array.items()}
    return array.reshape(-1, *array.shape[2:])


def q_targets(
    rewards: tf.Tensor,
    terminals: tf.Tensor,
    next_target_q: tf.Tensor,
    gamma: float | tf.Tensor,
    next_online_q: tf.Tensor | None = None,
) -> tf.Tensor:
    """Q-learning targets ``r + gamma * (1 - terminal) * Q'(s', a*)``.

    ``gamma`` is a float or per-sample discounts (``gamma ** n`` for n-step reward
    sums). DQN (Mnih et al. 2015) takes the target network's maximum; double DQN (van
    Hasselt et al. 2016) passes ``next_online_q`` so the online network picks the
    action and the target network values it.
    """
    if next_online_q is None:
        next_values = tf.reduce_max(next_target_q, axis=-1)
    else:
        best = tf.argmax(next_online_q, axis=-1, output_type=tf.int32)
        next_values = tf.gather(next_target_q, best, batch_dims=1)
    return rewards + gamma * (1.0 - tf.cast(terminals, rewards.dtype)) * next_values


def retrace_targets(
    rewards: tf.Tensor,
    dones: tf.Tensor,
    q_taken: tf.Tensor,
    values: tf.Tensor,
    truncated_ratios: tf.Tensor,
    bootstrap: tf.Tensor,
    gamma: float,
) -> tf.Tensor:
    """Retrace targets ``Q^ret`` (Munos et al. 2016) as ACER computes them (Wang et al. 2017, eq. 5).

    Backwards from ``Q^ret = bootstrap`` (the value of the state after the last step):
    ``Q^ret_t = r_t + gamma * (1 - done_t) * (rho_{t+1} * (Q^ret_{t+1} - Q_{t+1}) + V_{t+1})``
    with ``rho`` the importance weights truncated at 1 (``truncated_ratios``), ``Q``
    the values of the actions taken and ``V`` the state values. Time-major
    ``(n_steps, n_envs)`` tensors; the number of steps must be static.
    """
    gamma = tf.cast(gamma, rewards.dtype)
    dones = tf.cast(dones, rewards.dtype)
    target = bootstrap
    targets = []
    for t in reversed(range(rewards.shape[0])):
        target = rewards[t] + gamma * (1.0 - dones[t]) * target
        targets.append(target)
        target = truncated_ratios[t] * (target - q_taken[t]) + values[t]
    return tf.stack(targets[::-1])


def polyak_update(targets: list[tf.Variable], sources: list[tf.Variable], tau: float) -> None:
    """Move each target variable a fraction ``tau`` of the way to its source: ``t <- (1 - tau) t + tau s``."""
    for target, source in zip(targets, sources):
        target.assign((1.0 - tau) * target + tau * source)


def smoothed_target_actions(actions: tf.Tensor, noise: tf.Tensor, noise_clip: float) -> tf.Tensor:
    """TD3's target policy smoothing: add noise clipped to ``±noise_clip``, then keep actions in [-1, 1]."""
    return tf.clip_by_value(actions + tf.clip_by_value(noise, -noise_clip, noise_clip), -1.0, 1.0)


# ------------------------------------------------------------ trust region (TRPO)
def flat_concat(tensors: list[tf.Tensor]) -> tf.Tensor:
    """All ``tensors`` as one vector."""
    return tf.concat([tf.reshape(tensor, [-1]) for tensor in tensors], axis=0)


def assign_flat(variables: list[tf.Variable], flat: tf.Tensor) -> None:
    """Set ``variables`` from one vector laid out as :func:`flat_concat` lays them out."""
    start = 0
    for variable in variables:
        size = tf.size(variable)
        variable.assign(tf.reshape(flat[start : start + size], tf.shape(variable)))
        start += size


def conjugate_gradient(
    matvec: Callable[[tf.Tensor], tf.Tensor],
    b: tf.Tensor,
    iterations: int,
    residual_tolerance: float = 1e-10,
) -> tf.Tensor:
    """Approximately solve ``A x = b`` for a symmetric positive definite ``A`` given as ``matvec``.

    Stops after ``iterations`` steps or once the squared residual norm falls below
    ``residual_tolerance``. Works eagerly and inside ``tf.function``.
    """
    x = tf.zeros_like(b)
    residual = b
    direction = b
    residual_norm = tf.tensordot(residual, residual, 1)
    for _ in tf.range(iterations):
        if residual_norm < residual_tolerance:
            break
        product = matvec(direction)
        alpha = residual_norm / (tf.tensordot(direction, product, 1) + 1e-12)
        x += alpha * direction
        residual -= alpha * product
        new_norm = tf.tensordot(residual, residual, 1)
        direction = residual + (new_norm / residual_norm) * direction
        residual_norm = new_norm
    return x


def line_search(
    evaluate: Callable[[float], tuple[float, float]],
    max_kl: float,
    iterations: int,
    shrink: float = 0.5,
) -> float:
    """The largest step fraction ``shrink**k`` (``k < iterations``) that improves the surrogate within the KL bound.

    ``evaluate(fraction)`` applies that fraction of the full step and returns the
    surrogate improvement and the mean KL divergence from the old policy. A fraction
    is accepted only when the improvement is positive and the KL is at most
    ``max_kl``; when none is, 0.0 is returned and the caller keeps the old parameters.
    """
    fraction = 1.0
    for _ in range(iterations):
        improvement, kl = evaluate(fraction)
        if kl <= max_kl and improvement > 0:
            return fraction
        fraction *= shrink
    return 0.0
