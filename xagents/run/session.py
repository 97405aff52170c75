"""An agent's session with its run folder: a new run, a resumed one, or the next ``fit`` of the same run.

The open run folder belongs here, not to the agent: ``run_folder_of(agent)`` is the folder its
last ``fit`` or ``resume`` opened (the agent asks through its ``run_folder`` door).
"""

from __future__ import annotations

import dataclasses
import os
import weakref
from pathlib import Path

from xagents.core.errors import CheckpointError
from xagents.run.checkpoints import check_config, has_checkpoint, restore_latest, saved_state
from xagents.run.folder import RunFolder, new_run_dir, read_run_config, run_config
from xagents.run.history import HistoryTable

# agent -> the run folder its last fit or resume opened (gone with the agent).
_OPEN_RUNS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def run_folder_of(agent) -> RunFolder | None:
    """The run folder of ``agent``'s last ``fit`` or ``resume``, or None."""
    return _OPEN_RUNS.get(agent)


def open_for_training(agent, options, console=print) -> RunFolder:
    """The agent's run folder, created, checked, locked and with its tables open; config.json written.

    The first call makes the folder (``options.output_dir``, or a new ``runs/<agent>-<env>-<time>``);
    a run that already has history continues it. A second writer is refused; the caller
    releases the lock when training ends. ``options`` are the fit's
    :class:`~xagents.train.options.TrainingOptions`.
    """
    run = run_folder_of(agent)
    if run is None:
        run = _new_folder(agent, options)
    run.lock.acquire()
    try:
        console(f'Run directory: {run.path}')
        if agent.seed_drawn and not agent.steps:
            console(f'Seed {agent.config.seed} drawn (no seed given): --seed {agent.config.seed} repeats this run')
        run.open_tables(options.eval_interval is not None)
        if run_folder_of(agent) is None:
            _continue_history(agent, run)
        else:
            run.truncate_tables(agent.steps)
        run.write_config(run_config(agent, run, options.saved()))
    except BaseException:
        run.lock.release()
        raise
    _OPEN_RUNS[agent] = run
    return run


def check_same_paths(run: RunFolder, output_dir=None, checkpoints=None, history_checkpoint=None) -> None:
    """Run paths given to a later ``fit`` (or a fit after ``resume``) must be the run's own: the agent goes
    on in its run, and other paths are an error, not ignored (those the agent was made with only say
    where a first fit writes)."""
    same = lambda given, path: Path(given).resolve() == Path(path).resolve()  # noqa: E731
    if output_dir is not None and not same(output_dir, run.path):
        raise ValueError(f'this agent trains in {run.path}: another output_dir ({output_dir}) needs a new agent')
    if checkpoints is not None and not all(map(same, checkpoints, run.best)):
        raise ValueError(
            f'this agent saves its best models in {", ".join(map(str, run.best))}, not the checkpoints given'
        )
    if history_checkpoint is not None and not same(history_checkpoint, run.history_path):
        raise ValueError(f'this agent writes its history to {run.history_path}, not {history_checkpoint}')


def _new_folder(agent, options) -> RunFolder:
    """The folder of a first fit: made, checked, and not a live or finished run of another."""
    for path in options.checkpoints or []:
        _check_checkpoint_path(Path(path))
    if options.history_checkpoint:
        HistoryTable(options.history_checkpoint)  # a bad history file is an error before any folder is made
    folder = Path(options.output_dir) if options.output_dir else None
    if folder is None:
        folder = new_run_dir(f'{type(agent).__name__.lower()}-{agent.env_recipe.short_name}')
    folder.mkdir(parents=True, exist_ok=True)
    run = RunFolder(folder, agent.model_roles, options.checkpoints, options.history_checkpoint)
    run.lock.check()  # a live run in the folder is named before anything else is said of it
    check_new(run)
    return run


