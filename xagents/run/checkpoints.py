"""Checkpoints: the latest (everything to resume), the best and snapshots (models), and reading them back.

Every checkpoint carries the Python-side state (steps, episodes, best rewards, RNG,
normalizers, ...) as one JSON string. Saves are crash-safe: each one gets the next
number and its pointer file is replaced last, so a kill at any moment leaves the
previous complete checkpoint in force.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import tensorflow as tf

from xagents.core.errors import CheckpointError, DiskFull, TrainingDiverged, error_line
from xagents.run.folder import RunFolder, read_run_config

# The saved state (steps, episodes, best rewards, ...) inside every checkpoint.
STATE_KEY = 'state/.ATTRIBUTES/VARIABLE_VALUE'


def checkpoint_prefix(path: str | os.PathLike) -> str:
    """The checkpoint prefix to read from a checkpoint folder or prefix."""
    path = Path(path)
    if path.is_dir():
        latest = tf.train.latest_checkpoint(str(path))
        if latest is None:
            raise CheckpointError(f'no checkpoint in {path}')
        return latest
    if Path(f'{path}.index').is_file():
        return str(path)
    raise CheckpointError(f'weights not found: {path}')


def has_checkpoint(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` holds a complete checkpoint (its pointer file names one)."""
    return Path(folder).is_dir() and tf.train.latest_checkpoint(str(folder)) is not None


def saved_state(folder: str | os.PathLike) -> dict | None:
    """The state (steps, episodes, best rewards, ...) saved with the checkpoint in ``folder``."""
    if not has_checkpoint(folder):
        return None
    return json.loads(tf.train.load_variable(tf.train.latest_checkpoint(str(folder)), STATE_KEY).decode())


def _state_variable(state: dict | None = None) -> tf.Variable:
    return tf.Variable(json.dumps(state or {}), dtype=tf.string, trainable=False)


def _full_checkpoint(agent, variable: tf.Variable) -> tf.train.Checkpoint:
    objects = {}
    for role, model in agent.models.items():
        objects[role] = model
        objects[f'{role}_optimizer'] = model.optimizer
    return tf.train.Checkpoint(**objects, **agent.trackables(), tf_rng=agent.tf_rng, state=variable)


def _model_checkpoint(agent, role: str, variable: tf.Variable, optimizer: bool = True) -> tf.train.Checkpoint:
    model = agent.models[role]
    extra = {'optimizer': model.optimizer} if optimizer else {}
    return tf.train.Checkpoint(model=model, state=variable, **extra, **agent.role_trackables(role))


def _save(checkpoint: tf.train.Checkpoint, folder: str | os.PathLike) -> None:
    # Each save gets the next number, so it never writes over the files the pointer names;
    # CheckpointManager moves its pointer file atomically, then deletes the older files.
    latest = tf.train.latest_checkpoint(str(folder))
    number = int(latest.rsplit('-', 1)[1]) + 1 if latest else 1
    tf.train.CheckpointManager(checkpoint, str(folder), max_to_keep=1).save(checkpoint_number=number)


def _read(checkpoint: tf.train.Checkpoint, path, exact: bool) -> None:
    prefix = checkpoint_prefix(path)
    try:
        status = checkpoint.read(prefix)
        status.assert_existing_objects_matched() if exact else status.expect_partial()
        if not exact:
            status.assert_nontrivial_match()
    except (tf.errors.OpError, ValueError, AssertionError, IndexError, KeyError) as error:  # damaged files too
        raise CheckpointError(f'cannot load {path} into this agent and environment: {error_line(error)}') from None


def last_good(run: RunFolder | None) -> str:
    """What a divergence leaves behind, for its message."""
    saved = run and saved_state(run.latest)
    if not saved:
        return '; nothing was saved'
    return (
        f'; training stopped and the last good checkpoint (step {saved["steps"]:,}) is kept in {run.path}: '
        'lower --lr, or --resume it'
    )


