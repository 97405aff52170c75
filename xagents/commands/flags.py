"""Flags from the config schema: argparse parsers, help tables and one-line usage errors."""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
import textwrap

from xagents.core import schedules
from xagents.core.renamed import OTHER_NAMES, closest_name, missing_note
from xagents.core.schema import field_type, flag_name, parse_scalar


def scalar_converter(kind: type, positive: bool = False):
    """A plain flag's converter: ``kind`` read from the text (:func:`~xagents.core.schema.parse_scalar`)."""

    def convert(text: str):
        try:
            return parse_scalar(kind, text, positive)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    convert.__name__ = kind.__name__
    return convert


def schedule_converter(positive: bool):
    """A schedulable flag's converter: a number or ``lin_<number>``."""

    def float_or_schedule(text: str):
        return schedules.checked(text, positive)

    return float_or_schedule


def converted(convert):
    """A field's own converter (such as ``key:value`` pairs), its ValueError as argparse's one-line error."""

    def parse(text: str):
        try:
            return convert(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    parse.__name__ = convert.__name__
    return parse


def old_flags(field: dataclasses.Field) -> list[str]:
    """The hidden old spellings of a field's flag (its ``hp(..., aliases=...)``)."""
    return [flag_name(alias) for alias in field.metadata['argparse'].get('aliases', ())]


def add_config_flags(parser: argparse.ArgumentParser, config_class, title: str, skip=(), negatable=False) -> None:
    """Add one flag per field of ``config_class`` to ``parser``.

    With ``negatable``, a switch ``--x`` also gets ``--no-x``, to turn off what a preset turned on.
    The old names of a renamed field (``hp(..., aliases=...)``) are hidden flags of the same destination.
    """
    group = parser.add_argument_group(title)
    for field in dataclasses.fields(config_class):
        if field.name in skip or not field.metadata:
            continue
        kind = field_type(field)
        meta = field.metadata
        extra = dict(meta['argparse'])
        positive = extra.pop('positive', False)
        extra.pop('aliases', None)
        convert = extra.pop('type', None)
        if extra.pop('schedule', False):
            convert = schedule_converter(positive)
        kwargs = {'help': meta['help'], 'dest': field.name, 'default': argparse.SUPPRESS}
        if kind is bool:
            kwargs['action'] = argparse.BooleanOptionalAction if negatable else 'store_true'
        else:
            kwargs['type'] = scalar_converter(kind, positive) if convert is None else converted(convert)
            kwargs['metavar'] = kind.__name__.upper()
        kwargs.update(extra)
        group.add_argument(flag_name(field.name), **kwargs)
        for flag in old_flags(field):
            group.add_argument(flag, **{**kwargs, 'help': argparse.SUPPRESS})


def config_from_args(config_class, args: argparse.Namespace, **overrides):
    """Build ``config_class`` from parsed flags, given flags taking precedence."""
    names = {field.name for field in dataclasses.fields(config_class)}
    values = {name: value for name, value in overrides.items() if name in names}
    values.update({name: value for name, value in vars(args).items() if name in names})
    return config_class(**values)


def help_rows(config_class, skip=()) -> list[tuple[str, str, str, str]]:
    """Rows (flag, help, default, tuning type) for a help table."""
    rows = []
    for field in dataclasses.fields(config_class):
        if field.name in skip or not field.metadata:
            continue
        default = field.default if field.default is not dataclasses.MISSING else field.default_factory()
        if field_type(field) is bool:
            default = '-' if not default else 'on'
        rows.append(
            (
                flag_name(field.name),
                field.metadata['help'],
                '-' if default is None else str(default),
                field.metadata['tune'] or '-',
            )
        )
    return rows


def format_table(title: str, rows: list[tuple[str, ...]], header=('flag', 'help', 'default', 'tuning')) -> str:
    """A table that fits the terminal: the help column (the second) wraps onto more lines."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    space = shutil.get_terminal_size((120, 24)).columns - 1
    others = sum(widths) - widths[1] + 2 * len(widths)
    widths[1] = max(20, min(widths[1], space - others))
    lines = []
    for row in [header, ['-' * width for width in widths], *rows]:
        wrapped = textwrap.wrap(str(row[1]), widths[1]) or ['']
        for index, part in enumerate(wrapped):
            cells = [str(cell) if index == 0 else '' for cell in row]
            cells[1] = part
            lines.append(('  ' + '  '.join(cell.ljust(width) for cell, width in zip(cells, widths))).rstrip())
    return '\n'.join([title, *lines])


def fit_text(text: str) -> str:
    """Prose lines wrapped to the terminal, each keeping its indent (continuations two more)."""
    width = shutil.get_terminal_size((120, 24)).columns - 1
    lines = []
    for line in text.splitlines():
        indent = ' ' * (len(line) - len(line.lstrip()))
        lines += textwrap.wrap(line, width, initial_indent='', subsequent_indent=indent + '  ') or ['']
    return '\n'.join(lines)


# Flags of other libraries (Stable-Baselines3, RL Zoo, CleanRL) that xagents spells differently: their
# keywords' (core/renamed.py) with dashes, and those of the command line alone.
FLAG_ALIASES = {
    **{
        flag_name(name): [flag_name(alias.split()[0]) + alias[len(alias.split()[0]) :] for alias in aliases]
        for name, aliases in OTHER_NAMES.items()
    },
    '-f': ['--output-dir', '--run'],
    '--log-folder': ['--output-dir'],
    '--trained-agent': ['--weights'],
    '-i': ['--weights'],
    '--env-id': ['--env'],
    # RL Zoo's train.py / enjoy.py
    '-n': ['--max-steps', '--episodes'],
    '--folder': ['--output-dir', '--run'],
    '--hyperparams': ['--preset (a JSON file; or the agent flags)'],
    '--verbose': ['--quiet (the opposite: progress shows unless --quiet)'],
    '--load-best': ['--run (plays the best checkpoint)'],
    '--load-checkpoint': ['--snapshot'],
    '--no-render': ['--render (off unless given)'],
}
# Flags of other libraries with no xagents flag of their own: what takes their place.
FLAG_NOTES = {
    '--algo': 'the agent is the first argument, xagents <command> <agent>',
    '-optimize': 'xagents tune <agent> searches hyperparameters',
    '--optimize': 'xagents tune <agent> searches hyperparameters',
    '--optimize-hyperparameters': 'xagents tune <agent> searches hyperparameters',
    '--n-trials': 'xagents tune <agent> --n-trials',
}


def closest_flag(flag: str, known: list[str]) -> str | None:
    """The flag of ``known`` that ``flag`` most likely means (another library's name, a typo), or None."""
    return closest_name(flag, known, FLAG_ALIASES)


class ArgumentParser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line on stderr and exit code 2, with a hint for
    each unknown flag (another library's name, a typo), also when a required flag is missing."""

    def parse_known_args(self, args=None, namespace=None):
        self.given = list(sys.argv[1:] if args is None else args)
        self.check_old_and_new_names()
        return super().parse_known_args(args, namespace)

    def check_old_and_new_names(self) -> None:
        """A flag given under its old name and its name now (``--max-steps`` and ``--max-episode-steps``
        in play) is an error, as the Python keywords' are: argparse would keep the last one silently."""
        spellings = {}
        for arg in self.given:
            action = self._option_string_actions.get(arg.split('=', 1)[0]) if arg.startswith('--') else None
            if action is not None:
                spellings.setdefault(action.dest, {})[arg.split('=', 1)[0]] = action
        for flags in spellings.values():
            old = [flag for flag, action in flags.items() if action.help is argparse.SUPPRESS]
            if old and len(flags) > 1:
                self.error(f'{old[0]} is the old name of {flag_name(flags[old[0]].dest)}: give one of them')

    def error(self, message: str):
        if message.startswith('unrecognized arguments: '):
            flags = [word for word in message.split()[2:] if word.startswith('-')]
        elif message.startswith('the following arguments are required'):
            # Such as --env given as --env-id: argparse says so before it names the unknown flags.
            flags = [arg.split('=', 1)[0] for arg in getattr(self, 'given', []) if self.unknown_flag(arg)]
            if flags:
                message += f'; unrecognized arguments: {" ".join(flags)}'
        else:
            flags = []
        known = [
            option
            for option, action in self._option_string_actions.items()
            if option.startswith('--') and action.help is not argparse.SUPPRESS  # not the hidden old names
        ]
        if not any(flag.startswith('--her') for flag in known) and any(f.startswith('--her') for f in flags):
            message += ' (hindsight experience replay is for the off-policy agents: dqn, ddpg, td3 and sac)'
        guesses = [guess for flag in flags if flag not in FLAG_NOTES and (guess := closest_flag(flag, known))]
        if guesses:
            message += f' (did you mean {", ".join(guesses)}?)'
        notes = {}  # note -> the flags it answers
        for flag in flags:
            note = FLAG_NOTES.get(flag) or self.missing_note(flag, known)
            if note:
                notes.setdefault(note, []).append(flag)
        notes = [f'{", ".join(noted)}: {note}' for note, noted in notes.items()]
        if notes:
            message += f' ({"; ".join(notes)})'
        sys.stderr.write(f'xagents: error: {message}\n')
        raise SystemExit(2)

    @staticmethod
    def missing_note(flag: str, known: list[str]) -> str | None:
        """What stands in for another library's flag that has no counterpart among ``known``."""
        if not flag.startswith('--') or closest_flag(flag, known):
            return None
        return missing_note(flag[2:].replace('-', '_'), [option[2:].replace('-', '_') for option in known])

    def unknown_flag(self, arg: str) -> bool:
        """Whether ``arg`` is a flag this parser does not take (a negative number is a value)."""
        if not arg.startswith('-') or arg == '-' or self._negative_number_matcher.match(arg):
            return False
        return arg.split('=', 1)[0] not in self._option_string_actions
