"""Several dense models of one architecture evaluated as one: their weights stacked, one batched op per layer."""

from __future__ import annotations

import keras
import tensorflow as tf


def dense_chain(model: keras.Model) -> list[keras.layers.Dense] | None:
    """``model``'s Dense layers when it is one input followed by Dense layers only, in a chain; else None."""
    layers = model.layers
    if not layers or not isinstance(layers[0], keras.layers.InputLayer) or len(getattr(model, 'inputs', [])) != 1:
        return None
    dense = layers[1:]
    if not dense or not all(isinstance(layer, keras.layers.Dense) for layer in dense):
        return None
    previous = model.inputs[0]
    for layer in dense:  # each layer reads the previous one's output (a chain, no branches)
        if layer.input is not previous:
            return None
        previous = layer.output
    return dense


def stackable(models: list[keras.Model]) -> list[list[keras.layers.Dense]] | None:
    """The Dense layers of each of ``models`` when all are dense chains of the same shapes and activations."""
    chains = [dense_chain(model) for model in models]
    if len(models) < 2 or any(chain is None for chain in chains):
        return None
    first = chains[0]
    for chain in chains[1:]:
        if len(chain) != len(first):
            return None
        for layer, other in zip(chain, first):
            same = layer.kernel.shape == other.kernel.shape and layer.activation is other.activation
            if not same or layer.use_bias != other.use_bias:
                return None
    return chains


def stacked_outputs(chains: list[list[keras.layers.Dense]], inputs: tf.Tensor) -> tf.Tensor:
    """The outputs of the models whose Dense layers are ``chains`` for the same ``inputs`` (batch, features),
    stacked: (models, batch, outputs). Two critics cost one wider matrix product for their first layer and
    one batched product for each further layer, instead of one product per model and layer."""
    x = None
    for layers in zip(*chains):
        kernels = tf.stack([layer.kernel.value for layer in layers])
        x = tf.einsum('bi,kio->kbo', inputs, kernels) if x is None else tf.matmul(x, kernels)
        if layers[0].use_bias:
            x = x + tf.stack([layer.bias.value for layer in layers])[:, None, :]
        x = layers[0].activation(x)
    return x
