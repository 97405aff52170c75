"""Replay buffers: one NumPy object for all environments.

Observations are kept as a per-environment stream of frames. Each episode starts by
pushing its whole first observation; every step then pushes only the newest frame of
the next observation (for a finished episode, its final observation). A transition
stores the position of its observation's newest frame, so an observation is the
``frame_stack`` frames ending there and the next observation ends one frame later.
With Atari's 4-frame stacks each 84x84 frame is stored once, not eight times, and
the reconstruction is exact whatever padding the environment used at a reset. The same
holds for any stack of ``--frame-stack`` (:mod:`xagents.envs.frame_stack`): a frame is the
slice of the last axis one observation took (a vector of ``d`` of a ``d * N`` stack), and
each key of a Dict observation is kept as one array of its frames
(:class:`~xagents.replay.key_frames.KeyFrames`). Without stacking, a "frame" is a whole
observation and the same logic applies.

n-step transitions are assembled when sampling: each env's transitions sit in time
order, so the ``n`` that follow a sampled one are read straight from the arrays.
"""

from __future__ import annotations

import json
import os

import numpy as np

from xagents.envs.dict_spaces import map_arrays, select
from xagents.envs.frames import frame_at, frame_shape, join_frames
from xagents.replay.files import damaged_says, save_arrays
from xagents.replay.key_frames import KeyFrames


