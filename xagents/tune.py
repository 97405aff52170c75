"""``xagents tune``: optuna hyperparameter search, one trial per process, on one machine or many.

The search space comes from the flags given to ``xagents tune``: one value fixes a
hyperparameter, two values give a range for a flag whose tuning type is ``uniform``,
``log_uniform`` or ``int``, and the values of a ``categorical`` flag are its choices.
The discount factor is searched as ``1 - gamma`` on a log scale.

Each trial trains in its own process (``python -m xagents.tune SPEC``): TensorFlow does
not give memory back between trials, and a crash or kill of one trial is recorded as a
failed trial while the study goes on. The worker process records heartbeats for its
trials, so a killed worker's trials are failed by the next worker that looks at the study.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from argparse import SUPPRESS, ArgumentTypeError
from pathlib import Path

from xagents.utils.cli import EnvOptions, _checked, error_line, field_type, flag_name, hp

# Seconds between a worker's heartbeats for its running trials, and after which a trial
# without one (its worker was killed) is failed; the environment can shorten them (tests).
HEARTBEAT_INTERVAL = int(os.environ.get('XAGENTS_TUNE_HEARTBEAT', 10))
GRACE_PERIOD = 3 * HEARTBEAT_INTERVAL
PRUNED_EXIT = 3
FAILURES_TO_STOP = 3  # trials of a worker failing in a row: a setting that cannot train
GAMMA_PARAM = 'one_minus_gamma'


SEARCH_HELP = """search space (agent flags below, and --n-envs):
  one value fixes a flag: --lr 3e-4
  two values give a range to flags of tuning type uniform, log_uniform (log scale) or int: --lr 1e-4 1e-2
    (or --lr 1e-4..1e-2)
  the values of a categorical flag are its choices: --n-steps 32 128 512
  a switch alone is on; --dueling true false lets the search choose
  --gamma 0.9 0.999 is searched as 1 - gamma on a log scale
  flags not given keep the agent's preset for the env (--no-presets: its defaults)"""


class TuneError(ValueError):
    """Tuning input that cannot be used; the message is one line for the user."""


@dataclasses.dataclass
class TuneOptions:
    study: str = hp(None, 'Name of the optuna study (created, or joined when it exists)', required=True)
    storage: str | None = hp(
        None, 'Database URL, e.g. postgresql://user@host/db to share the study (default: SQLite in the output dir)'
    )
    trial_steps: int | None = hp(
        None, 'Environment steps each trial trains for (required, except with --report)', positive=True
    )
    n_trials: int = hp(10, 'Finished trials the study should have (shared by all workers)', positive=True)
    n_jobs: int = hp(1, 'Trials this worker runs at once, each in its own process', positive=True)
    warmup_trials: int = hp(5, 'Trials finished before the pruner may stop a trial', positive=True)
    pruner: str = hp('median', 'Stops unpromising trials early', choices=['median', 'halving', 'none'])
    sampler: str = hp('tpe', 'How trial hyperparameters are chosen', choices=['tpe', 'random'])
    sampler_seed: int | None = hp(None, "Seed of this worker's sampler (give each worker its own)")
    eval_interval: int | None = hp(
        None, 'Steps between evaluations reported to the pruner (default: a quarter of a trial)', positive=True
    )
    eval_episodes: int = hp(10, 'Greedy episodes per evaluation; the last evaluation is the objective', positive=True)
    output_dir: str | None = hp(None, 'Folder for trial runs, plots and the best preset (default: tune/<study>)')
    report: bool = hp(False, 'Only report the study: best trial, train command, preset file and plots')
    non_silent: bool = hp(False, "Show the trials' training output (default: one line per finished trial)")


# ----------------------------------------------------------------- search space
@dataclasses.dataclass
class Dimension:
    """One hyperparameter of the search: a fixed ``value``, a ``low``-``high`` range or ``choices``."""

    name: str
    kind: str  # fixed | range | choices
    value: object = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False
    choices: list | None = None

    def describe(self) -> str:
        if self.kind == 'fixed':
            return f'{self.name}={self.value}'
        if self.kind == 'choices':
            return f'{self.name} in {{{", ".join(map(str, self.choices))}}}'
        scale = 'log ' if self.log else ''
        kind = 'int' if self.integer else 'float'
        return f'{self.name} {scale}{kind} in [{self.low:g}, {self.high:g}]'


