"""Old names of renamed hyperparameters: still taken as keywords, flags and in saved runs and presets.

A field renamed in its config keeps its old names in ``hp(..., aliases=(...))``: the flags
take them as hidden spellings (:func:`xagents.commands.flags.add_config_flags`), and the
functions here give keywords, a run's ``config.json`` and presets the names of today.
"""

from __future__ import annotations

import dataclasses
import sys
import warnings


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
