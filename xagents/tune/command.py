"""``xagents tune``: parse the search, open the study, run a worker, report the best trial."""

from __future__ import annotations

import dataclasses
import json
import shlex
import signal
from argparse import SUPPRESS
from pathlib import Path

from xagents.commands.common import add_model_flags, check_env, fail, model_files, model_flag
from xagents.commands.flags import ArgumentParser, add_config_flags, config_from_args, old_flags
from xagents.core.config import TRAINING_ONLY, EnvOptions, flag_name
from xagents.tune.options import GAMMA_PARAM, TuneError, TuneOptions
from xagents.tune.space import Dimension, check_values, search_space
from xagents.tune.study import best_trial, make_pruner, make_storage, open_study
from xagents.tune.worker import Worker, short


def build_parser(module) -> ArgumentParser:
    """The environment and model flags as train's; the agent's flags take the values to search."""
    parser = ArgumentParser(prog='xagents tune', add_help=False, allow_abbrev=False)
    add_config_flags(parser, EnvOptions, 'environment', skip={'n_envs'}, negatable=True)
    add_config_flags(parser, TuneOptions, 'tune')
    parser.add_argument('--no-presets', action='store_true', dest='no_presets')
    group = parser.add_argument_group('search')
    skip = {*TRAINING_ONLY, 'quiet'}
    for field in [EnvOptions.__dataclass_fields__['n_envs'], *dataclasses.fields(module.CONFIG)]:
        if field.metadata and field.name not in skip:
            flags = [flag_name(field.name), *old_flags(field)]
            group.add_argument(*flags, nargs='*', dest=f'space_{field.name}', default=SUPPRESS)
    add_model_flags(group, module)
    return parser