BOOLEAN_WORDS = {
    'true': True,
    'false': False,
    'yes': True,
    'no': False,
    'on': True,
    'off': False,
    '1': True,
    '0': False,
}


def _convert(field: dataclasses.Field, text: str):
    kind = field_type(field)
    flag = flag_name(field.name)
    if kind is bool:
        if text.lower() not in BOOLEAN_WORDS:
            raise TuneError(f'{flag} takes true or false, got {text!r}')
        return BOOLEAN_WORDS[text.lower()]
    try:  # the same conversion and checks as the train flags
        value = _checked(kind, field.metadata['argparse'].get('positive', False))(text)
    except ArgumentTypeError as error:
        raise TuneError(f'{flag}: {error}') from None
    allowed = field.metadata['argparse'].get('choices')
    if allowed and value not in allowed:
        raise TuneError(f'{flag} must be one of {", ".join(map(str, allowed))}, got {text!r}')
    return value


def dimension(field: dataclasses.Field, texts: list[str]) -> Dimension:
    """The search dimension that the values given to a flag ask for."""
    flag, tune = flag_name(field.name), field.metadata['tune']
    kind = field_type(field)
    if len(texts) == 1 and '..' in texts[0]:  # LOW..HIGH, the same as LOW HIGH for a range-type flag
        if tune == 'categorical':
            raise TuneError(
                f'{flag} is categorical: list its choices ({flag} A B C); a range LOW..HIGH is for flags '
                'of tuning type uniform, log_uniform or int'
            )
        texts = texts[0].split('..', 1)
    if kind is bool:
        values = [True] if not texts else [_convert(field, text) for text in texts]
    else:
        if not texts:
            raise TuneError(f'{flag} needs a value (one fixes it, two give a range, several are choices)')
        values = [_convert(field, text) for text in texts]
    if len(values) == 1:
        return Dimension(field.name, 'fixed', value=values[0])
    if len(set(values)) != len(values):
        raise TuneError(f'{flag}: values repeat: {" ".join(texts)}')
    if tune is None:
        raise TuneError(f'{flag} is not tunable (its tuning type is -): give one value')
    if tune == 'categorical':
        return Dimension(field.name, 'choices', choices=values)
    if len(values) != 2:
        raise TuneError(
            f'{flag} is a {tune} flag: give one value or a range LOW HIGH, not {len(values)} values '
            '(lists of choices are for categorical flags)'
        )
    low, high = values
    if low > high:
        raise TuneError(f'{flag}: the range minimum {low} is above its maximum {high}')
    if field.name == 'gamma':
        if not 0 < low <= high < 1:
            raise TuneError(
                f'--gamma range must lie in (0, 1) (it is searched as 1 - gamma on a log scale), got {low} {high}'
            )
        return Dimension(field.name, 'range', low=low, high=high, log=True)
    log = tune == 'log_uniform'
    if log and low <= 0:
        raise TuneError(f'{flag} is searched on a log scale: its range must be above 0, got {low} {high}')
    return Dimension(field.name, 'range', low=low, high=high, log=log, integer=kind is int)


def search_space(config_classes, given: dict[str, list[str]]) -> dict[str, Dimension]:
    fields = {field.name: field for config in config_classes for field in dataclasses.fields(config) if field.metadata}
    return {name: dimension(fields[name], texts) for name, texts in given.items()}


def suggest(trial, space: dict[str, Dimension]) -> dict:
    """Hyperparameters for ``trial``: fixed values as given, the others sampled by optuna."""
    values = {}
    for name, dim in space.items():
        if dim.kind == 'fixed':
            values[name] = dim.value
        elif dim.kind == 'choices':
            values[name] = trial.suggest_categorical(name, dim.choices)
        elif name == 'gamma':
            values[name] = 1 - trial.suggest_float(GAMMA_PARAM, 1 - dim.high, 1 - dim.low, log=True)
        elif dim.integer:
            values[name] = trial.suggest_int(name, int(dim.low), int(dim.high), log=dim.log)
        else:
            values[name] = trial.suggest_float(name, dim.low, dim.high, log=dim.log)
    return values


# ------------------------------------------------------------------- the study
def make_pruner(name: str, warmup_trials: int):
    import optuna

    if name == 'median':
        return optuna.pruners.MedianPruner(n_startup_trials=warmup_trials)
    if name == 'halving':
        return optuna.pruners.SuccessiveHalvingPruner()
    return optuna.pruners.NopPruner()


