"""Faults survived: a user's callback that raises, a signal during an export, a full disk while saving.

Each leaves a run (or an output path) that the next command can use: nothing lost, nothing left half-written.
"""

import collections
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import xagents
from xagents.run.history import read_history
from xagents.tests.test_cli import XAGENTS, run_cli
from xagents.tests.test_faults import check_killed_run, checkpoint_state
from xagents.train import Callback

# Four envs whose episodes all end together (a time limit of 4 steps in a corridor too long to finish).
FOUR_AT_ONCE = dict(
    env='xagents.tests.tiny_envs:Corridor-v0', env_kwargs={'length': 1000, 'max_episode_steps': 4}, n_envs=4
)
TINY = dict(n_steps=8, quiet=True, seed=0, save_interval=1e9)


class RaiseAtEpisode(Callback):
    """A user's callback with a bug that shows at one episode."""

    def __init__(self, episode: int):
        self.episode = episode

    def on_episode_end(self, trainer, episode):
        if episode['episode'] == self.episode:
            raise RuntimeError(f'bug at episode {self.episode}')


def episodes_of(run) -> list[int]:
    return read_history(run / 'history.parquet').column('episode').to_pylist()


def test_a_callback_that_raises_loses_no_episode_of_its_batch_and_the_run_resumes(tmp_path):
    run = tmp_path / 'run'
    agent = xagents.PPO.from_env(**FOUR_AT_ONCE, **TINY, output_dir=str(run))
    with pytest.raises(RuntimeError, match='bug at episode 6'):  # the second of four ending at step 32
        agent.fit(max_steps=400, callbacks=[RaiseAtEpisode(6)])
    state = checkpoint_state(run / 'latest')
    assert (state['steps'], state['episodes']) == (32, 8)
    assert episodes_of(run) == list(range(1, 9))
    resumed = xagents.PPO.from_env(**FOUR_AT_ONCE, **TINY)
    resumed.resume(run)
    resumed.fit(max_steps=96)
    assert episodes_of(run) == list(range(1, resumed.episodes + 1)) and resumed.episodes == 24
    check_killed_run(run)


def test_a_callback_that_raises_on_the_episodes_of_an_interrupted_iteration_still_saves_them(tmp_path, monkeypatch):
    run = tmp_path / 'run'
    agent = xagents.PPO.from_env(**FOUR_AT_ONCE, **TINY, output_dir=str(run))
    iteration = type(agent).train_iteration

    def interrupted_after_step_64(self):  # Ctrl-C in a rollout: its finished episodes are not dispatched yet
        losses = iteration(self)
        if self.steps >= 64:
            raise KeyboardInterrupt
        return losses

    monkeypatch.setattr(type(agent), 'train_iteration', interrupted_after_step_64)
    with pytest.raises(RuntimeError, match='bug at episode 14'):
        agent.fit(max_steps=400, callbacks=[RaiseAtEpisode(14)])
    monkeypatch.undo()
    assert checkpoint_state(run / 'latest')['episodes'] == 16 and episodes_of(run) == list(range(1, 17))
    resumed = xagents.PPO.from_env(**FOUR_AT_ONCE, **TINY)
    resumed.resume(run)  # the lock was released
    resumed.fit(max_steps=96)
    assert episodes_of(run) == list(range(1, resumed.episodes + 1)) and resumed.episodes == 24


# ------------------------------------------------------------------ export
@pytest.fixture(scope='module')
def trained_run(tmp_path_factory):
    run = tmp_path_factory.mktemp('export') / 'run'
    agent = xagents.PPO.from_env('CartPole-v1', n_envs=2, n_steps=16, mini_batches=4, quiet=True, output_dir=str(run))
    agent.fit(max_steps=100)
    return run


def export_args(run, format: str, output) -> list[str]:
    return ['export', '--run', str(run), '--format', format, '--output', str(output)]


def leftovers(folder) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


@pytest.mark.parametrize('fault, code', [(OSError(28, 'No space left on device'), 2), (KeyboardInterrupt(), 130)])
def test_an_export_that_fails_leaves_nothing_and_the_same_command_works_after(
    trained_run, tmp_path, monkeypatch, capsys, fault, code
):
    from xagents.commands.main import main
    from xagents.export import formats

    for format, writer in list(formats.WRITERS.items()):

        def fails_when_written(policy, output, writer=writer):
            writer(policy, output)  # all of it written, then the fault: the rename never comes
            raise fault

        output = tmp_path / f'policy-{format}'
        monkeypatch.setitem(formats.WRITERS, format, fails_when_written)
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_info:
            main(export_args(trained_run, format, output))
        error = capsys.readouterr().err
        assert exit_info.value.code == code and error.count('\n') == 1 and error.startswith('xagents: error: ')
        assert leftovers(tmp_path) == [], format
        monkeypatch.setitem(formats.WRITERS, format, writer)
        assert main(export_args(trained_run, format, output)) == 0
        assert leftovers(tmp_path) == [output.name]
        formats._remove(output)