def check_weights(agent, run: RunFolder | None) -> None:
    """Refuse to save NaN or infinite parameters over a good checkpoint."""
    for role, model in agent.models.items():
        for weight in model.weights:
            if not np.isfinite(weight.numpy()).all():
                raise TrainingDiverged(
                    f'{role} parameter {weight.path} is not finite at step {agent.steps:,}{last_good(run)}'
                )


def save_latest(agent, run: RunFolder, state: dict) -> None:
    """Everything needed to resume, with the history first and the replay buffer last.

    Rows past a checkpoint's step are dropped when it is resumed, so a kill between the
    writes neither loses nor repeats a row; a kill before the buffer is replaced leaves a
    buffer at most one save older than the checkpoint (never newer), which resume reports.
    """
    check_weights(agent, run)
    kept = _kept(run.latest, 'the previous checkpoint', run)
    with _disk_full_says(run, run.history_path, f'the previous history and {kept}'):
        run.flush_tables()
    with _disk_full_says(run, run.latest, kept):
        _save(_full_checkpoint(agent, _state_variable(state)), run.latest)
    if agent.replay_buffer is not None and agent.config.save_buffer:
        saved = f'the checkpoint (step {agent.steps:,}) is saved and the previous buffer kept'
        with _disk_full_says(run, run.buffer_path, saved):
            agent.replay_buffer.save(run.buffer_path)


def save_models(agent, run: RunFolder, paths: list[Path], state: dict) -> None:
    """Each model (with its optimizer and the state) in its own checkpoint folder."""
    check_weights(agent, run)
    variable = _state_variable(state)
    for role, path in zip(agent.model_roles, paths):
        with _disk_full_says(run, path, _kept(path, 'the previous model there', run)):
            _save(_model_checkpoint(agent, role, variable), path)


# Why a write found no room, and what to do: by errno, and as TensorFlow reports them.
NO_ROOM = {
    errno.ENOSPC: ('no space left on device', 'free space'),
    errno.EDQUOT: ('disk quota exceeded', 'free space'),
    errno.EFBIG: ('file size limit reached', 'raise the limit (ulimit -f)'),
}


@contextlib.contextmanager
def _disk_full_says(run: RunFolder, path: Path, kept: str):
    """A full disk (or a quota, a file size limit) while writing ``path`` becomes :class:`DiskFull`:
    one line naming the path and what was kept, with the half-written checkpoint files of ``path`` removed."""
    try:
        yield
    except (tf.errors.ResourceExhaustedError, tf.errors.OutOfRangeError, OSError) as error:
        if isinstance(error, OSError):
            number = error.errno
        else:  # TensorFlow's ENOSPC is ResourceExhausted, its EFBIG OutOfRange
            number = errno.ENOSPC if isinstance(error, tf.errors.ResourceExhaustedError) else errno.EFBIG
        if number not in NO_ROOM:
            raise
        if Path(path).is_dir():
            _remove_unsaved(Path(path))
        cause, remedy = NO_ROOM[number]
        again = f'--resume {run.path}' if has_checkpoint(run.latest) else 'start the run again'
        raise DiskFull(f'{cause} while saving {path}: {kept}; {remedy} and {again}') from error


def _kept(folder: Path, what: str, run: RunFolder) -> str:
    saved = saved_state(folder)
    latest = saved_state(run.latest) if saved is None else saved
    if saved is not None:
        return f'{what} (step {saved["steps"]:,}) is kept'
    if latest is not None:
        return f'the latest checkpoint (step {latest["steps"]:,}) is kept'
    return 'nothing was saved before'


