"""The ``xagents`` command: train | play | tune | plot.

Parsing imports no TensorFlow: flags come from the agents' ``cli.py`` configs, so
``xagents --help`` and every usage error answer in well under a second.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import sys
from pathlib import Path

import xagents
from xagents.utils.cli import (
    TRAINING_ONLY,
    AgentConfig,
    ArgumentParser,
    EnvOptions,
    add_config_flags,
    config_from_args,
    error_line,
    format_table,
    help_rows,
    hp,
    read_run_config,
)

COMMANDS = {
    'train': 'Train an agent on an environment',
    'play': 'Play (and record) a trained agent',
    'tune': 'Search hyperparameters with optuna',
    'plot': 'Plot training histories',
}


@dataclasses.dataclass
class TrainOptions:
    target_reward: float | None = hp(None, 'Stop when the mean reward reaches this value')
    max_steps: int | None = hp(None, 'Stop after this many environment steps', positive=True)
    checkpoints: list[str] | None = hp(None, 'Paths for the best model checkpoints, one per model', nargs='+')
    weights: list[str] | None = hp(None, 'Checkpoints to start from, one per model (or a run directory)', nargs='+')
    history_checkpoint: str | None = hp(None, 'Parquet file for the per-episode history')
    output_dir: str | None = hp(None, 'Run directory (default: runs/<agent>-<env>-<time>)')
    resume: str | None = hp(None, 'Continue the run in this run directory')
    no_presets: bool = hp(False, 'Ignore the per-environment presets shipped with the agent')
    preset: str | None = hp(None, 'JSON file of hyperparameters used as the preset (such as xagents tune writes)')


@dataclasses.dataclass
class PlayOptions:
    weights: list[str] | None = hp(None, 'Checkpoints to play, one per model (or a run directory)', nargs='+')
    run: str | None = hp(None, 'Run directory to play: environment, settings and best weights from it')
    snapshot: int | None = hp(None, "With --run: play the run's first snapshot at or after this step, not the best")
    episodes: int = hp(1, 'Episodes to play', positive=True)
    render: bool = hp(False, 'Show the game on the display (ignored without one)')
    video_dir: str | None = hp(None, 'Folder for an mp4 video per episode')
    frame_dir: str | None = hp(None, 'Folder for jpg frames')
    frame_frequency: int = hp(1, 'With --frame-dir or --gif: keep every n-th frame', positive=True)
    gif: str | None = hp(None, 'Animated gif of the first episode, at most 320 pixels wide (for a README)')
    max_steps: int | None = hp(None, 'Maximum steps per episode', positive=True)
    deterministic: bool = hp(False, 'Take the most likely (greedy / mean) action: the default')
    stochastic: bool = hp(False, 'Sample actions instead of taking the most likely one')
    random: bool = hp(False, 'Play uniformly random actions instead of the agent: a baseline to compare with')
    seed: int | None = hp(None, 'Seed of the environment')
    name_prefix: str | None = hp(None, 'Start of the video file names (default: the environment id)')
    output: str | None = hp(None, 'JSON file for the per-episode results and their summary')


@dataclasses.dataclass
class PlotOptions:
    labels: list[str] | None = hp(None, 'One label per history (same label: mean and std band)', nargs='+')
    x: str = hp('step', 'Horizontal axis', choices=['step', 'time', 'episode'])
    output: str = hp('history.png', 'PNG file to write')
    env: str = hp('', 'Title of the plot')
    history_interval: int = hp(1, 'Plot every n-th episode', positive=True)


def fail(message: str, code: int = 2):
    sys.stderr.write(f'xagents: error: {message}\n')
    raise SystemExit(code)


def agent_cli(name: str):
    if name not in xagents.AGENTS:
        fail(f'unknown agent {name!r}, expected one of: {", ".join(xagents.AGENTS)}')
    return importlib.import_module(f'xagents.{name}.cli')


def model_flag(role: str) -> str:
    return 'model' if role == 'model' else f'{role}_model'


def agent_options(module) -> list[tuple[str, str, str, str]]:
    base = {field.name for field in dataclasses.fields(AgentConfig)}
    own = [row for row in help_rows(module.CONFIG) if row[0][2:].replace('-', '_') not in base]
    models = [
        (f'--{model_flag(role).replace("_", "-")}', f'{role} .cfg file', 'agent default', '-')
        for role in module.MODEL_ROLES
    ]
    return own + models


def usage() -> str:
    lines = [
        f'xagents {xagents.__version__}: deep reinforcement learning agents (TensorFlow 2, gymnasium)',
        '',
        'usage: xagents <command> [<agent>] [options]',
        '',
        'commands:',
        *[f'  {name:<8}{text}' for name, text in COMMANDS.items()],
        '',
        f'agents: {", ".join(xagents.AGENTS)}',
        '',
        "xagents <command> lists its options; xagents <command> <agent> adds the agent's.",
    ]
    return '\n'.join(lines)


def command_help(command: str, module=None) -> str:
    sections = []
    if command in ('train', 'play', 'tune'):
        sections.append(format_table('environment:', help_rows(EnvOptions)))
    if command == 'train':
        sections.append(format_table('training:', help_rows(TrainOptions)))
    if command == 'play':
        sections.append(format_table('playing:', help_rows(PlayOptions)))
    if command == 'tune':
        from xagents.tune import SEARCH_HELP, TuneOptions

        sections.append(format_table('tuning:', help_rows(TuneOptions)))
        sections.append(SEARCH_HELP)
    if command in ('train', 'tune'):
        config = module.CONFIG if module else AgentConfig
        base = {field.name for field in dataclasses.fields(AgentConfig)}
        if command == 'tune':
            base -= {*TRAINING_ONLY, 'quiet'}
        rows = [row for row in help_rows(config) if row[0][2:].replace('-', '_') in base]
        sections.append(format_table('agent (all agents):', rows))
    if command == 'plot':
        sections.append('usage: xagents plot HISTORY [HISTORY ...] [options]')
        sections.append(format_table('plotting:', help_rows(PlotOptions)))
    if module is not None and command in ('train', 'play', 'tune'):
        sections.append(format_table(f'{module.__name__.split(".")[1]}:', agent_options(module)))
        if command != 'tune':
            sections.append("agent switches (default '-' or 'on') also take --no-<switch>, to turn off a preset's")
    if module is not None and getattr(module, 'PRESETS', None):
        sections.append('presets (used by default on these envs, flags override): ' + ', '.join(module.PRESETS))
    return f'usage: xagents {command} <agent> [options]\n\n' + '\n\n'.join(sections)


def build_parser(command: str, module) -> ArgumentParser:
    parser = ArgumentParser(prog=f'xagents {command}', add_help=False, allow_abbrev=False)
    add_config_flags(parser, EnvOptions, 'environment')
    options = TrainOptions if command == 'train' else PlayOptions
    add_config_flags(parser, options, command)
    skip = {'seed', *TRAINING_ONLY} if command == 'play' else set()
    add_config_flags(parser, module.CONFIG, 'agent', skip=skip, negatable=True)
    for role in module.MODEL_ROLES:
        parser.add_argument(f'--{model_flag(role).replace("_", "-")}', dest=model_flag(role), default=None)
    return parser


def hyperparameters(module, args, preset: dict, skip=()) -> dict:
    """Preset (or saved) values overridden by the given flags; fixed fields such as DDPG's are left out."""
    names = {field.name for field in dataclasses.fields(module.CONFIG) if field.init and field.name not in skip}
    values = {name: value for name, value in preset.items() if name in names}
    values.update({name: value for name, value in vars(args).items() if name in names})
    return values