def make_storage(url: str):
    import optuna
    import sqlalchemy

    if url.startswith('sqlite') and url.split(':///', 1)[-1] in ('', ':memory:', 'sqlite://'):
        raise TuneError(f'{url} is an in-memory database, which trial processes cannot share: give a file')

    engine = {'connect_args': {'timeout': 60}} if url.startswith('sqlite') else {'pool_pre_ping': True}
    try:
        for attempt in range(10):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter('ignore', optuna.exceptions.ExperimentalWarning)
                    return optuna.storages.RDBStorage(
                        url, engine_kwargs=engine, heartbeat_interval=HEARTBEAT_INTERVAL, grace_period=GRACE_PERIOD
                    )
            except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError):
                # Workers starting together race to create the tables: the loser finds them made.
                if attempt == 9:
                    raise
                time.sleep(0.3 * (attempt + 1))
    except (sqlalchemy.exc.SQLAlchemyError, ImportError, ValueError) as error:
        message = str(getattr(error, 'orig', None) or error).strip().splitlines()
        raise TuneError(f'cannot open the storage {url}: {message[0] if message else type(error).__name__}') from None


def open_study(storage, name: str, sampler: str, pruner, seed=None, existing=False):
    """Create the study, or join it; creating is retried, as workers starting together race to create it.

    With ``existing``, only join: a study that does not exist is an error.
    """
    import optuna
    import sqlalchemy

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # xagents prints its own line about the study
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', optuna.exceptions.ExperimentalWarning)
        sampler_object = (
            optuna.samplers.RandomSampler(seed)
            if sampler == 'random'
            # Constant liar: running trials count as bad guesses, so parallel trials spread out.
            else optuna.samplers.TPESampler(seed=seed, constant_liar=True)
        )
    if existing and name not in optuna.study.get_all_study_names(storage):
        raise TuneError(f'no study {name!r} in {storage.url}')
    for attempt in range(5):
        try:
            return optuna.create_study(
                study_name=name,
                storage=storage,
                direction='maximize',
                sampler=sampler_object,
                pruner=pruner,
                load_if_exists=True,
            )
        except sqlalchemy.exc.SQLAlchemyError:
            if attempt == 4:
                raise
            time.sleep(0.5 * (attempt + 1))
    raise AssertionError('unreachable')