# The real command in a process of its own, with a writer that takes its time once it has written
# (a stand-in for a large model): the signal always comes while the temporary is there.
SLOW_EXPORT = """
import signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal (a background job ignores it)
from xagents.export import formats
from xagents.commands.main import main
writer = formats.WRITERS['saved_model']

def slow(policy, output):
    writer(policy, output)
    print('written', flush=True)
    time.sleep(120)

formats.WRITERS['saved_model'] = slow
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.integration  # subprocesses: the default run stays under 10 minutes on 2 cores
@pytest.mark.parametrize('signum, code', [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_during_an_export_leaves_nothing_and_the_same_command_works_after(trained_run, tmp_path, signum, code):
    output = tmp_path / 'policy'
    env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2'}
    args = export_args(trained_run, 'saved_model', output)
    process = subprocess.Popen(
        [sys.executable, '-c', SLOW_EXPORT, *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for line in process.stdout:  # the temporary is complete, and not yet renamed
        if line.strip() == 'written':
            break
    assert (tmp_path / '.policy.tmp' / 'saved_model.pb').is_file(), process.stderr.read()
    process.send_signal(signum)
    _, error = process.communicate(timeout=60)
    assert process.returncode == code, error
    stopped = f'export stopped by {signum.name}: nothing was written to {output} (the same command starts again)'
    assert error == f'xagents: error: {stopped}\n'
    assert leftovers(tmp_path) == []
    result = run_cli(tmp_path, *args)
    assert result.returncode == 0, result.stderr
    assert leftovers(tmp_path) == ['policy'] and (output / 'saved_model.pb').is_file()


# ------------------------------------------------------------- full disk
PPO_RUN = 'train ppo --env CartPole-v1 --n-envs 2 --n-steps 16 --mini-batches 4 --save-interval 0.1 --seed 0'.split()
DQN_RUN = 'train dqn --env CartPole-v1 --save-interval 0.1 --save-buffer --buffer-initial-size 300'.split()
ENOSPC = OSError(28, 'No space left on device')


def full_disk(monkeypatch, case: str) -> None:
    """From the second write of ``case`` on, the disk is full: each write leaves part of its file, then fails
    as TensorFlow (ResourceExhaustedError) or Python (OSError ENOSPC) does."""
    import numpy as np
    import pyarrow.parquet as pq
    import tensorflow as tf

    from xagents.replay import buffers
    from xagents.run import checkpoints, history

    calls = []

    def failing(write, target, prefix: str, error: Exception):
        def write_until_full(*args, **kwargs):
            path = Path(args[target])
            if prefix in str(path):
                calls.append(path)
                if len(calls) > 1:
                    if path.is_dir():
                        (path / 'ckpt-99_temp').mkdir()
                        (path / 'ckpt-99_temp' / 'part-00000-of-00001.data-00000-of-00001').write_bytes(b'half')
                    else:
                        Path(path).write_bytes(b'half')
                    raise error
            return write(*args, **kwargs)

        return write_until_full

    disk_full = tf.errors.ResourceExhaustedError(None, None, 'ckpt-99_temp/part-00000; No space left on device')
    if case in ('latest', 'best'):
        monkeypatch.setattr(checkpoints, '_save', failing(checkpoints._save, 1, f'/{case}', disk_full))
    elif case == 'history':
        monkeypatch.setattr(history.pq, 'write_table', failing(pq.write_table, 1, 'history.parquet', ENOSPC))
    else:
        monkeypatch.setattr(buffers.np, 'savez', failing(np.savez, 0, 'replay-buffer', ENOSPC))


@pytest.mark.parametrize(
    'case, command, saving',
    [
        ('latest', PPO_RUN, 'run/latest: the previous checkpoint (step '),
        ('best', PPO_RUN, 'run/best-model: the previous model there (step '),
        ('history', PPO_RUN, 'run/history.parquet: the previous history and the previous checkpoint (step '),
        ('buffer', DQN_RUN, 'run/replay-buffer.npz: the checkpoint (step '),
    ],
)
def test_a_full_disk_while_saving_is_one_line_leaves_no_temporary_and_the_run_resumes(
    tmp_path, monkeypatch, capsys, case, command, saving
):
    from xagents.commands.main import main

    monkeypatch.chdir(tmp_path)
    full_disk(monkeypatch, case)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main([*command, '--max-steps', '3000', '--output-dir', 'run'])
    error = capsys.readouterr().err
    monkeypatch.undo()
    assert exit_info.value.code == 1 and error.count('\n') == 1, error
    assert error.startswith(f'xagents: error: no space left on device while saving {saving}'), error
    assert error.endswith('; free space and --resume run\n'), error
    left = [path.name for path in (tmp_path / 'run').rglob('*') if '_temp' in path.name or '.tmp' in path.name]
    assert left == []
    state = check_killed_run(tmp_path / 'run')
    monkeypatch.chdir(tmp_path)
    assert main([*command, '--max-steps', str(state['steps'] + 300), '--resume', 'run']) == 0
    assert check_killed_run(tmp_path / 'run')['steps'] >= state['steps'] + 300


@pytest.mark.integration  # subprocesses: the default run stays under 10 minutes on 2 cores
def test_a_file_size_limit_hit_by_a_real_checkpoint_write_is_one_line_and_the_run_resumes(tmp_path):
    """The real writers against a real limit (RLIMIT_FSIZE: TensorFlow's OutOfRange, EFBIG) in a process of its own."""
    import resource

    run = tmp_path / 'run'
    assert run_cli(tmp_path, *PPO_RUN, '--max-steps', '200', '--output-dir', 'run').returncode == 0
    state = checkpoint_state(run / 'latest')
    largest = max(path.stat().st_size for path in (run / 'latest').iterdir())
    limit = largest // 2  # the checkpoint's data file no longer fits; config.json, the lock and the history do

    def limited():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))

    env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2'}
    command = [*XAGENTS, *PPO_RUN, '--max-steps', '100000', '--resume', 'run']
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, preexec_fn=limited)
    assert result.returncode == 1 and result.stderr.count('\n') == 1, result.stderr
    assert result.stderr == (
        'xagents: error: file size limit reached while saving run/latest: the previous checkpoint '
        f'(step {state["steps"]:,}) is kept; raise the limit (ulimit -f) and --resume run\n'
    )
    assert [path.name for path in run.rglob('*') if '_temp' in path.name or '.tmp' in path.name] == []
    assert check_killed_run(run) == state
    result = run_cli(tmp_path, *PPO_RUN, '--max-steps', str(state['steps'] + 300), '--resume', 'run')
    assert result.returncode == 0, result.stderr
    assert check_killed_run(run)['steps'] >= state['steps'] + 300


