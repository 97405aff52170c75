"""The training loop and what it owns: callbacks, the run lock, signals, elapsed time."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xagents import PPO
from xagents.run.history import read_history
from xagents.tests.test_cli import XAGENTS, run_cli
from xagents.train import Callback

TINY = dict(n_envs=2, n_steps=16, mini_batches=1, quiet=True, seed=0)


# ---------------------------------------------------------------- callbacks
class Counting(Callback):
    """Counts every hook and keeps what the hooks were given."""

    def __init__(self):
        self.calls = dict.fromkeys(('start', 'episode', 'update', 'evaluation', 'end'), 0)
        self.episodes, self.losses, self.reason = [], [], None

    def on_training_start(self, trainer):
        self.calls['start'] += 1

    def on_episode_end(self, trainer, episode):
        self.calls['episode'] += 1
        self.episodes.append(episode)

    def on_update(self, trainer):
        self.calls['update'] += 1
        self.losses.append(dict(trainer.losses))

    def on_evaluation(self, trainer, summary):
        self.calls['evaluation'] += 1

    def on_training_end(self, trainer, reason):
        self.calls['end'] += 1
        self.reason = reason


def test_callbacks_see_every_episode_update_and_the_end(tmp_path):
    agent = PPO.from_env('CartPole-v1', output_dir=str(tmp_path / 'run'), eval_interval=256, eval_episodes=2, **TINY)
    counting = Counting()
    assert agent.fit(max_steps=1000, callbacks=[counting]) == 'max_steps'
    assert counting.calls['start'] == counting.calls['end'] == 1 and counting.reason == 'max_steps'
    assert counting.calls['update'] == agent.steps // 32
    assert counting.calls['evaluation'] == 4  # at steps 256, 512, 768 and 1024 (992 is short of 1000)
    assert counting.calls['episode'] == agent.episodes == len(agent.run.history.column('episode'))
    assert [episode['episode'] for episode in counting.episodes] == list(range(1, agent.episodes + 1))
    assert [episode['episode_reward'] for episode in counting.episodes] == agent.run.history.column('episode_reward')
    assert all(set(losses) == {'loss', 'policy_loss', 'value_loss', 'entropy'} for losses in counting.losses)


def test_a_callback_stops_at_a_greedy_evaluation_score(tmp_path):
    class StopAtScore(Callback):
        def on_evaluation(self, trainer, summary):
            if summary['mean_reward'] >= 0:  # every CartPole evaluation scores at least 0
                trainer.stop('score')

    agent = PPO.from_env('CartPole-v1', output_dir=str(tmp_path / 'run'), eval_interval=320, eval_episodes=2, **TINY)
    assert agent.fit(max_steps=100_000, callbacks=[StopAtScore()]) == 'score'
    assert agent.steps == 320


def test_a_custom_scalar_reaches_tensorboard(tmp_path):
    import tensorflow as tf

    class Logging(Callback):
        def on_update(self, trainer):
            trainer.record({'custom/steps_squared': float(trainer.agent.steps) ** 2})

    agent = PPO.from_env('CartPole-v1', output_dir=str(tmp_path / 'run'), tensorboard=True, **TINY)
    agent.fit(max_steps=320, callbacks=[Logging()])
    values = {}
    for path in (tmp_path / 'run' / 'tensorboard').glob('events.*'):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                if value.tag == 'custom/steps_squared':
                    values[event.step] = float(tf.make_ndarray(value.tensor))
    assert values == {step: float(step) ** 2 for step in range(32, 321, 32)}


def test_hooks_a_callback_does_not_override_are_never_called(tmp_path):
    from xagents.train.trainer import Trainer

    class OnlyUpdates(Callback):
        def on_update(self, trainer):
            pass

    agent = PPO.from_env('CartPole-v1', output_dir=str(tmp_path / 'run'), **TINY)
    trainer = Trainer(agent, [OnlyUpdates()])
    trainer.fit(max_steps=64)
    user = trainer.callbacks.index(trainer.user_callbacks[0])
    assert trainer.callbacks[user].on_update.__func__ in [hook.__func__ for hook in trainer.hooks['on_update']]
    for name in ('on_training_start', 'on_episode_end', 'on_evaluation', 'on_training_end'):
        assert all(getattr(hook, '__self__', None) is not trainer.callbacks[user] for hook in trainer.hooks[name])


# ---------------------------------------------------------- elapsed time
def test_fit_takes_the_training_options_and_the_session_keeps_the_run_folder(tmp_path):
    agent = PPO.from_env('CartPole-v1', eval_episodes=3, **TINY)
    assert agent.run_folder is None and agent.training_options.eval_episodes == 3
    with pytest.raises(TypeError, match='fit got unknown option'):
        agent.fit(max_steps=64, eval_every=32)
    agent.fit(max_steps=64, output_dir=str(tmp_path / 'run'), eval_interval=32)
    evaluations = read_history(tmp_path / 'run' / 'evaluations.parquet', required=('episodes',)).to_pydict()
    assert evaluations['episodes'] and set(evaluations['episodes']) == {3}  # the constructor's option stayed
    assert agent.run_folder.path == tmp_path / 'run'
    assert agent.training_options.eval_interval is None  # fit's options are for that fit
    agent.fit(max_steps=128)  # the next fit goes on in the same folder
    assert agent.run_folder.path == tmp_path / 'run' and agent.run_folder.history.column('step')[-1] <= 128
    with pytest.raises(ValueError, match='another output_dir'):
        agent.fit(max_steps=192, output_dir=str(tmp_path / 'other'))
    assert not (tmp_path / 'other').exists()
    with pytest.warns(DeprecationWarning, match='run_folder'):
        assert agent.run is agent.run_folder


def test_a_resumed_run_counts_its_time_once(tmp_path):
    from xagents.run.checkpoints import saved_state

    run = tmp_path / 'run'
    agent = PPO.from_env('CartPole-v1', output_dir=str(run), save_interval=1e9, **TINY)
    start = time.perf_counter()
    agent.fit(max_steps=2000)
    wall = time.perf_counter() - start
    elapsed = saved_state(run / 'latest')['elapsed']
    last_time = agent.run.history.column('time')[-1]
    assert last_time <= elapsed <= wall  # the old clean exit saved about twice the time trained
    resumed = PPO.from_env('CartPole-v1', save_interval=1e9, **TINY)
    resumed.resume(run)
    start = time.perf_counter()
    resumed.fit(max_steps=4000)
    second = time.perf_counter() - start
    times = resumed.run.history.column('time')
    steps = resumed.run.history.column('step')
    new = [value for value, step in zip(times, steps) if step > 2000]
    assert elapsed <= new[0] <= elapsed + second and new[-1] <= elapsed + second
    assert saved_state(run / 'latest')['elapsed'] <= elapsed + second


# -------------------------------------------------------------- the lock
HOLD_LOCK = """
import sys, time
from xagents.run.lock import RunLock
lock = RunLock(sys.argv[1])
lock.acquire()
print('locked', flush=True)
time.sleep(120)
"""


def test_a_live_lock_is_refused_naming_its_process_and_a_killed_ones_taken_over(tmp_path):
    from xagents.run.lock import RunLock, RunLocked

    holder = subprocess.Popen([sys.executable, '-c', HOLD_LOCK, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == 'locked'
        with pytest.raises(RunLocked, match=rf'{tmp_path} is in use by process {holder.pid} '):
            RunLock(tmp_path).acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    lock = RunLock(tmp_path)
    lock.acquire()  # the killed process's lock is stale: taken over
    assert lock.held and f'process {os.getpid()} ' in (tmp_path / '.lock').read_text()
    lock.release()


@pytest.mark.integration  # ~20 s: two real processes on one run folder
def test_a_second_writer_of_a_live_run_is_refused(tmp_path):
    train = [*XAGENTS, 'train', 'ppo', '--env', 'CartPole-v1', '--n-envs', '2', '--n-steps', '16']
    env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2'}
    first = subprocess.Popen(
        [*train, '--max-steps', '10000000', '--output-dir', 'run', '--save-interval', '0.5'],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        while not first.stdout.readline().startswith('time '):  # training, with its first checkpoint
            assert first.poll() is None
        for args in (['--resume', 'run'], ['--output-dir', 'run']):
            second = run_cli(tmp_path, *train[3:], '--max-steps', '100', *args)
            assert second.returncode == 2, second.stderr
            assert second.stderr.startswith(f'xagents: error: run is in use by process {first.pid} ('), second.stderr
            assert second.stderr.count('\n') == 1 and 'wait for it to end' in second.stderr
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    resumed = run_cli(tmp_path, *train[3:], '--max-steps', '100', '--resume', 'run')  # the lock was stale
    assert resumed.returncode == 0, resumed.stderr


# ------------------------------------------------------------ signals
# SIGINT (~15 s) with the integration tests: the same save path as SIGTERM.
@pytest.mark.parametrize(
    'sent, code', [pytest.param(signal.SIGINT, 130, marks=pytest.mark.integration), (signal.SIGTERM, 143)]
)
def test_an_interrupted_run_saves_and_exits_with_the_shell_code(tmp_path, sent, code):
    from xagents.run.checkpoints import saved_state

    process = subprocess.Popen(
        [*XAGENTS, 'train', 'ppo', '--env', 'CartPole-v1', '--n-envs', '2', '--max-steps', '10000000'],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A crash shows where it happened: Python's stacks on stderr (a SIGSEGV in TensorFlow, before
        # signals were held to the end of an iteration, was found so).
        env={**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2', 'XAGENTS_JIT': '0', 'PYTHONFAULTHANDLER': '1'},
        # A shell's background job ignores SIGINT, and a child would inherit that: Ctrl-C as in a terminal.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    lines = []
    while not (lines and lines[-1].startswith('time ')):
        lines.append(process.stdout.readline())
        assert process.poll() is None, lines
    process.send_signal(sent)
    out, err = process.communicate(timeout=120)
    assert process.returncode == code, f'{out[-1000:]}\n{err}'
    run = Path(next(line for line in lines if line.startswith('Run directory: ')).split(': ', 1)[1].strip())
    state = saved_state(tmp_path / run / 'latest')
    assert 'saved in' in out and state['steps'] > 0
    # Episodes that ended in the interrupted iteration are in the history as in the checkpoint.
    history = read_history(tmp_path / run / 'history.parquet')
    assert history.column('episode').to_pylist() == list(range(1, state['episodes'] + 1))


# ----------------------------------------------------- play and plot fixes
def test_play_never_overwrites_the_videos_of_a_folder(tmp_path):
    videos = tmp_path / 'videos'
    videos.mkdir()
    (videos / 'CartPole-v1-episode-0.mp4').write_bytes(b'an earlier video')
    agent = PPO.from_env('CartPole-v1', quiet=True)
    agent.play(episodes=2, video_dir=str(videos), random=True)
    assert (videos / 'CartPole-v1-episode-0.mp4').read_bytes() == b'an earlier video'
    assert sorted(path.name for path in videos.iterdir()) == [f'CartPole-v1-episode-{k}.mp4' for k in range(3)]


def test_plot_help_shows_its_own_usage(capsys):
    from xagents.commands.main import main

    assert main(['plot', '--help']) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == 'usage: xagents plot SOURCE [SOURCE ...] [options]'
    assert 'Title of the plot' not in out and 'Environment name, shown as the title of the plot' in out