# With --debug anywhere on the command line, errors show their traceback.
DEBUG = False


def main(argv: list[str] | None = None) -> int:
    """The ``xagents`` command: errors a user can cause are one line on stderr with exit code 2,
    a failed run (diverged, or an internal error) exits 1, and ``--debug`` shows tracebacks."""
    global DEBUG
    argv = list(sys.argv[1:] if argv is None else argv)
    DEBUG = '--debug' in argv
    argv = [arg for arg in argv if arg != '--debug']
    try:
        return command_line(argv)
    except KeyboardInterrupt:
        if DEBUG:
            raise
        sys.stderr.write('xagents: interrupted\n')
        return 130
    except BrokenPipeError:  # output piped into a program that stopped reading (such as head)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as error:
        if DEBUG:
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
        print(f'xagents {xagents.__version__}')
        return 0
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        fail(f'unknown command {command!r}, expected one of: {", ".join(COMMANDS)}')
    if command == 'plot':
        return plot(rest)
    if not rest or rest[0] in ('-h', '--help'):
        print(command_help(command))
        return 0
    if rest[0].startswith('-'):
        fail(f'{command} needs an agent first: xagents {command} <agent> ... (agents: {", ".join(xagents.AGENTS)})')
    module = agent_cli(rest[0])
    if len(rest) == 1 or '-h' in rest or '--help' in rest:
        print(command_help(command, module))
        return 0
    if command == 'tune':
        from xagents.tune import tune

        return tune(rest[0], module, rest[1:])
    if command == 'play' and '--run' in rest:
        rest = run_defaults(rest) + rest[1:]
    args = build_parser(command, module).parse_args(rest[1:])
    runner = train if command == 'train' else play
    return run_guarded(runner, rest[0], module, args)


