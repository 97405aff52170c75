"""``xagents tune``: parse the search, open the study, run a worker, report the best trial.

The search itself (space, study, worker, trial processes, report) is :mod:`xagents.tune`.
"""

from __future__ import annotations

import dataclasses
import shlex
import signal
from argparse import SUPPRESS

from xagents.commands.agent_flags import add_model_flags, model_files, model_flag
from xagents.commands.environment import EnvOptions, check_env
from xagents.commands.failing import fail
from xagents.commands.flags import ArgumentParser, add_config_flags, config_from_args, old_flags
from xagents.core.schema import flag_name
from xagents.extras import require
from xagents.train.options import TRIAL_OPTIONS, TrainingOptions
from xagents.tune.options import TuneError, TuneOptions, check_options
from xagents.tune.report import report
from xagents.tune.space import add_preset, check_values, search_space
from xagents.tune.study import open_tune_study, study_location
from xagents.tune.worker import Worker


def tune_parser(module) -> ArgumentParser:
    """The environment and model flags as train's; the agent's flags take the values to search."""
    parser = ArgumentParser(prog='xagents tune', add_help=False, allow_abbrev=False)
    add_config_flags(parser, EnvOptions, 'environment', skip={'n_envs'}, negatable=True)
    add_config_flags(parser, TuneOptions, 'tune')
    parser.add_argument('--no-presets', action='store_true', dest='no_presets')
    group = parser.add_argument_group('search')
    loop = [field for field in dataclasses.fields(TrainingOptions) if field.name in TRIAL_OPTIONS]
    for field in [EnvOptions.__dataclass_fields__['n_envs'], *dataclasses.fields(module.CONFIG), *loop]:
        if field.metadata:
            flags = [flag_name(field.name), *old_flags(field)]
            group.add_argument(*flags, nargs='*', dest=f'space_{field.name}', default=SUPPRESS)
    add_model_flags(group, module)
    return parser


def tune(name: str, module, rest: list[str]) -> int:
    args = tune_parser(module).parse_args(rest)
    require('optuna', 'tune', 'xagents tune')
    check_env(args.env)
    env = config_from_args(EnvOptions, args)
    options = config_from_args(TuneOptions, args)
    given = {key.removeprefix('space_'): value for key, value in vars(args).items() if key.startswith('space_')}
    preset = {} if args.no_presets else getattr(module, 'PRESETS', {}).get(args.env, {})
    models = model_files(module, args) or []
    identity = {'agent': name, 'env': args.env, 'env_flags': env_flags(env), 'trial_steps': options.trial_steps}
    try:
        check_options(options, models)
        output_dir, storage_url = study_location(options)
        space = search_space([EnvOptions, module.CONFIG, TrainingOptions], given)
        add_preset(space, preset, module.CONFIG)
        check_values(module, space)
        study, storage, identity = open_tune_study(options, identity)
    except TuneError as error:
        fail(str(error))
    worker = None
    if not options.report:
        if preset:
            print(f'Using the {args.env} preset of {name} for the flags not given (--no-presets to ignore)')
        searched = [dim.describe() for dim in space.values() if dim.kind != 'fixed']
        print(f'Study {options.study} in {storage_url}: searching {"; ".join(searched) or "nothing (all fixed)"}')
        spec = trial_spec(name, env, models, storage_url, options)
        worker = Worker(study, storage, space, spec, options, output_dir)
        if not work(worker):
            return 130
    report(study, identity, output_dir, [model_flag(role) for role in module.MODEL_ROLES])
    if worker and worker.error:
        fail(f'this worker stopped early: {worker.error}', code=1)
    return 0


# The environment options a trial makes its envs with.
ENV_OPTIONS = ('preprocess', 'max_frame', 'async_envs', 'env_kwargs', 'obs_keys', 'frame_stack')


def env_flags(env: EnvOptions) -> list[str]:
    """The flags that make the environment as ``env`` does (saved with the study, shown in its train command)."""
    flags = [flag_name(key) for key in ('preprocess', 'async_envs') if getattr(env, key)]
    if env.preprocess and not env.max_frame:
        flags.append('--no-max-frame')
    if env.env_kwargs:
        flags += ['--env-kwargs', *[shlex.quote(f'{key}:{value!r}') for key, value in env.env_kwargs.items()]]
    if env.obs_keys:
        flags += ['--obs-keys', *map(shlex.quote, env.obs_keys)]
    if env.frame_stack is not None:
        flags += ['--frame-stack', str(env.frame_stack)]
    return flags


def trial_spec(name: str, env: EnvOptions, models: list[str], storage_url: str, options: TuneOptions) -> dict:
    """What every trial process of this worker is given (its hyperparameters and folder are added per trial)."""
    return {
        'agent': name,
        'env': env.env,
        'env_kwargs': {key: getattr(env, key) for key in ENV_OPTIONS},
        'model_files': models or None,
        'storage': storage_url,
        'study': options.study,
        'pruner': options.pruner,
        'warmup_trials': options.warmup_trials,
        'trial_steps': options.trial_steps,
        'eval_interval': options.eval_interval or max(1, options.trial_steps // 4),
        'eval_episodes': options.eval_episodes,
        'non_silent': options.non_silent,
    }


def work(worker: Worker) -> bool:
    """Run the worker's trials until the study has enough; False when interrupted (Ctrl-C or SIGTERM)."""
    previous = signal.signal(signal.SIGTERM, _interrupt)  # a terminated worker ends its trials too
    try:
        worker.work()
    except KeyboardInterrupt:
        print('Interrupted: the running trials are failed; run the same command to go on')
        return False
    finally:
        signal.signal(signal.SIGTERM, previous)
    return True


def _interrupt(signum, frame):
    raise KeyboardInterrupt
