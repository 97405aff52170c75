"""Keras's Adam as one fused op per variable: the same update as Keras's own, up to rounding."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from xagents.nets import fused_adam


def adam_steps(apply, amsgrad=False, steps=3):
    """Weights and optimizer variables after ``steps`` updates by ``apply`` from fixed weights and gradients."""
    rng = np.random.default_rng(0)
    variables = [keras.Variable(rng.normal(size=shape).astype(np.float32)) for shape in ((6, 5), (5,))]
    optimizer = keras.optimizers.Adam(learning_rate=1e-2, beta_1=0.8, epsilon=1e-6, amsgrad=amsgrad)
    optimizer.build(variables)
    step = tf.function(lambda gradients: apply(optimizer, gradients, variables))
    for _ in range(steps):
        step([tf.constant(rng.normal(size=v.shape).astype(np.float32)) for v in variables])
    return [v.numpy() for v in variables + list(optimizer.variables)], optimizer


def keras_apply(optimizer, gradients, variables):
    optimizer.apply_gradients(zip(gradients, variables))


@pytest.mark.parametrize('amsgrad', [False, True])
def test_fused_adam_updates_as_keras_does(amsgrad):
    fused, optimizer = adam_steps(fused_adam.apply_gradients, amsgrad)
    reference, _ = adam_steps(keras_apply, amsgrad)
    assert fused_adam.fusable(optimizer, [tf.zeros(1)], []) is not amsgrad  # amsgrad: Keras applies it
    assert len(fused) == len(reference)
    for mine, theirs in zip(fused, reference):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-7)
    assert fused[2] == 3  # the optimizer's step count
