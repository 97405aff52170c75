"""Names other than today's: old names of renamed hyperparameters, and other libraries' names.

A field renamed in its config keeps its old names in ``hp(..., aliases=(...))``: the flags
take them as hidden spellings (:func:`xagents.commands.flags.add_config_flags`), and the
functions here give keywords, a run's ``config.json`` and presets the names of today.

The names Stable-Baselines3, RL Zoo and CleanRL give to what xagents names differently are
not taken, but an unknown keyword or flag gets a "did you mean" (:func:`closest_name`).
"""

from __future__ import annotations

import dataclasses
import difflib
import sys
import warnings

# Other libraries' keywords (flags: the same with dashes) -> the xagents names that may be meant, each
# maybe with a note; where several fit, the first the agent has is suggested.
OTHER_NAMES = {
    'learning_rate': ['lr'],
    'discount': ['gamma'],
    'gae_lambda': ['lam'],
    'num_envs': ['n_envs'],
    'n_timesteps': ['max_steps'],
    'total_timesteps': ['max_steps'],
    'reset_num_timesteps': ['more_steps (fit: max_steps counts from the first step, more_steps from now)'],
    'ent_coef': ['entropy_coef'],
    'vf_coef': ['value_loss_coef'],
    'max_grad_norm': ['grad_norm'],
    'n_epochs': ['ppo_epochs'],
    'buffer_size': ['buffer_max_size'],
    'batch_size': ['buffer_batch_size', 'mini_batches (a count: rollout size / batch size)'],
    'learning_starts': ['buffer_initial_size'],
    'train_freq': ['train_frequency'],
    'target_update_interval': ['target_sync_steps'],
    'exploration_initial_eps': ['epsilon_start'],
    'exploration_final_eps': ['epsilon_end'],
    'target_policy_noise': ['policy_noise_coef'],
    'target_noise_clip': ['noise_clip'],
    'policy_kwargs': ['net_arch (and activation)'],
    'activation_fn': ['activation (a name: tanh, relu, ...)'],
    'eval_freq': ['eval_interval'],
    'save_freq': ['save_interval (in seconds)'],
    'log_interval': ['log_frequency'],
    'tensorboard_log': ['tensorboard'],
    'verbose': ['quiet (verbose 0)'],
    'save_replay_buffer': ['save_buffer'],
}
# Other libraries' replay settings: an agent with none of its names for them keeps no replay buffer.
REPLAY_NAMES = {
    'buffer_size',
    'learning_starts',
    'train_freq',
    'gradient_steps',
    'target_update_interval',
    'replay_buffer_class',
    'replay_buffer_kwargs',
    'optimize_memory_usage',
    'save_replay_buffer',
}
# SB3's arguments of learn (xagents' fit), given where an agent is made.
FIT_NAMES = {'total_timesteps', 'n_timesteps', 'reset_num_timesteps', 'callback', 'progress_bar'}


def closest_name(name: str, known: list[str], aliases: dict[str, list[str]] = OTHER_NAMES) -> str | None:
    """The name of ``known`` that ``name`` most likely means (another library's name, a typo), maybe
    with a note, or None. Another library's name none of whose meanings is known gets None, not a
    look-alike (SB3's ``buffer_size`` is not PPO's ``reward_buffer_size``)."""
    for alias in aliases.get(name, []):
        if alias.split()[0] in known:
            return alias
    if name in aliases:
        return None
    matches = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
    return matches[0] if matches else None


def missing_note(name: str, known: list[str]) -> str | None:
    """What stands in for another library's ``name`` that has no counterpart among ``known``, or None."""
    if name in REPLAY_NAMES:
        return 'this agent keeps no replay buffer: it learns from its own rollouts'
    if name in FIT_NAMES and 'max_steps' not in known:
        return 'an argument of fit here: agent.fit(max_steps=N) counts from the first step, fit(more_steps=N) from now'
    return None


def unknown_names(unknown: list[str], known: list[str]) -> str:
    """``unknown`` names, each with its "did you mean" among ``known`` (or what stands in for it) where there is one."""
    return ', '.join(name + name_hint(name, known) for name in sorted(unknown))


def name_hint(name: str, known: list[str]) -> str:
    if guess := closest_name(name, known):
        return f' (did you mean {guess}?)'
    note = missing_note(name, known)
    return f' ({note})' if note else ''


def renamed_fields(config_class) -> dict[str, str]:
    """Old name -> name now, of each renamed field of ``config_class`` (its ``hp(..., aliases=...)``)."""
    return {
        alias: field.name
        for field in dataclasses.fields(config_class)
        if field.metadata
        for alias in field.metadata['argparse'].get('aliases', ())
    }


def current_names(config_class, values: dict, deprecated: bool = False) -> dict:
    """``values`` (keywords, a run's saved hyperparameters, a preset) with renamed fields under their names now.

    With ``deprecated``, an old name warns (a DeprecationWarning at the first caller outside xagents).
    """
    renamed = renamed_fields(config_class)
    current = {}
    for name, value in values.items():
        new = renamed.get(name, name)
        if new != name:
            if new in values:
                raise TypeError(f'{name} is the old name of {new}: give one of them')
            if deprecated:
                warnings.warn(f'{name} is deprecated: use {new}', DeprecationWarning, stacklevel=_user_stacklevel())
        current[new] = value
    return current


def _user_stacklevel() -> int:
    """The ``stacklevel`` of the first caller outside xagents, for a warning its caller raises."""
    frame, level = sys._getframe(1), 1
    while frame is not None:
        module = frame.f_globals.get('__name__', '')
        if not module.startswith('xagents.') or module.startswith('xagents.tests'):
            break
        frame, level = frame.f_back, level + 1
    return level