class Worker:
    """Runs trials of one study, ``n_jobs`` at a time, each in a subprocess, until it has ``n_trials``.

    It stops early, with ``error`` set, when its last trials all failed (a setting that cannot
    train) or when the storage fails it.
    """

    def __init__(self, study, storage, space, spec: dict, options: TuneOptions, output_dir: Path):
        self.study, self.storage, self.space, self.spec = study, storage, space, spec
        self.options, self.output_dir = options, output_dir
        self.lock = threading.Lock()
        self.stopping = False
        self.processes: dict[int, subprocess.Popen] = {}
        self.failures_in_row = 0
        self.error: str | None = None

    def counted(self) -> int:
        import optuna

        states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.RUNNING)
        return len(self.study.get_trials(deepcopy=False, states=states))

    def run(self) -> None:
        import optuna

        # Heartbeats with ask/tell (not Study.optimize) are what a worker of separate processes needs.
        warnings.filterwarnings('ignore', category=optuna.exceptions.ExperimentalWarning)
        warnings.filterwarnings('ignore', message='Heartbeat of storage is supposed to be used')
        # Events, not Thread.join: a KeyboardInterrupt inside join can leave a live thread
        # marked as stopped (CPython 3.11), and its trial would never be recorded.
        done = [threading.Event() for _ in range(self.options.n_jobs)]
        for event in done:
            threading.Thread(target=self.slot, args=(event,), daemon=True).start()
        try:
            while not all(event.is_set() for event in done):
                time.sleep(0.2)
        except KeyboardInterrupt:
            self.stopping = True
            for process in list(self.processes.values()):
                process.terminate()
            for event in done:
                event.wait()
            raise

    def stop(self, error: str) -> None:
        with self.lock:
            if not self.stopping:
                self.stopping, self.error = True, error
                print(f'Stopping: {error}', flush=True)

    def slot(self, done: threading.Event) -> None:
        try:
            while not self.stopping:
                with self.lock:
                    if self.stopping:
                        return
                    fail_dead_trials(self.study, self.storage)
                    if self.counted() >= self.options.n_trials:
                        return
                    trial = self.study.ask()
                    self.storage.record_heartbeat(trial._trial_id)  # at once: a trial with none is never failed
                    hyperparameters = suggest(trial, self.space)
                    trial.set_user_attr('hyperparameters', hyperparameters)
                    trial.set_user_attr('model_files', self.spec['model_files'])
                self.run_trial(trial, hyperparameters)
        except Exception as error:  # the storage failed: say so and let the other slots stop too
            self.stop(f'{type(error).__name__}: {error_line(error)}')
        finally:
            done.set()

    def run_trial(self, trial, hyperparameters: dict) -> None:
        folder = self.output_dir / f'trial-{trial.number}'
        folder.mkdir(parents=True, exist_ok=True)
        spec = {
            **self.spec,
            'hyperparameters': hyperparameters,
            'trial_id': trial._trial_id,
            'output_dir': str(folder),
            'result': str(folder / 'result.json'),
        }
        (folder / 'spec.json').write_text(json.dumps(spec, indent=2))
        start = time.perf_counter()
        log = None if self.options.non_silent else open(folder / 'log.txt', 'w')
        process = subprocess.Popen(
            [sys.executable, '-m', 'xagents.tune', str(folder / 'spec.json')],
            stdout=log,
            stderr=subprocess.STDOUT if log else None,
        )
        self.processes[trial.number] = process
        try:
            while process.poll() is None:
                self.storage.record_heartbeat(trial._trial_id)
                try:
                    process.wait(timeout=HEARTBEAT_INTERVAL / 2)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            if process.poll() is None:  # this thread failed: the trial must not train on unwatched
                process.kill()
                process.wait()
            self.processes.pop(trial.number, None)
            if log:
                log.close()
        result_file = folder / 'result.json'
        result = json.loads(result_file.read_text()) if result_file.is_file() else {}
        line = self.record(trial, process.returncode, result, folder / 'log.txt' if log else None)
        shown = ', '.join(
            f'{name}={_short(value)}' for name, value in hyperparameters.items() if self.space[name].kind != 'fixed'
        )
        best = _best(self.study)
        best_text = f'; best: trial {best.number} = {best.value:.2f}' if best else ''
        shown = f' ({shown})' if shown else ''
        print(f'{line} in {time.perf_counter() - start:.0f} s{shown}{best_text}', flush=True)

    def record(self, trial, returncode: int, result: dict, log: Path | None) -> str:
        """Tell the study how the trial ended; the line to print about it."""
        import optuna

        value = result.get('value')
        if self.storage.get_trial(trial._trial_id).state.is_finished():
            # This worker sent no heartbeat for the grace period (suspended, or a slow database).
            return f'trial {trial.number} ended, but another worker had failed it (no heartbeat for {GRACE_PERIOD} s)'
        if returncode == 0 and value is not None and math.isfinite(value):
            state, line = optuna.trial.TrialState.COMPLETE, f'trial {trial.number} finished: {value:.2f}'
        elif returncode in (0, PRUNED_EXIT):
            state = optuna.trial.TrialState.PRUNED
            step = result.get('step')
            reason = 'not a finite objective' if returncode == 0 or step is None else f'pruned at step {step:,}'
            if result.get('diverged'):
                reason = f'diverged at step {step:,}: a NaN or infinite loss'
            line = f'trial {trial.number} pruned ({reason})'
        else:
            state = optuna.trial.TrialState.FAIL
            error = _last_line(log) if log else ''
            detail = (f': {error}' if error else '') + (f'; log: {log}' if log else '')
            line = f'trial {trial.number} failed (exit code {returncode}{detail})'
        self.study.tell(
            trial, value if state == optuna.trial.TrialState.COMPLETE else None, state=state, skip_if_finished=True
        )
        if state == optuna.trial.TrialState.FAIL:
            self.failures_in_row += 1
            if self.failures_in_row >= min(FAILURES_TO_STOP, self.options.n_trials):
                self.stop(f'the last {self.failures_in_row} trials of this worker failed; the last error: {error}')
        else:
            self.failures_in_row = 0
        return line


