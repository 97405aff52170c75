"""``predict``'s work: raw observations (one, or a batch) to the actions that go to ``env.step``."""

from __future__ import annotations

import numpy as np

from xagents.core.masking import predict_masks
from xagents.nets.multi_input import observation_batch


def predict_actions(agent, observations, deterministic: bool, action_masks) -> np.ndarray:
    """One action for one observation (shaped as the space), one each for a batch of them."""
    batch, single = observation_batch(observations, agent.observation_space, bool(agent.env_recipe.obs_keys))
    size = len(next(iter(batch.values()))) if isinstance(batch, dict) else len(batch)
    # Masks are passed only when given: the agents that take none have no such argument.
    masks = {} if action_masks is None else {'masks': predict_masks(agent, action_masks, size, single)}
    normalized = agent.normalize_observations(batch)
    actions = np.asarray(agent.env_actions(agent.policy(normalized, deterministic=deterministic, **masks)))
    actions = actions.astype(agent.action_space.dtype, copy=False)  # int64 Discrete, int8 MultiBinary, ...
    return actions[0] if single else actions


def sb3_result(actions: np.ndarray, sb3: bool, state, episode_start):
    """``predict``'s return: the actions, or SB3's ``(actions, state)`` with ``sb3=True``."""
    if not sb3 and (state is not None or episode_start is not None):
        raise TypeError(
            "state and episode_start are SB3's predict arguments: give sb3=True too for its (action, state) return"
        )
    # xagents' policies keep no recurrent state: SB3's own non-recurrent policies return the state given.
    return (actions, state) if sb3 else actions
