"""Action masks, sb3-contrib's convention: which actions are legal in each env's current state.

An env (or a wrapper) gives them from an ``action_masks()`` method or in ``info['action_mask']``: a
boolean array of ``n`` for a Discrete space, of ``sum(nvec)`` for a MultiDiscrete one (each
dimension's categories side by side, as the policy's logits are). The policies never pick a masked
action: its logit is replaced by ``MASKED_LOGIT`` before the softmax, so log-probabilities,
entropies and KLs are those of the distribution over the legal actions (a masked action's
probability is exactly 0, and ``0 * MASKED_LOGIT`` stays 0 where ``-inf`` would give NaN).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import tensorflow as tf

MASKED_LOGIT = -1e9


def mask_units(space: gym.Space) -> int | None:
    """The length of a mask of ``space``, or None when masks are not taken for it."""
    if isinstance(space, gym.spaces.Discrete):
        return int(space.n)
    if isinstance(space, gym.spaces.MultiDiscrete) and len(space.shape) == 1:
        return int(space.nvec.sum())
    return None


def has_mask_method(envs: gym.vector.VectorEnv) -> bool:
    """Whether the envs have ``action_masks()`` (sync and async vector envs of envs or wrappers that do)."""
    try:
        # Asked first: an async env's worker that fails a call (a missing method) ends the env.
        found = envs.call('has_wrapper_attr', 'action_masks')
    except AttributeError:  # vector envs without call (the native ones) give no masks
        return False
    return all(found) and all(mask is not None for mask in envs.call('action_masks'))


class ActionMasks:
    """Where an agent's envs give their masks, and the checks every mask passes.

    Args:
        space: The action space of one env.
        env_name: The env as the user named it, for errors.
        from_info: Masks come from ``info['action_mask']`` (else from ``action_masks()``).
    """

    def __init__(self, space: gym.Space, env_name: str, from_info: bool = False):
        self.env_name, self.from_info = env_name, from_info
        self.units = mask_units(space)
        if self.units is None:
            raise ValueError(
                f'{env_name} gives action masks for {space}: masks are taken for Discrete and MultiDiscrete '
                'actions (--no-mask-actions: train without them)'
            )
        self.nvec = tuple(int(n) for n in space.nvec) if isinstance(space, gym.spaces.MultiDiscrete) else None

    @classmethod
    def of(
        cls, envs: gym.vector.VectorEnv, env_name: str, wanted: bool | None, agent: str, takes_masks: bool
    ) -> ActionMasks | None:
        """The masks of ``envs`` when ``wanted`` (None: when the env gives them), else None; a one-line
        error when they are wanted from an env that gives none, or given to an agent that takes none.
        Masks in ``info`` are looked for at a first reset."""
        if wanted is False:
            return None
        # A first reset: masks in info show there, and the first masks are checked before anything runs.
        _, info = envs.reset()
        from_info = not has_mask_method(envs)
        if from_info and 'action_mask' not in info:
            if wanted:
                raise ValueError(
                    f'--mask-actions: {env_name} gives no action masks '
                    "(an action_masks() method or info['action_mask'])"
                )
            return None
        if not takes_masks:
            raise ValueError(
                f'{env_name} gives action masks, which {agent} does not take (PPO, A2C, TRPO and DQN do): '
                'give --no-mask-actions to train without them'
            )
        masks = cls(envs.single_action_space, env_name, from_info)
        masks.read(envs, info)
        return masks

    def read(self, envs: gym.vector.VectorEnv, info: dict) -> np.ndarray:
        """The checked masks of every env's current state, shape ``(n_envs, units)``."""
        if self.from_info:
            if 'action_mask' not in info:
                raise ValueError(f"{self.env_name} gave no info['action_mask'] on this step")
            masks = info['action_mask']
        else:
            masks = envs.call('action_masks')
        return self.check(np.stack([np.asarray(mask) for mask in masks]))

    def final(self, info: dict, masks: np.ndarray, done: np.ndarray) -> np.ndarray:
        """The legal actions of each env's last observation: ``masks`` (its current ones) where no
        episode ended; where one did, those of its final observation when the env gives masks in
        ``info`` (``info['final_info']``), all actions otherwise (the reset replaced an
        ``action_masks()`` method's)."""
        finals = masks.copy()
        if not done.any():
            return finals
        final_info = info.get('final_info', {}) if self.from_info else {}
        given = (
            done & final_info.get('_action_mask', np.zeros_like(done)) if 'action_mask' in final_info else done & False
        )
        finals[done & ~given] = True
        if given.any():
            rows = np.flatnonzero(given)
            finals[rows] = self.check(np.stack([final_info['action_mask'][row] for row in rows]))
        return finals

    def check(self, masks: np.ndarray, source: str | None = None) -> np.ndarray:
        """``masks`` as a boolean array of ``(n, units)``, or a one-line error naming what is expected
        and who gave them (``source``; the env by default)."""
        masks = np.asarray(masks)
        source = source or f'{self.env_name} gave'
        expected = f'a boolean array of {self.units} per env' + (f' (sum of nvec {self.nvec})' if self.nvec else '')
        if masks.dtype != np.bool_ or masks.ndim != 2 or masks.shape[1] != self.units:
            raise ValueError(f'{source} action masks of shape {masks.shape[1:]} {masks.dtype}: expected {expected}')
        groups = np.split(masks, np.cumsum(self.nvec)[:-1], axis=1) if self.nvec else [masks]
        if any(not group.any(axis=1).all() for group in groups):
            raise ValueError(
                f'{source} an action mask with no legal action: expected {expected}, at least one true per dimension'
            )
        return masks

    def random_actions(self, masks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Actions drawn uniformly among the legal ones of each row (of each dimension)."""
        groups = np.split(masks, np.cumsum(self.nvec)[:-1], axis=1) if self.nvec else [masks]
        actions = np.stack([uniform_legal(group, rng) for group in groups], axis=-1)
        return actions if self.nvec else actions[:, 0]


def predict_masks(agent, action_masks, batch: int, single: bool) -> np.ndarray:
    """``predict``'s ``action_masks`` checked for ``batch`` observations (one mask for one observation)."""
    if not agent.takes_masks:
        raise ValueError(f'{type(agent).__name__} takes no action masks (PPO, A2C, TRPO and DQN do)')
    if agent.masks is None:
        raise ValueError(
            f'this {type(agent).__name__} acts without action masks (its env gave none, or mask_actions=False): '
            'predict takes no action_masks'
        )
    masks = np.asarray(action_masks)
    units = agent.masks.units
    expected = (units,) if single else (batch, units)
    if masks.shape != expected:
        raise ValueError(
            f'action_masks given to predict has shape {masks.shape}; expected {expected} '
            + (f'(or a batch (n, {units}) for n observations)' if single else f'for {batch} observations')
        )
    if masks.dtype != np.bool_:
        raise ValueError(f'action_masks given to predict are {masks.dtype}; expected booleans')
    return agent.masks.check(masks[None] if single else masks, 'predict was given')


def uniform_legal(masks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One index per row, uniform among the row's true entries."""
    counts = masks.sum(1)
    picks = (rng.random(len(masks)) * counts).astype(np.int64)
    # The picks-th true entry of each row: the first column whose running count passes it.
    return (np.cumsum(masks, 1) > picks[:, None]).argmax(1)


def masked_logits(logits: tf.Tensor, masks: tf.Tensor) -> tf.Tensor:
    """``logits`` with masked actions at ``MASKED_LOGIT`` (in TensorFlow)."""
    return tf.where(masks, logits, tf.constant(MASKED_LOGIT, logits.dtype))


def masked_logits_np(logits: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """``masked_logits`` in NumPy."""
    return np.where(masks, logits, np.asarray(MASKED_LOGIT, logits.dtype))
