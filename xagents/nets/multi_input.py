"""Networks of Dict observations: one Keras Input per key (named after it), every key made one
feature vector, the vectors joined before the layers of the agent's dense (``ann-*.cfg``) file.

- images (and other 3-D Boxes, :func:`xagents.nets.observations.network_kind`): the convolutions and
  flatten of the agent's CNN file for their size (NatureCNN's, or the small CNN below 36x36);
- vector Boxes: flattened, as float32;
- Discrete keys: one-hot; MultiDiscrete keys: one one-hot per entry, concatenated;
- MultiBinary keys: their bits as 0/1 floats (as Stable-Baselines3 preprocesses them).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import gymnasium as gym
import keras
import numpy as np
import tensorflow as tf

from xagents.envs.dict_spaces import flatten_nested
from xagents.nets.observations import is_image, model_input_dtype, network_kind
from xagents.nets.reader import ModelReader


class OneHots(keras.layers.Layer):
    """Integers (a Discrete value, or a MultiDiscrete vector) as concatenated one-hot float32 vectors."""

    def __init__(self, sizes: list[int], starts: list[int], **kwargs):
        super().__init__(**kwargs)
        self.sizes, self.starts = [int(size) for size in sizes], [int(start) for start in starts]

    def call(self, inputs):
        values = tf.reshape(tf.cast(inputs, tf.int32), [-1, len(self.sizes)])
        return tf.concat(
            [tf.one_hot(values[:, i] - start, size) for i, (size, start) in enumerate(zip(self.sizes, self.starts))],
            axis=-1,
        )

    def get_config(self):
        return {**super().get_config(), 'sizes': self.sizes, 'starts': self.starts}


class Floats(keras.layers.Layer):
    """Any numbers as one flat float32 vector per observation (bits of a MultiBinary, vector Boxes)."""

    def call(self, inputs):
        return tf.reshape(tf.cast(inputs, tf.float32), [tf.shape(inputs)[0], -1])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], int(np.prod(input_shape[1:])))


def key_dtype(space: gym.Space) -> np.dtype:
    """What the models take for a key: images as uint8, other Boxes as float32, the rest in their own dtype."""
    return model_input_dtype(space) if isinstance(space, gym.spaces.Box) else np.dtype(space.dtype)


def model_inputs(space: gym.spaces.Dict) -> dict[str, keras.KerasTensor]:
    return {
        key: keras.Input(subspace.shape, dtype=key_dtype(subspace).name, name=key)
        for key, subspace in space.spaces.items()
    }


def key_features(key_input, space: gym.Space, cnn_reader: Callable[[], ModelReader]):
    """One key's observations as a feature vector."""
    if isinstance(space, gym.spaces.Box) and network_kind(space) == 'cnn':
        x = keras.layers.Rescaling(1 / 255)(key_input) if is_image(space) else key_input
        return cnn_reader().features(x)
    if isinstance(space, gym.spaces.Discrete):
        return OneHots([space.n], [space.start])(key_input)
    if isinstance(space, gym.spaces.MultiDiscrete):
        return OneHots(space.nvec.reshape(-1), space.start.reshape(-1))(key_input)
    return Floats()(key_input)


def build_multi_input_model(
    ann_file: str | os.PathLike,
    cnn_files: Callable[[tuple[int, ...]], str | os.PathLike] | None,
    output_units: list[int],
    space: gym.spaces.Dict,
    seed: int | None = None,
    dense_only: bool = False,
) -> keras.Model:
    """The model of ``ann_file`` on the features of every key of ``space`` joined; ``cnn_files(shape)``
    is the CNN file for images of that shape. With ``dense_only``, ``ann_file`` may be a CNN file too:
    its dense layers only (an off-policy critic's file, whose convolutions read the image key)."""
    inputs = model_inputs(space)
    features = []
    for index, (key, subspace) in enumerate(space.spaces.items()):
        key_seed = None if seed is None else seed + 1000 * (index + 1)

        def cnn_reader(shape=subspace.shape, key_seed=key_seed):
            return ModelReader(cnn_files(shape), [], shape, seed=key_seed)

        features.append(key_features(inputs[key], subspace, cnn_reader))
    joined = features[0] if len(features) == 1 else keras.layers.Concatenate()(features)
    return ModelReader(ann_file, output_units, (int(joined.shape[-1]),), seed=seed).build_model(
        inputs, joined, dense_only
    )


def input_batch(observations, space: gym.spaces.Dict, chosen: bool = False) -> tuple[dict[str, np.ndarray], bool]:
    """Dict observations as the models take them (each key in its dtype) and whether they were one
    observation (else a batch, as the first key's shape says). With ``chosen`` keys (``obs_keys``), the
    other keys an env returns are left out as its envs leave them out."""
    if not isinstance(observations, dict):
        kind = type(observations).__name__
        raise ValueError(f'predict takes a dict of arrays (keys {" ".join(space.spaces)}), got {kind}')
    observations = flatten_nested(observations)  # as the envs give them to the agent (outer.inner keys)
    missing = [key for key in space.spaces if key not in observations]
    extra = [key for key in observations if key not in space.spaces]
    if missing or (extra and not chosen):
        raise ValueError(f'predict takes the keys {" ".join(space.spaces)}, got {" ".join(map(str, observations))}')
    arrays = {key: np.asarray(observations[key]) for key in space.spaces}
    for key, array in arrays.items():
        shape = space[key].shape
        if array.shape != shape and array.shape[1:] != shape:
            raise ValueError(
                f'predict: key {key!r} has shape {array.shape}: neither one observation {shape} '
                f'nor a batch of them (n, {", ".join(map(str, shape))})'
            )
    first = next(iter(space.spaces))
    single = arrays[first].shape == space[first].shape
    for key, array in arrays.items():
        shape = space[key].shape
        if (array.shape != shape) if single else (array.shape[1:] != shape or len(array) != len(arrays[first])):
            kind = 'one observation' if single else f'a batch of {len(arrays[first])}'
            raise ValueError(f'predict: key {key!r} has shape {array.shape}, and key {first!r} makes this {kind}')
    batch = {
        key: (array[None] if single else array).astype(key_dtype(space[key]), copy=False)
        for key, array in arrays.items()
    }
    return batch, single


def observation_batch(observations, space: gym.Space, chosen: bool = False) -> tuple:
    """``predict``'s observations as a batch the models take and whether they were one observation:
    ``input_batch`` for a Dict space, else an array of ``space``'s shape or a batch of them."""
    if isinstance(space, gym.spaces.Dict):
        return input_batch(observations, space, chosen)
    observations = np.asarray(observations)
    single = observations.shape == space.shape
    if not single and observations.shape[1:] != space.shape:
        raise ValueError(
            f'predict takes one observation of shape {space.shape} or a batch of them, got shape {observations.shape}'
        )
    return (observations[None] if single else observations).astype(model_input_dtype(space), copy=False), single


def vector_keys(space: gym.spaces.Dict) -> dict[str, tuple[int, ...]]:
    """The shapes of the keys ``--normalize-obs`` normalizes: vector Boxes (images and the
    integer keys are not); a one-line error when there are none."""
    keys = {
        key: subspace.shape
        for key, subspace in space.spaces.items()
        if isinstance(subspace, gym.spaces.Box) and network_kind(subspace) == 'ann'
    }
    if not keys:
        raise ValueError(
            f'--normalize-obs is for vector keys: the keys {" ".join(space.spaces)} hold none (images are '
            'scaled to [0, 1], integer keys one-hot); drop it'
        )
    return keys