def _last_line(path: Path) -> str:
    """The last line of a trial's log: the error that ended it."""
    try:
        lines = [line.strip() for line in path.read_text(errors='replace').splitlines() if line.strip()]
    except OSError:
        return ''
    return lines[-1][:300] if lines else ''


def fail_dead_trials(study, storage) -> None:
    """Fail the running trials of killed workers, so that the study does not wait for them.

    Optuna fails trials whose last heartbeat is older than the grace period, but not a trial
    whose worker died before its first heartbeat: those are failed here once they are older
    than the grace period (clocks of the workers' machines are assumed to agree within it).
    """
    import datetime

    import optuna
    import sqlalchemy

    optuna.storages.fail_stale_trials(study)
    now = datetime.datetime.now()
    old = [
        trial
        for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
        if trial.datetime_start and (now - trial.datetime_start).total_seconds() > GRACE_PERIOD
    ]
    if not old:
        return
    with storage.engine.connect() as connection:
        beating = {row[0] for row in connection.execute(sqlalchemy.text('SELECT trial_id FROM trial_heartbeats'))}
    for trial in old:
        if trial._trial_id not in beating:
            try:
                storage.set_trial_state_values(trial._trial_id, state=optuna.trial.TrialState.FAIL)
            except optuna.exceptions.UpdateFinishedTrialError:
                pass  # another worker failed it first


def _best(study):
    try:
        return study.best_trial
    except ValueError:
        return None


def _short(value) -> str:
    return f'{value:.4g}' if isinstance(value, float) else str(value)


# ------------------------------------------------------------------ the trial
def run_trial_process(spec_path: str) -> int:
    """Train one trial as its spec says, report evaluations, write the result; exit code 3 when pruned."""
    spec = json.loads(Path(spec_path).read_text())
    watch_parent()
    import optuna

    from xagents.cli import import_tensorflow_quietly

    import_tensorflow_quietly()
    import xagents
    from xagents.base import TrainingDiverged

    storage = make_storage(spec['storage'])
    study = optuna.load_study(
        study_name=spec['study'], storage=storage, pruner=make_pruner(spec['pruner'], spec['warmup_trials'])
    )
    trial = optuna.trial.Trial(study, spec['trial_id'])
    result = Path(spec['result'])
    agent = xagents.agents[spec['agent']].from_env(
        spec['env'],
        **spec['env_kwargs'],
        model_files=spec['model_files'],
        output_dir=spec['output_dir'],
        quiet=not spec['non_silent'],
        eval_interval=spec['eval_interval'],
        eval_episodes=spec['eval_episodes'],
        **spec['hyperparameters'],
    )
    last = {}

    def report(summary: dict) -> None:
        # Reported at the evaluation's scheduled step, not at agent.steps (a multiple of the
        # rollout size): the pruner compares trials only at equal steps.
        step = scheduled_step(agent.steps, spec['eval_interval'], spec['trial_steps'])
        value = summary['mean_reward']
        last.update(step=step, steps=agent.steps, value=value)
        if not math.isfinite(value):
            raise optuna.TrialPruned()
        trial.report(value, step)
        if step < spec['trial_steps'] and trial.should_prune():  # the final evaluation is the result
            raise optuna.TrialPruned()

    agent.on_evaluation = report
    try:
        agent.fit(max_steps=spec['trial_steps'])
        if last.get('steps') != agent.steps:
            agent.evaluate()
    except optuna.TrialPruned:
        result.write_text(json.dumps({'state': 'pruned', **last}))
        return PRUNED_EXIT
    except TrainingDiverged:  # a normal outcome of a bad setting: pruned, not a failure
        result.write_text(json.dumps({'state': 'pruned', 'diverged': True, **last, 'step': agent.steps}))
        return PRUNED_EXIT
    result.write_text(json.dumps({'state': 'complete', **last}))
    return 0