class SignalOnCount(collections.deque):
    """An agent's deque of episode rewards that sends ``signum`` to this process when the 5th episode
    is counted: after the episode counter moved and before its record is kept."""

    def __init__(self, rewards, signum):
        super().__init__(rewards, rewards.maxlen)
        self.signum = signum

    def append(self, reward):
        super().append(reward)
        if len(self) == 5:
            os.kill(os.getpid(), self.signum)


@pytest.mark.parametrize('signum, reason', [(signal.SIGTERM, 'terminated'), (signal.SIGINT, 'interrupted')])
def test_a_signal_while_an_episode_is_counted_waits_for_its_record(tmp_path, signum, reason):
    # Ctrl-C as in a terminal (a background job, as pytest under nohup, inherits it ignored).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        signalled_while_counting(tmp_path, signum, reason)
    finally:
        signal.signal(signal.SIGINT, previous)


def signalled_while_counting(tmp_path, signum, reason):
    agent = xagents.PPO.from_env('CartPole-v1', n_envs=2, n_steps=64, seed=0, quiet=True, output_dir=tmp_path / 'run')
    agent.episode_rewards = SignalOnCount(agent.episode_rewards, signum)
    assert agent.fit(max_steps=20_000) == reason
    saved = checkpoint_state(tmp_path / 'run' / 'latest')
    assert saved['episodes'] >= 5 and saved['steps'] % 128 == 0  # held to the end of the iteration
    assert episodes_of(tmp_path / 'run') == list(range(1, saved['episodes'] + 1))


def signalled_in_an_update(tmp_path, signals: int) -> tuple[str, int, list[str]]:
    """A PPO run sent ``signals`` SIGTERMs from inside its 3rd iteration's update (as a signal that
    arrives while TensorFlow runs); the reason, the steps saved and how far that iteration got."""
    agent = xagents.PPO.from_env('CartPole-v1', n_envs=2, n_steps=64, seed=0, quiet=True, output_dir=tmp_path / 'run')
    train_iteration, reached = agent.train_iteration, []

    def signalled():
        losses = train_iteration()
        if agent.steps == 3 * 128:
            for _ in range(signals):
                os.kill(os.getpid(), signal.SIGTERM)
            reached.append('after the signals')
        return losses

    agent.train_iteration = signalled
    reason = agent.fit(max_steps=20_000)
    return reason, checkpoint_state(tmp_path / 'run' / 'latest')['steps'], reached


def test_a_signal_in_an_update_stops_the_run_when_the_iteration_ends(tmp_path):
    # Raised at once, the interrupt could come out of TensorFlow's C++ code, which crashed (SIGSEGV).
    assert signalled_in_an_update(tmp_path, 1) == ('terminated', 3 * 128, ['after the signals'])


def test_a_second_signal_stops_the_run_at_once(tmp_path):
    reason, steps, reached = signalled_in_an_update(tmp_path, 2)
    assert (reason, reached) == ('terminated', []) and steps == 3 * 128
