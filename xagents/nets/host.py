"""Dense Keras models evaluated in NumPy on the host, for per-step acting (Dict observations too)."""

from __future__ import annotations

import keras
import numpy as np

from xagents.nets.multi_input import Floats, OneHots
from xagents.nets.reader import LogStd


def _sigmoid(x):
    return 0.5 * (np.tanh(0.5 * x) + 1.0)


# NumPy versions of the activations a host model can run; others keep the model in TensorFlow.
HOST_ACTIVATIONS = {
    keras.activations.linear: lambda x: x,
    keras.activations.relu: lambda x: np.maximum(x, 0.0),
    keras.activations.tanh: np.tanh,
    keras.activations.sigmoid: _sigmoid,
    keras.activations.elu: lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
    keras.activations.softplus: lambda x: np.logaddexp(x, 0.0),
    keras.activations.swish: lambda x: x * _sigmoid(x),
}


class HostModel:
    """A dense Keras model evaluated in NumPy on the host, for per-step acting.

    Calling a compiled TensorFlow function costs a few hundred microseconds whatever the
    model's size; the small dense models of classic-control and MuJoCo tasks take tens
    of microseconds in NumPy. A host model reads the model's weights when ``refresh``
    is called (the agent does so after its weights change) and returns the model's
    outputs, in order, as float32 arrays. The models of Dict observations (one input per key,
    each key's one-hot or float features joined) are evaluated the same way. Models with other
    layers (convolutions) or activations stay in TensorFlow: ``HostModel.of`` returns None for them.
    """

    def __init__(self, model: keras.Model, plan: list[tuple], first_input: str):
        self.model, self.plan, self.first_input = model, plan, first_input
        self.weights: dict[int, list[np.ndarray]] = {}
        self.refresh()

    @classmethod
    def of(cls, model: keras.Model) -> HostModel | None:
        """The host version of ``model``, or None when one of its layers has no NumPy version."""
        plan, keys = [], {}
        inputs = getattr(model, 'inputs', None) or []
        if not inputs:
            return None

        def visit(tensor) -> str | int | None:
            if id(tensor) in keys:
                return keys[id(tensor)]
            operation, node_index, _ = tensor._keras_history
            parents = operation._inbound_nodes[node_index].input_tensors
            if isinstance(operation, keras.layers.InputLayer):
                key = operation.name  # (Dict observations: the key's name)
            elif not cls.supports(operation) or (1 < len(parents) and not cls.joins(operation)):
                return None
            elif None in (parent_keys := [visit(parent) for parent in parents]):
                return None
            else:
                key = len(plan)
                plan.append((key, operation, parent_keys))
            keys[id(tensor)] = key
            return key

        outputs = [visit(tensor) for tensor in model.outputs]
        if any(key is None for key in outputs):
            return None
        return cls(model, [*plan, ('outputs', outputs)], inputs[0]._keras_history[0].name)

    @staticmethod
    def supports(layer: keras.layers.Layer) -> bool:
        if isinstance(layer, keras.layers.Dense):
            return layer.activation in HOST_ACTIVATIONS
        kinds = (keras.layers.Flatten, keras.layers.Rescaling, LogStd, OneHots, Floats, keras.layers.Concatenate)
        return isinstance(layer, kinds)

    @staticmethod
    def joins(layer: keras.layers.Layer) -> bool:
        """Whether ``layer`` takes several tensors (the features of Dict observations' keys)."""
        return isinstance(layer, keras.layers.Concatenate)

    def refresh(self) -> None:
        """Read the model's current weights."""
        for _, layer, _ in self.plan[:-1]:
            self.weights[id(layer)] = [np.asarray(weight.numpy(), np.float32) for weight in layer.weights]

    def __call__(self, inputs) -> list[np.ndarray]:
        """The model's outputs for a batch: one array, or a dict of arrays (one per key) of Dict observations."""
        if isinstance(inputs, dict):
            values = dict(inputs)  # each key's layer makes it float32
        else:
            values = {self.first_input: np.asarray(inputs, np.float32)}
        for key, layer, parents in self.plan[:-1]:
            x, weights = values[parents[0]], self.weights[id(layer)]
            if isinstance(layer, keras.layers.Dense):
                x = x @ weights[0]
                if len(weights) > 1:
                    x += weights[1]
                x = HOST_ACTIVATIONS[layer.activation](x)
            elif isinstance(layer, (keras.layers.Flatten, Floats)):
                x = x.reshape(len(x), -1).astype(np.float32, copy=False)
            elif isinstance(layer, keras.layers.Rescaling):
                x = x * np.float32(layer.scale) + np.float32(layer.offset)
            elif isinstance(layer, OneHots):
                x = one_hots(x, layer.sizes, layer.starts)
            elif isinstance(layer, keras.layers.Concatenate):
                x = np.concatenate([values[parent] for parent in parents], axis=layer.axis)
            else:  # LogStd
                x = np.broadcast_to(weights[0], (len(x), len(weights[0])))
            values[key] = x
        return [values[key] for key in self.plan[-1][1]]


def one_hots(values: np.ndarray, sizes: list[int], starts: list[int]) -> np.ndarray:
    """``OneHots`` in NumPy: each column of integers one-hot (all zeros out of range, as ``tf.one_hot``)."""
    values = values.reshape(len(values), len(sizes)).astype(np.int64, copy=False)
    return np.concatenate(
        [values[:, [i]] - start == np.arange(size) for i, (size, start) in enumerate(zip(sizes, starts))], axis=-1
    ).astype(np.float32)
