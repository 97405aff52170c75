"""Frames stacked on the last axis, as the CNNs take them (Atari's pipeline and the frame replay buffer)."""

from __future__ import annotations

import numpy as np


def stack_last(frames) -> np.ndarray:
    """Same-shape arrays stacked on a new last axis, as one contiguous array.

    Writing each frame into its channel is about 5x faster for uint8 Atari frames than
    copying a ``np.moveaxis`` view (which TensorFlow would otherwise copy at every call).
    """
    frames = list(frames)
    stacked = np.empty((*frames[0].shape, len(frames)), frames[0].dtype)
    for channel, frame in enumerate(frames):
        stacked[..., channel] = frame
    return stacked
