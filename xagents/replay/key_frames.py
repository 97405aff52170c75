"""The frames of a replay buffer for Dict observations: one array per key, each with its dtype
(uint8 images stay uint8), indexed together as one array of dicts."""

from __future__ import annotations

import numpy as np


class KeyFrames:
    """Arrays of ``leading`` shape plus each key's shape, read and written together.

    ``frames[index]`` is a dict of each key's ``array[index]``; ``frames[index] = observations``
    writes each key of ``observations`` (a dict) to its array.

    Args:
        leading: The shape before each key's own (the buffer's frame slots and envs).
        shapes: Each key's shape.
        dtypes: Each key's dtype.
    """

    def __init__(self, leading: tuple[int, ...], shapes: dict[str, tuple[int, ...]], dtypes: dict[str, np.dtype]):
        self.arrays = {key: np.zeros((*leading, *shape), dtypes[key]) for key, shape in shapes.items()}

    def __getitem__(self, index) -> dict[str, np.ndarray]:
        return {key: array[index] for key, array in self.arrays.items()}

    def __setitem__(self, index, observations: dict[str, np.ndarray]) -> None:
        for key, array in self.arrays.items():
            array[index] = observations[key]

    @property
    def nbytes(self) -> int:
        return sum(array.nbytes for array in self.arrays.values())