class ReplayBuffer:
    """Uniform replay of ``(obs, action, n-step return, next_obs, terminal)`` across vector envs.

    Args:
        capacity: Total transitions kept (over all envs).
        n_envs: Environments stepping together.
        obs_shape: Shape of one observation (Dict observations: a dict of each key's shape).
        obs_dtype: dtype kept for observations (uint8 frames stay uint8; Dict observations: a dict).
        action_shape: Shape of one action (``()`` for discrete).
        action_dtype: dtype of actions.
        frame_stack: Number of frames concatenated on the last observation axis (of each key), or None.
        seed: Seed of the sampling generator.
        n_step: Transitions summed into one sample (stopping at an episode end).
        gamma: Discount of the n-step sums.
    """

    def __init__(
        self,
        capacity: int,
        n_envs: int,
        obs_shape: tuple[int, ...] | dict[str, tuple[int, ...]],
        obs_dtype=np.float32,
        action_shape: tuple[int, ...] = (),
        action_dtype=np.int64,
        frame_stack: int | None = None,
        seed: int | None = None,
        n_step: int = 1,
        gamma: float = 0.99,
        mask_units: int | None = None,
    ):
        if capacity < n_envs:
            raise ValueError(f'buffer capacity {capacity} is smaller than the number of envs {n_envs}')
        self.n_envs = n_envs
        self.size = capacity // n_envs
        self.stack = frame_stack or 1
        self.stacked = frame_stack is not None
        self.n_step, self.gamma = n_step, gamma
        self.powers = (gamma ** np.arange(n_step)).astype(np.float32)
        # Room for the transitions' frames plus episode-start stacks (stack - 1 extra
        # frames per episode); transitions whose oldest frame was overwritten anyway
        # are never returned (see `_draw`).
        self.frame_capacity = self.size + self.size // 16 + 2 * self.stack + 1
        shape_of = lambda shape: frame_shape(shape, self.stack) if self.stacked else shape  # noqa: E731
        # The channels of one frame on the last axis (of each key), as the stacks are joined again.
        self.widths = map_arrays(lambda shape: shape[-1] // self.stack if self.stacked else None, obs_shape)
        if isinstance(obs_shape, dict):
            shapes = {key: shape_of(shape) for key, shape in obs_shape.items()}
            self.frames = KeyFrames((self.frame_capacity, n_envs), shapes, obs_dtype)
        else:
            self.frames = np.zeros((self.frame_capacity, n_envs, *shape_of(obs_shape)), obs_dtype)
        self.frame_count = np.zeros(n_envs, np.int64)
        self.positions = np.zeros((self.size, n_envs), np.int64)
        self.actions = np.zeros((self.size, n_envs, *action_shape), action_dtype)
        self.rewards = np.zeros((self.size, n_envs), np.float32)
        self.terminals = np.zeros((self.size, n_envs), np.bool_)
        self.dones = np.zeros((self.size, n_envs), np.bool_)
        # With action masks (``mask_units`` per mask): the legal actions after each transition, for the targets.
        self.next_masks = None if mask_units is None else np.ones((self.size, n_envs, mask_units), np.bool_)
        self.count = 0
        self.rng = np.random.default_rng(seed)
        self.env_index = np.arange(n_envs)

    def __len__(self) -> int:
        return min(self.count, self.size) * self.n_envs

    def _push(self, frames: np.ndarray, envs: np.ndarray) -> None:
        self.frames[self.frame_count[envs] % self.frame_capacity, envs] = frames
        self.frame_count[envs] += 1

    def start_episodes(self, observations: np.ndarray, mask: np.ndarray | None = None) -> None:
        """Record the first observations of new episodes (all envs, or those in ``mask``)."""
        envs = self.env_index if mask is None else np.flatnonzero(mask)
        if not len(envs):
            return
        observations = observations if mask is None else select(observations, mask)
        if not self.stacked:
            self._push(observations, envs)
            return
        for index in range(self.stack):
            self._push(self._frame(observations, index), envs)

    def _frame(self, observations, index: int):
        """Frame ``index`` (0: the oldest) of stacked observations (of each key)."""
        return map_arrays(lambda stacked: frame_at(stacked, index, self.stack), observations)

    def add(
        self,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_observations: np.ndarray,
        terminals: np.ndarray,
        dones: np.ndarray | None = None,
        next_masks: np.ndarray | None = None,
    ) -> None:
        """Add one transition per env; ``next_observations`` are final ones where episodes ended.

        ``terminals`` stop bootstrapping; ``dones`` (default: ``terminals``) also mark
        truncations, where an n-step sum stops and bootstraps from the final observation.
        ``next_masks``: the legal actions of ``next_observations`` (a buffer made with ``mask_units``).
        """
        slot = self.count % self.size
        self.positions[slot] = self.frame_count - 1
        self.actions[slot] = actions
        self.rewards[slot] = rewards
        self.terminals[slot] = terminals
        self.dones[slot] = terminals if dones is None else dones
        if self.next_masks is not None:
            self.next_masks[slot] = next_masks
        newest = self._frame(next_observations, self.stack - 1) if self.stacked else next_observations
        self._push(newest, self.env_index)
        self.count += 1

    def cut_episodes(self) -> None:
        """End every env's episode at the newest transition (as a truncation), before the envs restart."""
        if self.count:
            self.dones[(self.count - 1) % self.size] = True

    def _observations(self, newest: np.ndarray, envs: np.ndarray) -> np.ndarray:
        if not self.stacked:
            return self.frames[newest % self.frame_capacity, envs]
        frames = [self.frames[(newest + offset) % self.frame_capacity, envs] for offset in range(1 - self.stack, 1)]
        if isinstance(self.widths, dict):
            return {key: join_frames([frame[key] for frame in frames], width) for key, width in self.widths.items()}
        return join_frames(frames, self.widths)

    def _indices(self, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """``(slots, envs)`` of ``batch_size`` stored transitions, uniformly."""
        slots = self.rng.integers(0, min(self.count, self.size), batch_size)
        return slots, self.rng.integers(0, self.n_envs, batch_size)

    def _draw(self, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        slots, envs = self._indices(batch_size)
        oldest_kept = self.frame_count - self.frame_capacity
        stale = self.positions[slots, envs] - self.stack + 1 < oldest_kept[envs]
        while stale.any():  # rare: only the oldest transitions after many short episodes
            slots[stale], envs[stale] = self._indices(int(stale.sum()))
            stale = self.positions[slots, envs] - self.stack + 1 < oldest_kept[envs]
        return slots, envs

    def n_step_returns(self, slots: np.ndarray, envs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Discounted sums of up to ``n_step`` rewards from each transition, its last slot and its length.

        A sum stops after the first transition that ended its episode and at the newest
        transition written, so it never crosses into another episode or stale data.
        """
        if self.n_step == 1:  # the default: each transition alone, its own reward
            return self.rewards[slots, envs], slots, np.ones(len(slots), np.int64)
        offsets = np.arange(self.n_step)
        written = offsets <= ((self.count - 1 - slots) % self.size)[:, None]
        cells = (slots[:, None] + offsets) % self.size
        ended = self.dones[cells, envs[:, None]]
        before_end = (np.cumsum(ended, axis=1) - ended) == 0
        kept = written & before_end
        lengths = kept.sum(axis=1)
        returns = (self.rewards[cells, envs[:, None]] * self.powers * kept).sum(axis=1, dtype=np.float32)
        return returns, (slots + lengths - 1) % self.size, lengths

    def batch(self, slots: np.ndarray, envs: np.ndarray) -> dict[str, np.ndarray]:
        """The transitions at ``(slots, envs)``; ``discounts`` is gamma to the power of each sum's length."""
        returns, last, lengths = self.n_step_returns(slots, envs)
        batch = {
            'observations': self._observations(self.positions[slots, envs], envs),
            'actions': self.actions[slots, envs],
            'rewards': returns,
            'next_observations': self._observations(self.positions[last, envs] + 1, envs),
            'terminals': self.terminals[last, envs],
            'discounts': (self.gamma**lengths).astype(np.float32),
        }
        if self.next_masks is not None:
            batch['next_masks'] = self.next_masks[last, envs]
        return batch

    def sample(self, batch_size: int) -> dict[str, np.ndarray]:
        """Draw ``batch_size`` transitions uniformly."""
        return self.batch(*self._draw(batch_size))

    # ---------------------------------------------------------------- saving
    SLOT_ARRAYS = ('positions', 'actions', 'rewards', 'terminals', 'dones')

    def arrays(self) -> dict[str, np.ndarray]:
        """Everything that defines the buffer's contents and sampling state.

        Of the frame and slot arrays, only the rows written so far: a 1M-transition buffer
        saved early holds what it was given, not its capacity of zeros.
        """
        slots = min(self.count, self.size)
        state = {name: getattr(self, name)[:slots] for name in self.SLOT_ARRAYS}
        if self.next_masks is not None:
            state['next_masks'] = self.next_masks[:slots]
        written = min(int(self.frame_count.max()), self.frame_capacity)
        state.update({name: frames[:written] for name, frames in self.frame_arrays().items()})
        state['frame_count'] = self.frame_count
        state['capacities'] = np.array([self.size, self.frame_capacity])
        state['count'] = np.array(self.count)
        state['rng'] = np.frombuffer(json.dumps(self.rng.bit_generator.state).encode(), np.uint8)
        return state

    def frame_arrays(self) -> dict[str, np.ndarray]:
        """The frame arrays by the names they are saved under: ``frames``, or ``frames.KEY`` per key."""
        if isinstance(self.frames, KeyFrames):
            return {f'frames.{key}': array for key, array in self.frames.arrays.items()}
        return {'frames': self.frames}

    def save(self, path: str | os.PathLike) -> None:
        """Write the buffer to ``path`` (``.npz``), replacing any previous file only once complete."""
        save_arrays(path, self.arrays())

    def load(self, path: str | os.PathLike) -> None:
        """Restore a buffer written by ``save``; its capacity and shapes must match this buffer's."""
        with damaged_says(path):
            self._load(path)

    def _load(self, path: str | os.PathLike) -> None:
        with np.load(path, allow_pickle=False) as stored:
            frames = self.frame_arrays()
            first = next(iter(frames))
            # Files of 0.2 hold whole arrays and no capacities: their lengths are the capacities.
            old = [len(stored['positions']), len(stored[first])]
            capacities = stored['capacities'] if 'capacities' in stored else old
            mine = frames[first].shape[1:], self.positions.shape[1:]
            theirs = stored[first].shape[1:], stored['positions'].shape[1:]
            if list(capacities) != [self.size, self.frame_capacity] or theirs != mine:
                raise ValueError(
                    f'replay buffer {path} was made for {capacities[0]} steps of frames {theirs[0]} in '
                    f'{theirs[1][0]} envs, this agent needs {self.size} of {mine[0]} in {self.n_envs} '
                    '(same --buffer-max-size, --n-envs and environment?)'
                )
            masks = ('next_masks',) if self.next_masks is not None and 'next_masks' in stored else ()
            arrays = {name: getattr(self, name) for name in (*self.SLOT_ARRAYS, *masks, 'frame_count')} | frames
            for name, array in arrays.items():
                if stored[name].dtype != array.dtype:
                    raise ValueError(f'replay buffer {path} holds {name} as {stored[name].dtype}, not {array.dtype}')
                array[: len(stored[name])] = stored[name]
            self.count = int(stored['count'])
            self.rng.bit_generator.state = json.loads(stored['rng'].tobytes().decode())
            self.load_extra(stored)

    def load_extra(self, stored) -> None:
        """Restore what a subclass adds to ``arrays``."""
