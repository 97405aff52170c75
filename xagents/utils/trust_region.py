"""Trust-region helpers: flat parameter vectors, conjugate gradient and a KL line search."""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf


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
