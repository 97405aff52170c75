"""Frames stacked on the last axis, as the CNNs take them (Atari's pipeline and the frame replay buffer),
and the frames of such stacks."""

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


def frame_shape(stacked_shape: tuple[int, ...], stack: int) -> tuple[int, ...]:
    """The shape of one of the ``stack`` frames concatenated on the last axis of ``stacked_shape``
    (frames one channel wide are kept without their channel axis, as Atari's)."""
    width = stacked_shape[-1] // stack
    return stacked_shape[:-1] if width == 1 else (*stacked_shape[:-1], width)


def frame_at(stacked: np.ndarray, index: int, stack: int) -> np.ndarray:
    """Frame ``index`` (0: the oldest) of ``stacked``, ``stack`` frames concatenated on the last axis."""
    width = stacked.shape[-1] // stack
    return stacked[..., index] if width == 1 else stacked[..., index * width : (index + 1) * width]


def join_frames(frames, width: int) -> np.ndarray:
    """Frames of ``width`` channels (oldest first, as :func:`frame_at` gives them) concatenated on the
    last axis, as one contiguous array."""
    return stack_last(frames) if width == 1 else np.concatenate(list(frames), axis=-1)
