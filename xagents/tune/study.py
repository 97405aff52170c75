"""The optuna study: storage, sampler, pruner, and failing the trials of dead workers."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

from xagents.tune import options
from xagents.tune.options import TuneError, TuneOptions


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
                        url,
                        engine_kwargs=engine,
                        heartbeat_interval=options.HEARTBEAT_INTERVAL,
                        grace_period=options.GRACE_PERIOD,
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


def study_location(tune_options: TuneOptions) -> tuple[Path, str]:
    """The study's output folder (``tune/<study>`` by default) and storage URL (by default SQLite in it)."""
    output_dir = Path(tune_options.output_dir or Path('tune') / tune_options.study)
    return output_dir, tune_options.storage or f'sqlite:///{output_dir / "study.db"}'


def open_tune_study(tune_options: TuneOptions, identity: dict):
    """The study ``tune_options`` names, created or joined: ``(study, storage, identity)``.

    ``identity`` (agent, env, env flags, trial steps) is saved with the study, and joining a study
    saved with another is an error: their trials would not compare. With ``--report`` and no
    ``--trial-steps``, the identity returned takes the study's trial steps.
    """
    output_dir, storage_url = study_location(tune_options)
    if tune_options.report and not tune_options.storage and not (output_dir / 'study.db').is_file():
        raise TuneError(f'no study {tune_options.study!r}: {output_dir / "study.db"} does not exist')
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise TuneError(f'cannot create the output folder {output_dir}: {error.strerror}') from None
    storage = make_storage(storage_url)
    pruner = make_pruner(tune_options.pruner, tune_options.warmup_trials)
    study = open_study(
        storage, tune_options.study, tune_options.sampler, pruner, tune_options.sampler_seed, tune_options.report
    )
    saved = {key: study.user_attrs.get(key) for key in identity}
    identity = dict(identity)
    if tune_options.report and tune_options.trial_steps is None:
        identity['trial_steps'] = saved['trial_steps']
    if any(value is not None for value in saved.values()) and saved != identity:
        raise TuneError(
            f'study {tune_options.study!r} in {storage_url} was made for: xagents tune {saved["agent"]} --env '
            f'{saved["env"]} {" ".join(saved["env_flags"])} --trial-steps {saved["trial_steps"]}'
        )
    for key, value in identity.items():
        study.set_user_attr(key, value)
    return study, storage, identity


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
        if trial.datetime_start and (now - trial.datetime_start).total_seconds() > options.GRACE_PERIOD
    ]
    if not old:
        return
    with storage.engine.connect() as connection:
        beating = {row[0] for row in connection.execute(sqlalchemy.text('SELECT trial_id FROM trial_heartbeats'))}
    for trial in old:
        number = trial_id(storage, study, trial.number)
        if number not in beating:
            try:
                storage.set_trial_state_values(number, state=optuna.trial.TrialState.FAIL)
            except optuna.exceptions.UpdateFinishedTrialError:
                pass  # another worker failed it first


def trial_id(storage, study, number: int) -> int:
    """The storage's id of trial ``number`` of ``study`` (what heartbeats and trial processes need)."""
    return storage.get_trial_id_from_study_id_trial_number(storage.get_study_id_from_name(study.study_name), number)


def best_trial(study):
    try:
        return study.best_trial
    except ValueError:
        return None
