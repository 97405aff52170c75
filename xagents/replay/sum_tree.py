"""A sum tree over priorities, for proportional prioritized replay."""

from __future__ import annotations

import numpy as np


class SumTree:
    """Binary tree of sums over ``capacity`` non-negative priorities, updated and searched in NumPy.

    Leaves sit at ``[size, 2 * size)``, node ``i`` holds the sum of nodes ``2i`` and
    ``2i + 1``, the root is node 1. Updates and searches handle a whole batch per
    tree level, no per-item Python loop; the top ``top`` levels (4,096 nodes at most) are
    handled whole: a slice per level when updating, one ``searchsorted`` when searching.
    """

    def __init__(self, capacity: int):
        self.depth = max(1, int(np.ceil(np.log2(capacity))))
        self.size = 2**self.depth
        self.nodes = np.zeros(2 * self.size, np.float64)
        self.top = min(self.depth, 12)

    @property
    def total(self) -> float:
        return float(self.nodes[1])

    def leaves(self, indices: np.ndarray) -> np.ndarray:
        return self.nodes[indices + self.size]

    def update(self, indices: np.ndarray, priorities: np.ndarray) -> None:
        tree = self.nodes
        nodes = np.asarray(indices, np.int64) + self.size
        tree[nodes] = priorities
        # Each parent is recomputed from both its children, level by level: one shared by several
        # indices is written more than once with the same sum, so no np.unique (a sort) is needed.
        for _ in range(self.depth - self.top):
            nodes >>= 1
            left = nodes << 1
            tree[nodes] = tree.take(left) + tree.take(left + 1)
        self._update_top()

    def _update_top(self) -> None:
        """The top levels, each whole from the level below (the same sums, one slice each)."""
        tree = self.nodes
        for level in range(self.top - 1, -1, -1):
            first = 2**level
            np.add(tree[2 * first : 4 * first : 2], tree[2 * first + 1 : 4 * first : 2], out=tree[first : 2 * first])

    def update_range(self, start: int, priorities: np.ndarray) -> None:
        """``update`` of the contiguous leaves ``[start, start + len(priorities))`` (one add's envs), by slices."""
        low = start + self.size
        high = low + len(priorities)  # exclusive
        self.nodes[low:high] = priorities
        for _ in range(self.depth):
            low, high = low >> 1, ((high - 1) >> 1) + 1
            self.nodes[low:high] = self.nodes[2 * low : 2 * high : 2] + self.nodes[2 * low + 1 : 2 * high : 2]

    def find(self, values: np.ndarray) -> np.ndarray:
        """Leaf indices whose cumulative-sum interval holds each value in ``[0, total)``; never an empty leaf."""
        values = np.array(values, np.float64)
        leaves = self._descend(*self._search_top(values.copy()), guarded=False)
        empty = self.nodes.take(leaves) == 0
        if empty.any():  # rare: rounding led into an empty subtree; those search again, never entering one
            leaves[empty] = self._descend(*self._search_top(values[empty]), guarded=True)
        return leaves - self.size

    def _search_top(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The node of the top levels' last one that holds each value (a search of its running sums), and
        what is left of the value below it. Never an empty node: values at or past the total, by
        rounding, go to the last non-empty one (the first whose running sum reaches the total)."""
        first = 2**self.top
        sums = np.cumsum(self.nodes[first : 2 * first])
        index = np.minimum(np.searchsorted(sums, values, side='right'), np.searchsorted(sums, sums[-1]))
        values -= np.where(index > 0, sums[index - 1], 0.0)  # never below 0: sums[index - 1] <= value
        return index + first, values

    def _descend(self, nodes: np.ndarray, values: np.ndarray, guarded: bool) -> np.ndarray:
        """The leaves (tree positions) below ``nodes`` where ``values`` fall; ``guarded``: never into an empty child."""
        tree = self.nodes
        for _ in range(self.depth - self.top):
            nodes <<= 1  # the left children
            left = tree.take(nodes)
            right = values >= left
            if guarded:
                right &= tree.take(nodes + 1) > 0
            np.subtract(values, left, out=values, where=right)
            nodes += right
        return nodes
