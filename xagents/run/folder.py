"""The run directory: the one owner of its layout, its config.json, its history tables and its lock.

```
<run>/config.json            agent, env (with its module and kwargs), hyperparameters, paths, versions,
                             the TensorFlow threads the latest session used
<run>/models/<role>.cfg      copies of the model files the run was built from
<run>/history.parquet        one row per finished episode (or --history-checkpoint)
<run>/evaluations.parquet    one row per evaluation (--eval-interval)
<run>/latest/                everything needed to resume
<run>/best-<role>/           the best models (or --checkpoints)
<run>/snapshots/step-<n>/<role>/
<run>/replay-buffer.npz      with --save-buffer
<run>/videos/                training videos
<run>/.lock                  the process that writes to the run
```
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import shutil
from pathlib import Path

from xagents.run.lock import RunLock

# What a run writes in its folder: a new run refuses a folder holding any of these.
RUN_FILES = ('config.json', 'history.parquet', 'evaluations.parquet', 'replay-buffer.npz', 'latest', 'snapshots')
RUN_KEYS = ('agent', 'env', 'hyperparameters', 'checkpoints', 'history')


def read_run_config(run_dir: str | os.PathLike) -> dict:
    """The ``config.json`` of an xagents run directory; ValueError with a one-line reason otherwise."""
    path = Path(run_dir) / 'config.json'
    try:
        config = json.loads(path.read_text())
    except OSError:
        raise ValueError(f'{run_dir} is not an xagents run directory (no config.json)') from None
    except ValueError as error:
        raise ValueError(f'{path} is damaged: {error}') from None
    missing = [key for key in RUN_KEYS if isinstance(config, dict) and key not in config]
    if isinstance(config, dict) and 'agent' in config and missing:  # an xagents config, edited
        raise ValueError(f'{path}: no {", ".join(map(json.dumps, missing))}: the run cannot be rebuilt without it')
    if not isinstance(config, dict) or missing:
        raise ValueError(f'{run_dir} is not an xagents run directory (its config.json is not an xagents run config)')
    check_run_fields(config, path)
    return config


# The fields of config.json a run is rebuilt from, and what each must be (None: may be null).
FIELD_KINDS = {
    'env': (str, 'a string'),
    'hyperparameters': (dict, 'an object'),
    'checkpoints': (list, 'a list of paths'),
    'history': (str, 'a path'),
    'env_kwargs': ((dict, type(None)), 'an object'),
    'n_envs': (int, 'a number of envs'),
    'preprocess': (bool, 'true or false'),
    'max_frame': (bool, 'true or false'),
    'model_files': ((list, type(None)), 'a list of paths'),
    'obs_keys': ((list, type(None)), 'a list of keys'),
    'frame_stack': ((int, type(None)), 'a number of frames'),
}


def check_run_fields(config: dict, path: Path) -> None:
    """A hand-edited or foreign config.json: a ValueError naming the first field that is wrong."""
    import difflib
    import importlib

    from xagents.registry import AGENTS

    if not isinstance(config['agent'], str) or config['agent'] not in AGENTS:
        raise ValueError(f'{path}: "agent" is {json.dumps(config["agent"])}, expected one of: {", ".join(AGENTS)}')
    for key, (kind, text) in FIELD_KINDS.items():
        value = config.get(key)
        wrong = not isinstance(value, kind) or (kind is int and (isinstance(value, bool) or value < 1))
        if key in config and (wrong or (kind is list and not all(isinstance(item, str) for item in value))):
            raise ValueError(f'{path}: "{key}" must be {text}, got {json.dumps(value)}')
    agent_config = importlib.import_module(f'xagents.{config["agent"]}.config').CONFIG
    from xagents.core.renamed import current_names
    from xagents.core.schema import without_ignored
    from xagents.train.options import TrainingOptions

    # As a run is rebuilt: renamed fields under their names now, an older run's ignored alternative dropped.
    saved = without_ignored(agent_config, current_names(agent_config, config['hyperparameters']))
    fields = {field.name: field.init for field in dataclasses.fields(agent_config)}
    training = TrainingOptions.names()
    for key in saved:
        if key not in fields and key not in training:
            close = difflib.get_close_matches(key, [*fields, *training], n=1)
            guess = f' (did you mean {close[0]}?)' if close else ''
            raise ValueError(f'{path}: "hyperparameters" has an unknown key {key!r}{guess}')
    try:
        agent_config(**{key: value for key, value in saved.items() if fields.get(key)})
        TrainingOptions(**{key: value for key, value in saved.items() if key in training})
    except (TypeError, ValueError) as error:
        raise ValueError(f'{path}: in "hyperparameters", {error}') from None


def new_run_dir(name: str, parent: str | os.PathLike = 'runs') -> Path:
    """A fresh ``<parent>/<name>-<time>`` folder, created here so that runs started together never share one."""
    Path(parent).mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime('%Y%m%d-%H%M%S')
    for attempt in range(1000):
        folder = Path(parent) / (f'{name}-{stamp}' + (f'-{attempt}' if attempt else ''))
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
    raise FileExistsError(f'could not create a new run directory for {name} in {parent}')


class RunFolder:
    """The paths of one run and the tables it writes.

    Args:
        path: The run directory.
        roles: The agent's model roles (one best checkpoint and one snapshot folder each).
        checkpoints: Best-model checkpoint folders instead of ``best-<role>``.
        history: History file instead of ``history.parquet``.
    """

    def __init__(self, path: str | os.PathLike, roles: tuple[str, ...], checkpoints=None, history=None):
        self.path = Path(path)
        self.roles = roles
        self.best = [Path(p) for p in checkpoints] if checkpoints else [self.path / f'best-{role}' for role in roles]
        self.history_path = Path(history) if history else self.path / 'history.parquet'
        self.history_given = history is not None
        self.config_path = self.path / 'config.json'
        self.latest = self.path / 'latest'
        self.buffer_path = self.path / 'replay-buffer.npz'
        self.evaluations_path = self.path / 'evaluations.parquet'
        self.videos = self.path / 'videos'
        self.lock = RunLock(self.path)
        self.history = None  # run.history.HistoryTable tables, once open
        self.evaluations = None
        # The training loop's own state (elapsed time, best evaluation, ...), as last saved or restored.
        self.state: dict = {}

    @classmethod
    def of_config(cls, path, config: dict, roles: tuple[str, ...]) -> RunFolder:
        """The run folder a ``config.json`` describes (its checkpoint and history paths)."""
        defaults = {*(f'best-{role}' for role in roles), 'history.parquet'}

        def here(saved: str) -> Path:
            saved = Path(saved)
            if not saved.is_absolute():  # relative paths are inside the run
                return Path(path) / saved
            # Runs of xagents 0.2 kept absolute paths: in a copied or moved run, the default
            # ones (best-<role>, history.parquet of the original folder) are this folder's own.
            own = Path(path) / saved.name
            moved = not saved.resolve().is_relative_to(Path(path).resolve())
            if moved and saved.name in defaults and (own.exists() or not saved.exists()):
                return own
            return saved

        return cls(path, roles, [here(name) for name in config['checkpoints']], here(config['history']))

    # -------------------------------------------------------- self-contained
    def relative(self, path: Path) -> str:
        """``path`` relative to the run folder when inside it (the folder can move), absolute otherwise."""
        path = Path(path).resolve()
        return str(path.relative_to(self.path.resolve())) if path.is_relative_to(self.path.resolve()) else str(path)

    def keep_model_files(self, files: list[str] | None) -> list[str] | None:
        """Copy the model files into ``models/<role>.cfg``; their paths relative to the run."""
        if files is None:
            return None
        kept = []
        for role, file in zip(self.roles, files):
            copy = self.path / 'models' / f'{role}.cfg'
            if not (copy.exists() and copy.samefile(file)):
                copy.parent.mkdir(exist_ok=True)
                shutil.copyfile(file, copy)
            kept.append(self.relative(copy))
        return kept

    def latest_gone(self) -> bool:
        """Whether ``latest/`` was deleted from a run that had saved (its best models or history remain)."""
        return not self.latest.exists() and (self.history_path.is_file() or any(path.exists() for path in self.best))

    def latest_gone_message(self, what_works: str) -> str:
        return f'{self.path} has no latest checkpoint (latest/ is missing): {what_works}'

    # ------------------------------------------------------------- snapshots
    def snapshot(self, step: int) -> list[Path]:
        """The checkpoint folders, one per model, of the snapshot at ``step``."""
        return [self.path / 'snapshots' / f'step-{step}' / role for role in self.roles]

    def snapshot_steps(self) -> list[int]:
        """Steps of the complete snapshots (a run killed while saving one leaves it without pointer files)."""
        folder = self.path / 'snapshots'
        steps = [int(path.name.removeprefix('step-')) for path in folder.glob('step-*')] if folder.is_dir() else []
        return sorted(step for step in steps if all((path / 'checkpoint').is_file() for path in self.snapshot(step)))

    def snapshot_at(self, step: int) -> tuple[int, list[Path]]:
        """The first complete snapshot at or after ``step``: its step and checkpoint folders."""
        taken = self.snapshot_steps()
        if not taken:
            raise ValueError(f'{self.path} has no snapshots (train with --snapshot-interval to keep them)')
        later = [taken_step for taken_step in taken if taken_step >= step]
        if not later:
            shown = 'the last ones are at steps: ' + ', '.join(map(str, taken[-20:]))
            raise ValueError(f'{self.path} has no snapshot at or after step {step}; {shown}')
        return later[0], self.snapshot(later[0])

    # -------------------------------------------------------------- new runs
    def taken_names(self) -> list[str]:
        """Names of run files already in the folder (a given history file may continue there)."""
        taken = [name for name in RUN_FILES if (self.path / name).exists()]
        return [name for name in taken if not (name == 'history.parquet' and self.history_given)]

    def write_config(self, config: dict) -> None:
        temporary = self.config_path.with_suffix('.json.tmp')
        temporary.write_text(json.dumps(config, indent=2))
        os.replace(temporary, self.config_path)

    # ---------------------------------------------------------------- tables
    def open_tables(self, evaluations: bool) -> None:
        from xagents.run.history import HistoryTable

        if self.history is None:
            self.history = HistoryTable(self.history_path)
        if evaluations and self.evaluations is None:
            self.evaluations = HistoryTable(self.evaluations_path, required=('step', 'mean_reward'))

    def truncate_tables(self, step: int) -> None:
        """Drop rows past ``step``: a resumed run records them again."""
        for table in (self.history, self.evaluations):
            if table is not None:
                table.truncate(step)

    def flush_tables(self) -> None:
        for table in (self.history, self.evaluations):
            if table is not None:
                table.flush()


def run_config(agent, run: RunFolder, training: dict) -> dict:
    """What ``config.json`` says of a run: enough to play it or resume it.

    ``training`` (the training loop's options that have flags) is saved with the hyperparameters.
    """
    import gymnasium as gym
    import tensorflow as tf

    from xagents.registry import __version__

    return {
        'agent': type(agent).__name__.lower(),
        **agent.env_recipe.to_config(),
        'n_envs': agent.n_envs,
        'hyperparameters': {**dataclasses.asdict(agent.config), **training},
        # net_arch and activation, where they made the model files (which hold them)
        **{key: value for key, value in getattr(agent, 'networks', {}).items() if value is not None},
        'model_files': run.keep_model_files(agent.model_files),
        'checkpoints': [run.relative(path) for path in run.best],
        'history': run.relative(run.history_path),
        'versions': {'xagents': __version__, 'tensorflow': tf.__version__, 'gymnasium': gym.__version__},
        # what --threads set in the process that wrote this (0: TensorFlow's default)
        'threads_used': dict(zip(('intra_op', 'inter_op'), agent.threads)),
    }


def run_model_files(run_dir: str | os.PathLike, config: dict) -> list[str] | None:
    """The model files of a run (its own copies), as paths that open from here.

    Runs of xagents 0.2 kept the absolute paths of the package's model files: where those are
    gone (a reinstall), the same files of the installed package stand in.
    """
    files = config.get('model_files')
    if not files:
        return None
    package = Path(__file__).parents[1]
    paths = []
    for file in files:
        path = Path(run_dir) / file  # an absolute path stays as it is
        packaged = package / config['agent'] / 'models' / path.name
        if not path.is_file() and path.is_absolute() and path.parent.name == 'models' and packaged.is_file():
            path = packaged
        if not path.is_file():
            raise ValueError(f'model file {path} of run {run_dir} is missing')
        paths.append(str(path))
    return paths


def parse_checkpoint(text: str) -> str | int:
    """A ``--checkpoint`` value: best, latest, or a step (an int); a ValueError for anything else."""
    if text in ('best', 'latest'):
        return text
    if not text.isdigit():
        raise ValueError(f'--checkpoint must be best, latest or a step, got {text!r}')
    return int(text)
