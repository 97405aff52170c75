"""Dense Keras models evaluated in NumPy on the host, for per-step acting."""

from __future__ import annotations

import keras
import numpy as np

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
    outputs, in order, as float32 arrays. Models with other layers (convolutions) or
    activations stay in TensorFlow: ``HostModel.of`` returns None for them.
    """

    def __init__(self, model: keras.Model, plan: list[tuple]):
        self.model, self.plan = model, plan
        self.weights: dict[int, list[np.ndarray]] = {}
        self.refresh()

    @classmethod
    def of(cls, model: keras.Model) -> HostModel | None:
        """The host version of ``model``, or None when one of its layers has no NumPy version."""
        if len(getattr(model, 'inputs', None) or []) != 1:
            return None
        plan, keys = [], {}

        def visit(tensor) -> int | None:
            if id(tensor) in keys:
                return keys[id(tensor)]
            operation, node_index, _ = tensor._keras_history
            parents = operation._inbound_nodes[node_index].input_tensors
            if isinstance(operation, keras.layers.InputLayer):
                key = 0
            elif not cls.supports(operation) or len(parents) != 1 or (parent := visit(parents[0])) is None:
                return None
            else:
                key = len(plan) + 1
                plan.append((key, operation, parent))
            keys[id(tensor)] = key
            return key

        outputs = [visit(tensor) for tensor in model.outputs]
        if any(key is None for key in outputs):
            return None
        return cls(model, [*plan, ('outputs', outputs)])

    @staticmethod
    def supports(layer: keras.layers.Layer) -> bool:
        if isinstance(layer, keras.layers.Dense):
            return layer.activation in HOST_ACTIVATIONS
        return isinstance(layer, (keras.layers.Flatten, keras.layers.Rescaling, LogStd))

    def refresh(self) -> None:
        """Read the model's current weights."""
        for _, layer, _ in self.plan[:-1]:
            self.weights[id(layer)] = [np.asarray(weight.numpy(), np.float32) for weight in layer.weights]

    def __call__(self, inputs: np.ndarray) -> list[np.ndarray]:
        values = {0: np.asarray(inputs, np.float32)}
        for key, layer, parent in self.plan[:-1]:
            x, weights = values[parent], self.weights[id(layer)]
            if isinstance(layer, keras.layers.Dense):
                x = x @ weights[0]
                if len(weights) > 1:
                    x += weights[1]
                x = HOST_ACTIVATIONS[layer.activation](x)
            elif isinstance(layer, keras.layers.Flatten):
                x = x.reshape(len(x), -1)
            elif isinstance(layer, keras.layers.Rescaling):
                x = x * np.float32(layer.scale) + np.float32(layer.offset)
            else:  # LogStd
                x = np.broadcast_to(weights[0], (len(x), len(weights[0])))
            values[key] = x
        return [values[key] for key in self.plan[-1][1]]