def tune(name: str, module, rest: list[str]) -> int:
    args = build_parser(module).parse_args(rest)
    check_env(args.env)
    env = config_from_args(EnvOptions, args)
    options = config_from_args(TuneOptions, args)
    given = {key.removeprefix('space_'): value for key, value in vars(args).items() if key.startswith('space_')}
    preset = {} if args.no_presets else getattr(module, 'PRESETS', {}).get(args.env, {})
    models = model_files(module, args) or []
    env_flags = [flag_name(key) for key in ('preprocess', 'async_envs') if getattr(env, key)]
    if env.preprocess and not env.max_frame:
        env_flags.append('--no-max-frame')
    if env.env_kwargs:
        env_flags += ['--env-kwargs', *[shlex.quote(f'{key}:{value!r}') for key, value in env.env_kwargs.items()]]
    identity = {'agent': name, 'env': args.env, 'env_flags': env_flags, 'trial_steps': options.trial_steps}
    try:
        check_options(options, models)
        space = search_space([EnvOptions, module.CONFIG], given)
        for key, value in preset.items():
            if key not in space and key in {f.name for f in dataclasses.fields(module.CONFIG)} | {'n_envs'}:
                space[key] = Dimension(key, 'fixed', value=value)
        check_values(module, space)
        output_dir = Path(options.output_dir or Path('tune') / options.study)
        storage_url = options.storage or f'sqlite:///{output_dir / "study.db"}'
        if options.report and not options.storage and not (output_dir / 'study.db').is_file():
            raise TuneError(f'no study {options.study!r}: {output_dir / "study.db"} does not exist')
        try:
            output_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise TuneError(f'cannot create the output folder {output_dir}: {error.strerror}') from None
        storage = make_storage(storage_url)
        pruner = make_pruner(options.pruner, options.warmup_trials)
        study = open_study(storage, options.study, options.sampler, pruner, options.sampler_seed, options.report)
        saved = {key: study.user_attrs.get(key) for key in identity}
        if options.report and options.trial_steps is None:
            identity['trial_steps'] = saved['trial_steps']
        if any(value is not None for value in saved.values()) and saved != identity:
            raise TuneError(
                f'study {options.study!r} in {storage_url} was made for: xagents tune {saved["agent"]} --env '
                f'{saved["env"]} {" ".join(saved["env_flags"])} --trial-steps {saved["trial_steps"]}'
            )
        for key, value in identity.items():
            study.set_user_attr(key, value)
    except TuneError as error:
        fail(str(error))
    if not options.report:
        if preset:
            print(f'Using the {args.env} preset of {name} for the flags not given (--no-presets to ignore)')
        searched = [dim.describe() for dim in space.values() if dim.kind != 'fixed']
        print(f'Study {options.study} in {storage_url}: searching {"; ".join(searched) or "nothing (all fixed)"}')
        spec = {
            'agent': name,
            'env': args.env,
            'env_kwargs': {key: getattr(env, key) for key in ('preprocess', 'max_frame', 'async_envs', 'env_kwargs')},
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
        worker = Worker(study, storage, space, spec, options, output_dir)
        previous = signal.signal(signal.SIGTERM, _interrupt)  # a terminated worker ends its trials too
        try:
            worker.run()
        except KeyboardInterrupt:
            print('Interrupted: the running trials are failed; run the same command to go on')
            return 130
        finally:
            signal.signal(signal.SIGTERM, previous)
    report(study, identity, output_dir, [model_flag(role) for role in module.MODEL_ROLES])
    if not options.report and worker.error:
        fail(f'this worker stopped early: {worker.error}', code=1)
    return 0


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def check_options(options: TuneOptions, models: list[str]) -> None:
    if not options.study or '/' in options.study:
        raise TuneError(f'--study needs a name without "/", got {options.study!r}')
    if options.trial_steps is None and not options.report:
        raise TuneError('tune needs --trial-steps N: the environment steps each trial trains for')
    if options.sampler_seed is not None and not 0 <= options.sampler_seed < 2**32:
        raise TuneError(f'--sampler-seed must be in [0, 2**32), got {options.sampler_seed}')
    for file in models:
        if not Path(file).is_file():
            raise TuneError(f'model file not found: {file}')


def train_flags(hyperparameters: dict) -> list[str]:
    """Command line flags that give ``hyperparameters`` to ``xagents train``."""
    flags = []
    for name, value in hyperparameters.items():
        if value is None:
            continue
        if isinstance(value, bool):
            flags.append(flag_name(name) if value else '--no-' + name.replace('_', '-'))
        else:
            flags += [flag_name(name), repr(value) if isinstance(value, float) else str(value)]
    return flags


def report(study, identity: dict, output_dir: Path, model_names: list[str]) -> None:
    """Print the study's state and best trial, write the best preset and the plots."""
    import optuna

    states = [trial.state for trial in study.get_trials(deepcopy=False)]
    counts = {state.name.lower(): states.count(state) for state in optuna.trial.TrialState if states.count(state)}
    print(f'Study {study.study_name}: ' + (', '.join(f'{n} {state}' for state, n in counts.items()) or 'no trials'))
    best = best_trial(study)
    if best is None:
        print('No complete trial yet: no best hyperparameters to report')
        return
    hyperparameters = best.user_attrs['hyperparameters']
    models = best.user_attrs.get('model_files') or []
    print(f'Best: trial {best.number}, mean evaluation reward {best.value:.2f}')
    searched = ['gamma' if name == GAMMA_PARAM else name for name in best.params]
    print('  ' + (', '.join(f'{name}={short(hyperparameters[name])}' for name in searched) or '(nothing searched)'))
    preset = output_dir / 'best-preset.json'
    preset.write_text(
        json.dumps(
            {**identity, 'trial': best.number, 'value': best.value, 'hyperparameters': hyperparameters}, indent=2
        )
    )
    start = ['xagents', 'train', identity['agent'], '--env', identity['env'], *identity['env_flags']]
    start += [part for name, file in zip(model_names, models) for part in (flag_name(name), file)]
    print('Train with them:')
    print('  ' + ' '.join([*start, *train_flags(hyperparameters), '--max-steps', str(identity['trial_steps'])]))
    print(f'  (or: {" ".join(start)} --preset {preset} --max-steps ...)')
    for line in save_plots(study, output_dir):
        print(line)


def save_plots(study, output_dir: Path) -> list[str]:
    import warnings

    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as optuna_plots

    lines = []
    for file, plot in (
        ('optimization-history.png', optuna_plots.plot_optimization_history),
        ('param-importances.png', optuna_plots.plot_param_importances),
    ):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                axes = plot(study)
            figure = axes.figure
            figure.set_size_inches(8, 5)
            figure.tight_layout()
            figure.savefig(output_dir / file, dpi=120)
            plt.close(figure)
            lines.append(f'Plot: {output_dir / file}')
        except (ValueError, RuntimeError, ZeroDivisionError) as error:
            lines.append(f'No {file} yet: {str(error).splitlines()[0]}')
    return lines
