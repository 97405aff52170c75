"""Whether acting on the host (NumPy) would pay for models with convolutions: one acting call of a PPO
policy in TensorFlow (the compiled call the agent makes) against the same model in NumPy, the
convolutions computed as one matrix product per kernel position, on Dict observations with an image
key (the test folder's DictPointer: a small image, a vector and a Discrete key) and on 84x84x4
Atari frames (NatureCNN).

The NumPy model's outputs are checked against Keras' first; each timing is the best of
``--repeats`` runs of ``--calls`` calls, the two ways alternating.

    python benchmarks/host_conv.py [--sizes 7 12 24] [--n-envs 8] [--no-atari]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')

import keras
import numpy as np

import xagents.tests.tiny_envs  # registers DictPointer
from xagents.nets.host import HOST_ACTIVATIONS, HostModel, one_hots
from xagents.nets.multi_input import OneHots


def conv2d(x: np.ndarray, layer: keras.layers.Conv2D) -> np.ndarray:
    """``layer`` (square kernel, 'same' or 'valid' padding, channels last) in NumPy."""
    kernel, bias = (weight.numpy() for weight in layer.weights)
    size, stride = layer.kernel_size[0], layer.strides[0]
    if layer.padding == 'same':
        pads = []
        for extent in x.shape[1:3]:
            total = max((-(-extent // stride) - 1) * stride + size - extent, 0)
            pads.append((total // 2, total - total // 2))
        x = np.pad(x, [(0, 0), *pads, (0, 0)])
    height, width = (x.shape[1] - size) // stride + 1, (x.shape[2] - size) // stride + 1
    out = bias
    for i in range(size):  # one matrix product per kernel position
        for j in range(size):
            patch = x[:, i : i + stride * (height - 1) + 1 : stride, j : j + stride * (width - 1) + 1 : stride]
            out = out + patch @ kernel[i, j]
    return HOST_ACTIVATIONS[layer.activation](out)


def numpy_model(model: keras.Model, inputs) -> list[np.ndarray]:
    """Every layer of ``model`` in NumPy (``HostModel`` for the dense part, ``conv2d`` for convolutions)."""
    values = {}
    inputs = inputs if isinstance(inputs, dict) else {model.inputs[0].name: inputs}
    for tensor in model.inputs:
        values[id(tensor)] = inputs[tensor.name]
    for layer in model.layers:  # in order: each layer's inputs come before it
        if isinstance(layer, keras.layers.InputLayer):
            continue
        node = layer._inbound_nodes[0]
        parents = [values[id(tensor)] for tensor in node.input_tensors]
        x = parents[0]
        if isinstance(layer, keras.layers.Conv2D):
            out = conv2d(x, layer)
        elif isinstance(layer, keras.layers.Reshape):
            out = x.reshape(len(x), *layer.target_shape)
        elif isinstance(layer, keras.layers.Rescaling):
            out = x.astype(np.float32) * np.float32(layer.scale)
        elif isinstance(layer, keras.layers.Concatenate):
            out = np.concatenate(parents, axis=-1)
        elif isinstance(layer, OneHots):
            out = one_hots(x, layer.sizes, layer.starts)
        elif isinstance(layer, keras.layers.Dense):
            kernel, bias = (weight.numpy() for weight in layer.weights)
            out = x @ kernel + bias
            out = HOST_ACTIVATIONS[layer.activation](out)
        else:  # Flatten, Floats
            out = x.reshape(len(x), -1).astype(np.float32, copy=False)
        for tensor in node.output_tensors:
            values[id(tensor)] = out
    return [values[id(tensor)] for tensor in model.outputs]


def best(function, calls: int, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            function()
        times.append((time.perf_counter() - start) / calls * 1e6)
    return times


def measure(name: str, agent, observations, calls: int, repeats: int) -> None:
    model = agent.model
    assert HostModel.of(model) is None  # convolutions: TensorFlow acts today
    outputs = numpy_model(model, observations)
    for mine, theirs in zip(outputs, model(observations)):
        np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-4, atol=1e-4)
    deterministic = np.array(True)
    tf_times, np_times = [], []
    for _ in range(repeats):
        tf_times += best(lambda: agent._act(observations, deterministic), calls, 1)
        np_times += best(lambda: numpy_model(model, observations), calls, 1)
    print(f'| {name} | {min(tf_times):,.0f} | {min(np_times):,.0f} | {min(np_times) / min(tf_times):.2f} |')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sizes', nargs='+', type=int, default=[7, 12, 24])
    parser.add_argument('--n-envs', type=int, default=8)
    parser.add_argument('--calls', type=int, default=50)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--atari', action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n = args.n_envs
    print('| model | TensorFlow µs/call | NumPy µs/call | NumPy / TF |', '|---|---|---|---|', sep='\n')
    for size in args.sizes:
        agent = xagents.PPO.from_env('DictPointer-v0', env_kwargs={'size': size}, n_envs=n, seed=0, quiet=True)
        observations = {
            'flip': rng.integers(0, 2, n),
            'image': rng.integers(0, 256, (n, size, size), dtype=np.uint8),
            'signal': rng.uniform(-1, 1, (n, 2)).astype(np.float32),
        }
        measure(f'Dict, {size}x{size} image key (small CNN), {n} envs', agent, observations, args.calls, args.repeats)
    if args.atari:
        agent = xagents.PPO.from_env('PongNoFrameskip-v4', preprocess=True, n_envs=n, seed=0, quiet=True)
        frames = rng.integers(0, 256, (n, 84, 84, 4), dtype=np.uint8)
        measure(f'84x84x4 frames (NatureCNN), {n} envs', agent, frames, max(args.calls // 10, 5), args.repeats)


if __name__ == '__main__':
    main()