def run_defaults(rest: list[str]) -> list[str]:
    """``--env`` and environment flags from a run directory's config.json (its hyperparameters: see ``play``)."""
    run = Path(rest[rest.index('--run') + 1]) if rest.index('--run') + 1 < len(rest) else None
    if run is None:
        fail('--run needs an xagents run directory')
    try:
        config = read_run_config(run)
    except ValueError as error:
        fail(str(error))
    extra = ['--env', config['env']] if '--env' not in rest else []
    extra += [f'--{name.replace("_", "-")}' for name in ('preprocess', 'max_frame') if config.get(name)]
    return [rest[0], *extra]


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with its native start-up log lines (printed before absl starts) hidden."""
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, 'w') as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow as tf

            tf.config.list_physical_devices()  # device discovery logs too (no CUDA driver)
            tf.get_logger().setLevel('ERROR')  # not its warnings about checkpoints that did not load
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def check_env(env_id: str) -> None:
    """Fail fast, before TensorFlow loads, on an unknown environment id."""
    import gymnasium as gym

    from xagents.utils.envs import register_atari

    if env_id.startswith('ALE/') or 'NoFrameskip' in env_id:
        register_atari()
    try:
        gym.spec(env_id)
    except gym.error.Error as error:
        fail(f'unknown environment {env_id!r}: {str(error).splitlines()[0]}')


def run_guarded(runner, name, module, args) -> int:
    """Run a command, turning the errors a user can cause into one line and exit code 2."""
    check_env(args.env)
    if runner is train and getattr(args, 'target_reward', None) is None and getattr(args, 'max_steps', None) is None:
        fail('train needs --target-reward or --max-steps (or both)')
    import_tensorflow_quietly()
    from xagents.base import CheckpointError, TrainingDiverged
    from xagents.utils.history import HistoryError
    from xagents.utils.models import ModelConfigError

    try:
        return runner(name, module, args)
    except TrainingDiverged as error:
        if DEBUG:
            raise
        fail(f'training diverged: {error}', code=1)
    # OSError: output paths a user got wrong (a file where a folder goes, no permission).
    except (ValueError, TypeError, CheckpointError, HistoryError, ModelConfigError, OSError) as error:  # noqa: B014
        if DEBUG:
            raise
        fail(error_line(error))


def model_files(module, args) -> list[str] | None:
    files = [getattr(args, model_flag(role)) for role in module.MODEL_ROLES]
    if all(file is None for file in files):
        return None
    if any(file is None for file in files):
        fail(
            'give every model file or none: '
            + ' '.join(f'--{model_flag(r).replace("_", "-")}' for r in module.MODEL_ROLES)
        )
    return files


def train(name: str, module, args) -> int:
    args = argparse.Namespace(**(vars(args) | dataclasses.asdict(config_from_args(TrainOptions, args))))
    preset = {} if args.no_presets else getattr(module, 'PRESETS', {}).get(args.env, {})
    if args.preset:
        preset = read_preset(args.preset)
    run = run_config(args.resume, name, args.env) if args.resume else None
    if run is not None:  # the run goes on with its own settings; flags given still override them
        preset = {
            **run['hyperparameters'],
            **{key: run[key] for key in ('n_envs', 'preprocess', 'max_frame') if key in run},
        }
    env_options = config_from_args(EnvOptions, args, **preset)
    hparams = hyperparameters(module, args, preset)
    if env_options.preprocess:
        hparams.setdefault('clip_rewards', True)
        hparams.setdefault('life_loss_terminal', True)
    used = {key: value for key, value in preset.items() if key not in vars(args)}  # flags given override
    if used and run is None:
        print(
            f'Using the {args.preset or args.env} preset of {name}'
            + ('' if args.preset else ' (--no-presets to ignore)')
            + ': '
            + ', '.join(f'{key}={value}' for key, value in used.items())
        )
    if getattr(args, 'seed', None) is not None:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    agent_class = xagents.agents[name]
    agent = agent_class.from_env(
        args.env,
        **_env_kwargs(env_options),
        model_files=model_files(module, args) or (run or {}).get('model_files'),
        checkpoints=args.checkpoints,
        history_checkpoint=args.history_checkpoint,
        output_dir=args.output_dir,
        **hparams,
    )
    if args.resume:
        agent.resume(args.resume)
        print(f'Resuming {args.resume} at step {agent.steps:,}, episode {agent.episodes:,}')
    if args.weights:
        agent.load_weights(args.weights)
    agent.fit(target_reward=args.target_reward, max_steps=args.max_steps)
    return 0


def run_config(run_dir: str, agent: str, env: str) -> dict | None:
    """The config.json of a run to resume (None when there is none: resuming then says why)."""
    if not (Path(run_dir) / 'config.json').is_file():
        return None
    try:
        config = read_run_config(run_dir)
    except ValueError as error:
        fail(str(error))
    if (config['agent'], config['env']) != (agent, env):
        fail(f'{run_dir} is a run of {config.get("agent")} on {config.get("env")}, not of {agent} on {env}')
    return config


def read_preset(path: str) -> dict:
    """Hyperparameters from a preset file: ``{"hyperparameters": {...}}`` (xagents tune's) or a plain mapping."""
    try:
        content = json.loads(Path(path).read_text())
    except FileNotFoundError:
        fail(f'preset file not found: {path}')
    except (json.JSONDecodeError, UnicodeDecodeError, IsADirectoryError) as error:
        fail(f'{path} is not a JSON preset file: {str(error).splitlines()[0]}')
    values = content.get('hyperparameters', content) if isinstance(content, dict) else None
    if not isinstance(values, dict):
        fail(f'{path} is not a JSON preset file (expected an object of hyperparameters)')
    return values


def _env_kwargs(options: EnvOptions) -> dict:
    values = dataclasses.asdict(options)
    values.pop('env')
    return values


def play(name: str, module, args) -> int:
    args = argparse.Namespace(**(vars(args) | dataclasses.asdict(config_from_args(PlayOptions, args))))
    weights = args.weights or ([args.run] if args.run else None)
    if not weights and not args.random:
        fail('play needs --weights (one per model), --run DIR or --random')
    if args.snapshot is not None:
        weights = snapshot_paths(module, args.run, args.snapshot)
    if args.deterministic and args.stochastic:
        fail('--deterministic and --stochastic exclude each other')
    if args.output and Path(args.output).is_dir():
        fail(f'--output must be a file, {args.output} is a folder')
    # A run's own hyperparameters (dueling heads, observation normalization, ...) build
    # the same models its weights came from; flags given here still override them.
    saved = read_run_config(args.run)['hyperparameters'] if args.run else {}
    agent = xagents.agents[name].from_env(
        args.env,
        **_env_kwargs(config_from_args(EnvOptions, args)),
        model_files=model_files(module, args),
        **hyperparameters(module, args, saved, skip=TRAINING_ONLY),
    )
    if args.random:
        print('Playing uniformly random actions (--random): a baseline, not the trained agent')
    else:
        agent.load_weights(weights)
    episodes = agent.play(
        episodes=args.episodes,
        video_dir=args.video_dir,
        frame_dir=args.frame_dir,
        frame_frequency=args.frame_frequency,
        render=args.render,
        max_steps=args.max_steps,
        deterministic=not args.stochastic,
        seed=args.seed,
        name_prefix=args.name_prefix,
        random=args.random,
        gif=args.gif,
    )
    import numpy as np

    rewards, lengths = [e['reward'] for e in episodes], [e['length'] for e in episodes]
    summary = {
        'episodes': len(episodes),
        'mean_reward': float(np.mean(rewards)),
        'std_reward': float(np.std(rewards)),
        'mean_length': float(np.mean(lengths)),
        'policy': 'random' if args.random else 'stochastic' if args.stochastic else 'deterministic',
    }
    print(
        f'mean reward {summary["mean_reward"]:.2f} ± {summary["std_reward"]:.2f} over {len(episodes)} episode(s), '
        f'mean length {summary["mean_length"]:.1f} steps'
    )
    if args.video_dir:
        print(f'videos in {args.video_dir}')
    if args.output:
        output = Path(args.output)
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(json.dumps({'env': args.env, **summary, 'per_episode': episodes}, indent=2))
        except OSError as error:
            fail(f'cannot write --output {output}: {error.strerror}')
        print(f'results in {output}')
    return 0


def snapshot_paths(module, run: str | None, step: int) -> list[str]:
    """The checkpoint folders, one per model, of the snapshot taken at ``step`` in run directory ``run``."""
    if run is None:
        fail('--snapshot needs --run DIR (the run whose snapshot to play)')
    folder = Path(run) / 'snapshots'
    # Only complete snapshots: a run killed while saving one leaves it without pointer files.
    taken = sorted(
        int(path.name.removeprefix('step-'))
        for path in (folder.glob('step-*') if folder.is_dir() else [])
        if all((path / role / 'checkpoint').is_file() for role in module.MODEL_ROLES)
    )
    if not taken:
        fail(f'{run} has no snapshots (train with --snapshot-interval to keep them)')
    later = [taken_step for taken_step in taken if taken_step >= step]
    if not later:
        shown = ', '.join(map(str, taken[-20:]))
        fail(f'{run} has no snapshot at or after step {step}; the last ones are at steps: {shown}')
    if later[0] != step:
        print(f'Playing the first snapshot at or after step {step:,}: step {later[0]:,}')
    return [str(folder / f'step-{later[0]}' / role) for role in module.MODEL_ROLES]


def plot(rest: list[str]) -> int:
    if not rest or rest[0] in ('-h', '--help'):
        print(command_help('plot'))
        return 0
    parser = ArgumentParser(prog='xagents plot', add_help=False, allow_abbrev=False)
    parser.add_argument('histories', nargs='+')
    add_config_flags(parser, PlotOptions, 'plot')
    args = parser.parse_args(rest)
    options = config_from_args(PlotOptions, args)
    import matplotlib

    from xagents.utils.history import HistoryError, plot_history

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(8, 5))
    try:
        plot_history(args.histories, options.labels, options.env, options.history_interval, options.x, ax=ax)
    except (HistoryError, ValueError) as error:
        fail(str(error))
    output = Path(options.output)
    if output.suffix.lower() != '.png' or output.is_dir():
        fail(f'--output must be a .png file, got {output}')
    if not output.parent.is_dir():
        fail(f'folder for --output does not exist: {output.parent}')
    figure.tight_layout()
    temporary = output.with_name(f'.{output.name}.part.png')
    figure.savefig(temporary, dpi=120)
    os.replace(temporary, output)
    print(f'Plot saved to {output}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