def scheduled_step(steps: int, interval: int, trial_steps: int) -> int:
    """The step an evaluation at ``steps`` was scheduled for: the last multiple of ``interval`` reached."""
    return min(trial_steps, interval * (steps // interval))


def watch_parent() -> None:
    """End this trial process when its worker dies (a trial nobody records must not train on)."""
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


if __name__ == '__main__':
    raise SystemExit(run_trial_process(sys.argv[1]))


# ------------------------------------------------------------- command line
def build_parser(module):
    from xagents.utils.cli import TRAINING_ONLY, ArgumentParser, add_config_flags

    parser = ArgumentParser(prog='xagents tune', add_help=False, allow_abbrev=False)
    parser.add_argument('--env', required=True)
    for name in ('preprocess', 'max_frame', 'async_envs'):
        parser.add_argument(flag_name(name), action='store_true', dest=name)
    add_config_flags(parser, TuneOptions, 'tune')
    parser.add_argument('--no-presets', action='store_true', dest='no_presets')
    group = parser.add_argument_group('search')
    skip = {*TRAINING_ONLY, 'quiet'}
    for field in [EnvOptions.__dataclass_fields__['n_envs'], *dataclasses.fields(module.CONFIG)]:
        if field.metadata and field.name not in skip:
            group.add_argument(flag_name(field.name), nargs='*', dest=f'space_{field.name}', default=SUPPRESS)
    for role in module.MODEL_ROLES:
        option = 'model' if role == 'model' else f'{role}_model'
        group.add_argument(flag_name(option), dest=f'model_{role}', default=None)
    return parser


def tune(name: str, module, rest: list[str]) -> int:
    from xagents.cli import check_env, fail, model_flag

    args = build_parser(module).parse_args(rest)
    check_env(args.env)
    options = TuneOptions(
        **{f.name: getattr(args, f.name) for f in dataclasses.fields(TuneOptions) if hasattr(args, f.name)}
    )
    given = {key.removeprefix('space_'): value for key, value in vars(args).items() if key.startswith('space_')}
    preset = {} if args.no_presets else getattr(module, 'PRESETS', {}).get(args.env, {})
    models = [getattr(args, f'model_{role}') for role in module.MODEL_ROLES]
    env_flags = [flag_name(key) for key in ('preprocess', 'max_frame', 'async_envs') if getattr(args, key)]
    identity = {'agent': name, 'env': args.env, 'env_flags': env_flags, 'trial_steps': options.trial_steps}
    try:
        check_options(options, models, module)
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
            'env_kwargs': {key: getattr(args, key) for key in ('preprocess', 'max_frame', 'async_envs')},
            'model_files': models if all(models) else None,
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


def check_options(options: TuneOptions, models: list[str | None], module) -> None:
    if not options.study or '/' in options.study:
        raise TuneError(f'--study needs a name without "/", got {options.study!r}')
    if options.trial_steps is None and not options.report:
        raise TuneError('tune needs --trial-steps N: the environment steps each trial trains for')
    if options.sampler_seed is not None and not 0 <= options.sampler_seed < 2**32:
        raise TuneError(f'--sampler-seed must be in [0, 2**32), got {options.sampler_seed}')
    if any(models) and not all(models):
        from xagents.cli import model_flag

        flags = ' '.join(flag_name(model_flag(role)) for role in module.MODEL_ROLES)
        raise TuneError(f'give every model file or none: {flags}')
    for file in filter(None, models):
        if not Path(file).is_file():
            raise TuneError(f'model file not found: {file}')


def check_values(module, space: dict[str, Dimension]) -> None:
    """The agent's own checks on every fixed value, range end and choice, before any trial runs."""
    names = {field.name for field in dataclasses.fields(module.CONFIG)}
    fixed = {name: dim.value for name, dim in space.items() if dim.kind == 'fixed' and name in names}
    candidates = [{}]
    for name, dim in space.items():
        if name in names and dim.kind == 'range':
            low, high = (int(dim.low), int(dim.high)) if dim.integer else (dim.low, dim.high)
            candidates += [{name: low}, {name: high}]
        elif name in names and dim.kind == 'choices':
            candidates += [{name: choice} for choice in dim.choices]
    for candidate in candidates:
        try:
            module.CONFIG(**{**fixed, **candidate})
        except (ValueError, TypeError) as error:
            raise TuneError(str(error).splitlines()[0]) from None


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
    best = _best(study)
    if best is None:
        print('No complete trial yet: no best hyperparameters to report')
        return
    hyperparameters = best.user_attrs['hyperparameters']
    models = best.user_attrs.get('model_files') or []
    print(f'Best: trial {best.number}, mean evaluation reward {best.value:.2f}')
    searched = ['gamma' if name == GAMMA_PARAM else name for name in best.params]
    print('  ' + (', '.join(f'{name}={_short(hyperparameters[name])}' for name in searched) or '(nothing searched)'))
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