def _remove_unsaved(folder: Path) -> None:
    """The checkpoint files of ``folder`` but those its pointer names (a ``ckpt-N_temp/``, a ``ckpt-N.index``)."""
    latest = tf.train.latest_checkpoint(str(folder))
    kept = Path(latest).name if latest else None
    for entry in folder.glob('ckpt-*'):  # only the manager's own files: a --checkpoints folder may hold others
        if kept and entry.name.startswith(f'{kept}.'):
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def restore_latest(agent, run: RunFolder) -> dict:
    """Read the latest checkpoint of ``run`` into the agent, exactly; the state saved with it."""
    variable = _state_variable()
    _read(_full_checkpoint(agent, variable), run.latest, exact=True)
    agent.weights_changed()
    return json.loads(variable.numpy().decode())


def load_weights(agent, paths: list[str | os.PathLike], console=print) -> None:
    """Load models (and their normalizer statistics) from checkpoints, one per model.

    Accepts checkpoint folders (``--checkpoints`` output, such as ``model.tf``), checkpoint
    prefixes, Keras ``.weights.h5`` files, or a run directory for all models.
    """
    agent.weights_changed()
    variable = _state_variable()
    if len(paths) == 1 and (Path(paths[0]) / 'config.json').is_file():
        run = RunFolder.of_config(paths[0], check_config(agent, paths[0]), agent.model_roles)
        paths = run.best
        if not all(has_checkpoint(path) for path in paths) and has_checkpoint(run.latest):
            # No best checkpoint yet (no episode had finished): the latest one has every model.
            console(f'No best checkpoint in {run.path} yet; loading its latest checkpoint')
            load_latest_models(agent, run)
            return
        if not any(has_checkpoint(path) for path in paths):
            raise CheckpointError(_nothing_to_load(run))
    if len(paths) != len(agent.model_roles):
        raise CheckpointError(
            f'--weights needs {len(agent.model_roles)} path(s) for {type(agent).__name__}, got {len(paths)}'
        )
    for role, path in zip(agent.model_roles, paths):
        if str(path).endswith('.weights.h5'):
            _load_keras_weights(agent.models[role], path)
            continue
        _read(_model_checkpoint(agent, role, variable, optimizer=False), path, exact=False)
        agent.load_normalizer_state(json.loads(variable.numpy().decode()))


def _nothing_to_load(run: RunFolder) -> str:
    """What a run with neither a best nor a latest checkpoint can still give."""
    saved = ' or '.join(run.relative(path) + '/' for path in run.best)
    steps = run.snapshot_steps()
    left = (
        f'its snapshots (steps {steps[0]:,} to {steps[-1]:,}) still play and export '
        f'(xagents play --snapshot {steps[-1]}, xagents export --checkpoint {steps[-1]})'
        if steps
        else 'only its history is left (xagents plot)'
    )
    return f'{run.path} has no checkpoint to load (neither {saved} nor latest/ holds one): {left}'


def load_latest_models(agent, run: RunFolder) -> dict:
    """The models and normalizer statistics of the latest checkpoint of ``run`` (no optimizers); its state."""
    variable = _state_variable()
    _read(tf.train.Checkpoint(**agent.models, state=variable), run.latest, exact=False)
    agent.weights_changed()
    state = json.loads(variable.numpy().decode())
    agent.load_normalizer_state(state)
    return state


def _load_keras_weights(model, path) -> None:
    if not Path(path).is_file():
        raise CheckpointError(f'weights not found: {path}')
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # Keras warns, line by line, about what did not match
            model.load_weights(path)
    except (ValueError, OSError, KeyError, IndexError) as error:
        raise CheckpointError(f'cannot load {path} into this agent and environment: {error_line(error)}') from None


def check_config(agent, run_dir: str | os.PathLike) -> dict:
    """A run's config.json, checked to be this agent's on this environment."""
    try:
        config = read_run_config(run_dir)
    except ValueError as error:
        raise CheckpointError(str(error)) from None
    name = type(agent).__name__.lower()
    if (config['agent'], config['env']) != (name, agent.env_id):
        raise CheckpointError(
            f'{run_dir} is a run of {config["agent"]} on {config["env"]}, not of {name} on {agent.env_id}'
        )
    return config
