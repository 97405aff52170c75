"""Keras's Adam applied in one TensorFlow op per variable, inside a compiled training step."""

from __future__ import annotations

import keras
import tensorflow as tf


def apply_gradients(optimizer: keras.optimizers.Optimizer, gradients: list, variables: list) -> None:
    """``optimizer.apply_gradients(zip(gradients, variables))``, with Keras's plain Adam as one
    ``ResourceApplyAdam`` per variable (the op ``tf.keras`` 2's Adam ran).

    Keras 3 applies Adam as a dozen element-wise ops per variable, each a pass over the weights:
    on DQN's Pong update (1.7M weights, batch 32) that was ~12% of the update's CPU time, and the
    fused op takes 8% of it back (``benchmarks/dqn_pong_update.py``). Same update, same optimizer
    variables (checkpoints unchanged); the op computes ``1 - beta_1`` in float32 where Keras 3 does in
    float64, so the weights differ from Keras 3's in their last bits. Other optimizers, Adam with
    options the op lacks (amsgrad, weight decay, clipping, EMA, accumulation, loss scaling, constraints)
    and non-float32 or sparse gradients are applied by Keras.
    """
    if not fusable(optimizer, gradients, variables):
        optimizer.apply_gradients(zip(gradients, variables))
        return
    step = tf.cast(optimizer.iterations + 1, tf.float32)
    beta_1, beta_2 = tf.constant(optimizer.beta_1, tf.float32), tf.constant(optimizer.beta_2, tf.float32)
    moments = {
        'lr': tf.cast(optimizer.learning_rate, tf.float32),
        'beta1': beta_1,
        'beta2': beta_2,
        'beta1_power': tf.pow(beta_1, step),
        'beta2_power': tf.pow(beta_2, step),
        'epsilon': tf.constant(optimizer.epsilon, tf.float32),
    }
    for gradient, variable in zip(gradients, variables):
        index = optimizer._get_variable_index(variable)
        m, v = optimizer._momentums[index], optimizer._velocities[index]
        tf.raw_ops.ResourceApplyAdam(var=handle(variable), m=handle(m), v=handle(v), grad=gradient, **moments)
    optimizer.iterations.assign_add(1)


def fusable(optimizer, gradients, variables) -> bool:
    """Whether ``ResourceApplyAdam`` computes what ``optimizer`` would for these gradients."""
    return (
        type(optimizer) is keras.optimizers.Adam
        and optimizer.built
        and not optimizer.amsgrad
        and optimizer.weight_decay is None
        and optimizer.clipnorm is None
        and optimizer.clipvalue is None
        and optimizer.global_clipnorm is None
        and not optimizer.use_ema
        and not optimizer.gradient_accumulation_steps
        and optimizer.loss_scale_factor is None
        and all(isinstance(gradient, tf.Tensor) and gradient.dtype == tf.float32 for gradient in gradients)
        and all(
            variable.dtype == 'float32' and variable.constraint is None and not variable.overwrite_with_gradient
            for variable in variables
        )
    )


def handle(variable) -> tf.Tensor:
    """The resource handle of a Keras variable (or a TensorFlow one)."""
    return getattr(variable, 'value', variable).handle
