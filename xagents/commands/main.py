"""The ``xagents`` command: train | play | tune | plot | export.

Parsing imports no TensorFlow: flags come from the agents' ``config.py``, so
``xagents --help`` and every usage error answer in well under a second.
"""

from __future__ import annotations

import dataclasses
import os
import sys

from xagents.commands import failing
from xagents.commands.agent_flags import add_model_flags, agent_module, agent_options
from xagents.commands.environment import EnvOptions, check_env
from xagents.commands.failing import fail, run_guarded
from xagents.commands.flags import ArgumentParser, add_config_flags, fit_text, format_table, help_rows
from xagents.commands.play import PLAY_OPTIONS, PlayOptions, play, run_agent, run_defaults
from xagents.commands.plot import plot
from xagents.commands.train import TrainCommandOptions, check_train, train
from xagents.core.config import AgentConfig
from xagents.core.errors import error_line
from xagents.extras import MissingExtra
from xagents.registry import AGENTS, __version__
from xagents.train.options import TrainingOptions

COMMANDS = {
    'train': 'Train an agent on an environment',
    'play': 'Play (and record) a trained agent',
    'tune': 'Search hyperparameters with optuna',
    'plot': 'Plot learning curves of runs, histories and evaluations',
    'export': 'Export a trained policy (SavedModel, ONNX, TFLite)',
}


def usage() -> str:
    lines = [
        f'xagents {__version__}: deep reinforcement learning agents (TensorFlow 2, gymnasium)',
        '',
        'usage: xagents <command> [<agent>] [options]',
        '',
        'commands:',
        *[f'  {name:<8}{text}' for name, text in COMMANDS.items()],
        '',
        f'agents: {", ".join(AGENTS)}',
        '',
        "xagents <command> lists its options; xagents <command> <agent> adds the agent's.",
    ]
    return '\n'.join(lines)


def command_help(command: str, module=None) -> str:
    sections = [format_table('environment:', help_rows(EnvOptions))]
    if command == 'train':
        sections.append(format_table('training:', help_rows(TrainCommandOptions) + help_rows(TrainingOptions)))
    if command == 'play':
        sections.append(format_table('playing:', help_rows(PlayOptions)))
    if command == 'tune':
        from xagents.commands.tune import TRIAL_OPTIONS
        from xagents.tune.options import SEARCH_HELP, TuneOptions

        sections.append(format_table('tuning:', help_rows(TuneOptions)))
        sections.append(fit_text(SEARCH_HELP))
        loop = [row for row in help_rows(TrainingOptions) if row[0][2:].replace('-', '_') in TRIAL_OPTIONS]
        sections.append(format_table('training loop (fixed per trial):', loop))
    if command in ('train', 'tune'):
        config = module.CONFIG if module else AgentConfig
        base = {field.name for field in dataclasses.fields(AgentConfig)}
        rows = [row for row in help_rows(config) if row[0][2:].replace('-', '_') in base]
        sections.append(format_table('agent (all agents):', rows))
    if module is not None:
        sections.append(format_table(f'{module.__name__.split(".")[1]}:', agent_options(module, help_rows)))
        if command != 'tune':
            sections.append(
                fit_text("agent switches (default '-' or 'on') also take --no-<switch>, to turn off a preset's")
            )
        if getattr(module, 'PRESETS', None):
            sections.append(
                fit_text('presets (used by default on these envs, flags override): ' + ', '.join(module.PRESETS))
            )
    usage = f'usage: xagents {command} <agent> [options]'
    if command == 'play':
        usage += "\n       xagents play --run DIR [options]   (the agent is the run's)"
    return usage + '\n\n' + '\n\n'.join(sections)


def command_parser(command: str, module) -> ArgumentParser:
    parser = ArgumentParser(prog=f'xagents {command}', add_help=False, allow_abbrev=False)
    add_config_flags(parser, EnvOptions, 'environment', negatable=True)
    add_config_flags(parser, TrainCommandOptions if command == 'train' else PlayOptions, command)
    loop = TrainingOptions.names(without=PLAY_OPTIONS) if command == 'play' else ()
    add_config_flags(parser, TrainingOptions, 'training loop', skip=loop, negatable=True)
    skip = {'seed'} if command == 'play' else set()
    add_config_flags(parser, module.CONFIG, 'agent', skip=skip, negatable=True)
    add_model_flags(parser, module)
    return parser


def main(argv: list[str] | None = None) -> int:
    """The ``xagents`` command: errors a user can cause (an extra missing too) are one line on stderr with
    exit code 2, a failed run (diverged, or an internal error) exits 1, and ``--debug`` shows tracebacks."""
    argv = list(sys.argv[1:] if argv is None else argv)
    failing.DEBUG = '--debug' in argv
    argv = [arg for arg in argv if arg != '--debug']
    try:
        return command_line(argv)
    except KeyboardInterrupt:
        if failing.DEBUG:
            raise
        sys.stderr.write('xagents: interrupted\n')
        return 130
    except MissingExtra as error:  # what is asked needs an extra: its pip install
        if failing.DEBUG:
            raise
        fail(str(error))
    except BrokenPipeError:  # output piped into a program that stopped reading (such as head)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as error:
        if failing.DEBUG:
            raise
        fail(
            f'internal error: {type(error).__name__}: {error_line(error)} (run again with --debug for the traceback)',
            code=1,
        )


def command_line(argv: list[str]) -> int:
    if not argv or argv[0] in ('-h', '--help'):
        print(usage())
        return 0
    if argv[0] in ('-v', '--version'):
        print(f'xagents {__version__}')
        return 0
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        fail(f'unknown command {command!r}, expected one of: {", ".join(COMMANDS)}')
    if command == 'plot':
        return plot(rest)
    if command == 'export':
        from xagents.commands.export import export_command

        return export_command(rest)
    rest = [part for arg in rest for part in (arg.split('=', 1) if arg.startswith(('--run=', '--resume=')) else [arg])]
    if command == 'play' and '--run' in rest:
        rest = run_agent(rest)
    if not rest or rest[0] in ('-h', '--help'):
        print(command_help(command))
        return 0
    if rest[0].startswith('-'):
        fail(f'{command} needs an agent first: xagents {command} <agent> ... (agents: {", ".join(AGENTS)})')
    rest = [rest[0].lower(), *rest[1:]]  # PPO, Ppo and ppo are one agent
    module = agent_module(rest[0])
    if len(rest) == 1 or '-h' in rest or '--help' in rest:
        print(command_help(command, module))
        return 0
    if command == 'tune':
        from xagents.commands.tune import tune

        return tune(rest[0], module, rest[1:])
    for flag in ('--run', '--resume'):
        if flag in rest and (command, flag) in (('play', '--run'), ('train', '--resume')):
            rest = run_defaults(rest, flag) + rest[1:]
    args = command_parser(command, module).parse_args(rest[1:])
    check_env(args.env)
    if command == 'train':
        check_train(args, module)
    return run_guarded(train if command == 'train' else play, rest[0], module, args)


if __name__ == '__main__':
    raise SystemExit(main())
