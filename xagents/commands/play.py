"""``xagents play``: play a trained agent (or random actions), record it, and report the rewards."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np

from xagents.commands.agent_flags import hyperparameters, model_files
from xagents.commands.environment import EnvOptions, env_kwargs
from xagents.commands.failing import fail
from xagents.commands.flags import config_from_args
from xagents.commands.resuming import check_play_flags, given_flags
from xagents.core.renamed import current_names
from xagents.core.schema import hp, without_ignored
from xagents.registry import agents
from xagents.run.folder import RunFolder, parse_checkpoint, read_run_config, run_model_files
from xagents.train.options import EXTRA_OUTPUTS, RUN_PATHS, TrainingOptions

# The training options play takes, as xagents 0.2 did (``--quiet`` silences the loading lines; the
# others are accepted and have nothing to do here): none that writes or evaluates.
PLAY_OPTIONS = TrainingOptions.names(without=(*RUN_PATHS, *EXTRA_OUTPUTS))


@dataclasses.dataclass
class PlayOptions:
    weights: list[str] | None = hp(None, 'Checkpoints to play, one per model (or a run directory)', nargs='+')
    run: str | None = hp(None, 'Run directory to play: environment, settings and best weights from it')
    snapshot: int | None = hp(None, "With --run: play the run's first snapshot at or after this step, not the best")
    checkpoint: str | None = hp(
        None, 'With --run: best (the default), latest, or a step (the first snapshot at or after it, as --snapshot)'
    )
    episodes: int = hp(1, 'Episodes to play', positive=True)
    render: bool = hp(False, 'Show the game on the display (ignored without one)')
    video_dir: str | None = hp(None, 'Folder for an mp4 video per episode (numbered on after those there)')
    frame_dir: str | None = hp(None, 'Folder for jpg frames')
    frame_frequency: int = hp(1, 'With --frame-dir or --gif: keep every n-th frame', positive=True)
    gif: str | None = hp(None, 'Animated gif of the first episode, at most 320 pixels wide (for a README)')
    max_episode_steps: int | None = hp(
        None,
        'Cut each episode after this many steps (the old --max-steps works too)',
        positive=True,
        aliases=('max_steps',),
    )
    deterministic: bool = hp(False, 'Take the most likely (greedy / mean) action: the default')
    stochastic: bool = hp(False, 'Sample actions instead of taking the most likely one')
    random: bool = hp(False, 'Play uniformly random actions instead of the agent: a baseline to compare with')
    seed: int | None = hp(None, 'Seed of the environment')
    name_prefix: str | None = hp(None, 'Start of the video file names (default: the environment id)')
    output: str | None = hp(None, 'JSON file for the per-episode results and their summary')


def run_defaults(rest: list[str], flag: str) -> list[str]:
    """``--env`` of the run directory after ``flag`` (``--run`` or ``--resume``), unless given.

    The rest of what the run keeps (Atari options, env kwargs, hyperparameters, model files) is
    read by ``play`` and ``train``.
    """
    position = rest.index(flag) + 1
    if position >= len(rest) or rest[position].startswith('-'):
        fail(f'{flag} needs an xagents run directory')
    try:
        config = read_run_config(rest[position])
    except ValueError as error:
        if flag == '--resume' and '--env' in rest:
            return [rest[0]]  # resuming says what is wrong with the folder, as before
        fail(str(error))
    return [rest[0], *(['--env', config['env']] if '--env' not in rest else [])]


def run_agent(rest: list[str]) -> list[str]:
    """``rest`` (after ``play``, with ``--run DIR``) led by the run's agent: the name may be left out,
    and a name that is not the run's is a one-line error naming the run's agent."""
    position = rest.index('--run') + 1
    if position >= len(rest) or rest[position].startswith('-'):
        fail('--run needs an xagents run directory')
    try:
        agent = read_run_config(rest[position])['agent']
    except ValueError as error:
        fail(str(error))
    if not rest[0].startswith('-'):
        if rest[0].lower() != agent:
            fail(
                f'{rest[position]} is a {agent} run, not {rest[0].lower()}: '
                f'xagents play --run {rest[position]} (the agent name may be left out)'
            )
        return rest
    return [agent, *rest]


def saved_run(run_dir: str | None) -> tuple[dict, dict, list[str] | None]:
    """What a run keeps for rebuilding its agent: hyperparameters, env options (kwargs) and model files."""
    if run_dir is None:
        return {}, {}, None
    config = read_run_config(run_dir)
    keys = ('preprocess', 'max_frame', 'env_kwargs', 'obs_keys', 'frame_stack')
    env = {key: config[key] for key in keys if config.get(key) is not None}
    return config['hyperparameters'], env, run_model_files(run_dir, config)


def play(name: str, module, args) -> int:
    if getattr(args, 'run', None) is not None:
        check_play_flags(args, given_flags(args, module), read_run_config(args.run))
    args = argparse.Namespace(**(vars(args) | dataclasses.asdict(config_from_args(PlayOptions, args))))
    if args.checkpoint is not None:
        choose_checkpoint(args)
    weights = args.weights or ([args.run] if args.run else None)
    if not weights and not args.random:
        fail('play needs --weights (one per model), --run DIR or --random')
    if args.snapshot is not None:
        weights = snapshot_paths(module, args.run, args.snapshot)
    if args.deterministic and args.stochastic:
        fail('--deterministic and --stochastic exclude each other')
    if args.output and Path(args.output).is_dir():
        fail(f'--output must be a file, {args.output} is a folder')
    if args.output and Path(args.output).exists():  # as export: results of another play are kept
        fail(f'{args.output} already exists: give a new --output path')
    # A run's own hyperparameters (dueling heads, observation normalization, ...) build
    # the same models its weights came from; flags given here still override them.
    saved, saved_env, saved_models = saved_run(args.run)
    saved = without_ignored(module.CONFIG, current_names(module.CONFIG, saved))  # a run of an older xagents
    agent = agents[name].from_env(
        args.env,
        **env_kwargs(config_from_args(EnvOptions, args, **saved_env)),
        model_files=model_files(module, args) or saved_models,
        **hyperparameters(module, args, saved, training=PLAY_OPTIONS),
    )
    if args.random:
        print('Playing uniformly random actions (--random): a baseline, not the trained agent')
    elif args.checkpoint == 'latest':
        from xagents.run.loading import load_checkpoint

        load_checkpoint(agent, args.run, 'latest')
        print(f'Loaded the latest checkpoint of {args.run}')
    else:
        agent.load_weights(weights)
    if args.seed is None:  # drawn, so that --output can say how to repeat the episodes
        args.seed = int(np.random.SeedSequence().generate_state(1)[0] >> 1)
    episodes = agent.play(
        episodes=args.episodes,
        video_dir=args.video_dir,
        frame_dir=args.frame_dir,
        frame_frequency=args.frame_frequency,
        render=args.render,
        max_steps=args.max_episode_steps,
        deterministic=not args.stochastic,
        seed=args.seed,
        name_prefix=args.name_prefix,
        random=args.random,
        gif=args.gif,
    )
    from xagents.play.episodes import summarize

    summary = {
        'episodes': len(episodes),
        **summarize(episodes),
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
            checkpoint = None if args.random else played_checkpoint(module, args, weights)
            played = {'seed': args.seed, 'checkpoint': checkpoint}
            results = {'env': args.env, **summary, **played, 'per_episode': episodes}
            output.write_text(json.dumps(results, indent=2))
        except OSError as error:
            fail(f'cannot write --output {output}: {error.strerror}')
        print(f'results in {output}')
    return 0


def played_checkpoint(module, args, weights: list[str]) -> dict:
    """Which checkpoint ``play`` loaded: ``which`` (best, latest, snapshot or weights), its ``paths``
    and the training ``step`` it was saved at (None for files that keep no step, such as .weights.h5)."""
    from xagents.run.checkpoints import has_checkpoint, saved_state

    which = 'weights'
    if args.snapshot is not None:
        which = 'snapshot'
    elif args.checkpoint == 'latest':
        run = RunFolder.of_config(args.run, read_run_config(args.run), module.MODEL_ROLES)
        which, weights = 'latest', [str(run.latest)]
    elif weights == [args.run]:
        run = RunFolder.of_config(args.run, read_run_config(args.run), module.MODEL_ROLES)
        which, weights = 'best', [str(path) for path in run.best]
        if not all(has_checkpoint(path) for path in run.best):  # no best yet: the latest was loaded
            which, weights = 'latest', [str(run.latest)]
    try:
        state = saved_state(weights[0]) or {}
    except (OSError, ValueError):  # not a checkpoint folder (a prefix or a Keras weights file)
        state = {}
    return {'which': which, 'paths': weights, 'step': state.get('steps')}


def choose_checkpoint(args) -> None:
    """``--checkpoint`` checked: with ``--run``, not with ``--snapshot``; a step becomes ``--snapshot``."""
    if args.run is None:
        fail('--checkpoint needs --run DIR (the run whose checkpoint to play)')
    if args.snapshot is not None:
        fail('--checkpoint and --snapshot both choose the checkpoint: give one of them')
    try:
        checkpoint = parse_checkpoint(args.checkpoint)
    except ValueError as error:
        fail(str(error))
    if isinstance(checkpoint, int):
        args.snapshot, args.checkpoint = checkpoint, None


def snapshot_paths(module, run: str | None, step: int) -> list[str]:
    """The checkpoint folders, one per model, of the first snapshot at or after ``step`` in run ``run``."""
    if run is None:
        fail('--snapshot needs --run DIR (the run whose snapshot to play)')
    try:
        taken, paths = RunFolder(run, module.MODEL_ROLES).snapshot_at(step)
    except ValueError as error:
        fail(str(error))
    if taken != step:
        print(f'Playing the first snapshot at or after step {step:,}: step {taken:,}')
    return [str(path) for path in paths]