def _check_checkpoint_path(path: Path) -> None:
    """A checkpoint folder must be a folder or one that can be made (tried, then removed again)."""
    if path.exists():
        if not path.is_dir():
            raise ValueError(f'--checkpoints {path} is a file: checkpoints are folders')
        return
    missing = [path, *[parent for parent in path.parents if not parent.exists()]]
    try:
        path.mkdir(parents=True)
    except OSError as error:
        raise ValueError(f'--checkpoints {path} cannot be created: {error.strerror}') from None
    for folder in missing:
        folder.rmdir()


def check_new(run: RunFolder) -> None:
    """A new run must not write over a run, or over files of the same names that are not a run's."""
    if has_checkpoint(run.latest):
        raise ValueError(
            f'{run.path} is an existing run: --resume {run.path} continues it, another --output-dir starts a new one'
        )
    taken = run.taken_names()
    if taken and not run.latest.exists() and not _stopped_before_first_checkpoint(run):
        raise ValueError(f'{run.path} already holds {", ".join(taken)}: give a new or empty --output-dir')


def _stopped_before_first_checkpoint(run: RunFolder) -> bool:
    try:
        read_run_config(run.path)
    except ValueError:
        return False
    return True


def _continue_history(agent, run: RunFolder) -> None:
    """A new run given an existing history file picks its counters up where the file stopped."""
    last = run.history.last()
    if last is None or agent.steps:
        run.truncate_tables(agent.steps)
        return
    agent.steps, agent.episodes = int(last['step']), int(last['episode'])
    run.state['elapsed'] = float(last['time'])
    agent.episode_rewards.extend(run.history.column('episode_reward')[-agent.episode_rewards.maxlen :])
    agent.mean_reward = float(last['mean_reward'])
    agent.best_reward = float(last['best_reward']) if last['best_reward'] is not None else float('-inf')


def _adopt_seed(agent, config: dict, run_dir) -> None:
    """A resumed agent goes on with its run's seed: a drawn one gives way, another given one is an error."""
    seed = config['hyperparameters'].get('seed')
    if seed is None or seed == agent.config.seed:
        return
    if not agent.seed_drawn:
        raise ValueError(f'{run_dir} is a run of seed {seed}: make the agent with seed={seed}, or with no seed')
    agent.config = dataclasses.replace(agent.config, seed=seed)
    agent.seed_drawn = False


def resume(agent, run_dir: str | os.PathLike, console=print) -> None:
    """Restore weights, optimizers, counters, RNG, normalizers and (when saved) the buffer from a run."""
    config = check_config(agent, run_dir)
    run = RunFolder.of_config(run_dir, config, agent.model_roles)
    run.lock.check()  # refused early; training takes the lock (open_for_training)
    if run.latest_gone():
        raise CheckpointError(
            run.latest_gone_message(
                f'it cannot be resumed; its best checkpoint still plays and exports (xagents play --run {run_dir}), '
                f'and --weights {run_dir} starts a new run from it'
            )
        )
    if not has_checkpoint(run.latest):
        raise CheckpointError(f'{run_dir} stopped before its first checkpoint: start it again (same --output-dir)')
    _adopt_seed(agent, config, run_dir)
    state = restore_latest(agent, run)
    agent.load_state(state)
    run.state = state
    # A best checkpoint saved after the latest one (then a kill) keeps its mark: a later,
    # worse result must not replace it.
    for best in filter(None, map(saved_state, run.best)):
        if best.get('best_reward') is not None and best['best_reward'] > agent.best_reward:
            agent.best_reward = best['best_reward']
        if best.get('best_eval_reward') is not None and best['best_eval_reward'] > (
            run.state.get('best_eval_reward') or float('-inf')
        ):
            run.state['best_eval_reward'] = best['best_eval_reward']
    _OPEN_RUNS[agent] = run
    buffer = agent.replay_buffer
    if buffer is not None and run.buffer_path.is_file():
        buffer.load(run.buffer_path)
        behind = state['buffer_count'] - buffer.count
        note = f' ({behind * agent.n_envs:,} fewer than at the checkpoint: saved one save earlier)' if behind else ''
        console(f'Replay buffer restored: {len(buffer):,} transitions{note}')
