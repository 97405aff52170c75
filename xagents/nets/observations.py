"""How an observation space enters a network: which observations are images, the dtype the
models take, and which default network (dense or convolutional) reads them.

- images, a ``uint8`` Box of height x width x channels or height x width: a CNN, the model
  scaling them to [0, 1] (a channel axis is added in the model when there is none);
- other 3-D Boxes (float feature maps, images already scaled by the env): a CNN, values as given;
- vectors, and 2-D float Boxes (a table such as vehicles x features): dense layers, the model
  flattening a 2-D observation first (Stable-Baselines3 also treats only uint8 Boxes as images).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np


def is_image(space: gym.Space) -> bool:
    """A ``uint8`` Box of height x width x channels or height x width."""
    return isinstance(space, gym.spaces.Box) and space.dtype == np.uint8 and len(space.shape) in (2, 3)


def model_input_dtype(space: gym.spaces.Box) -> np.dtype:
    """What the models (and ``predict`` and exported policies) take: images as uint8, the rest as float32."""
    return np.dtype(np.uint8) if is_image(space) else np.dtype(np.float32)


def network_kind(space: gym.spaces.Box) -> str:
    """``cnn`` for images and other 3-D Boxes, ``ann`` for the rest."""
    return 'cnn' if is_image(space) or len(space.shape) == 3 else 'ann'


def convolutional(space: gym.Space) -> bool:
    """Whether the default networks for ``space`` have convolutions: for images and other 3-D Boxes, or a
    Dict observation with such a key."""
    if isinstance(space, gym.spaces.Dict):
        return any(convolutional(subspace) for subspace in space.spaces.values())
    return isinstance(space, gym.spaces.Box) and network_kind(space) == 'cnn'
