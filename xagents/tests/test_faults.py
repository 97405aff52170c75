"""Nothing lost, nothing confusing: the bad-input catalogue through the real entry point,
SIGKILL at random moments of training runs, and a NaN stopping a run."""

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from xagents.commands.main import main
from xagents.run.history import read_history
from xagents.tests.test_cli import XAGENTS, run_cli

PPO_MODEL = Path(__file__).parents[1] / 'ppo' / 'models' / 'ann-actor-critic.cfg'
TINY_PPO = '--env CartPole-v1 --n-envs 2 --n-steps 16 --seed 0'.split()


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    """Files a user could point xagents at, good and bad; each case must leave them all unchanged."""
    folder = tmp_path_factory.mktemp('catalogue')
    # The two runs train side by side (one per core): half the fixture's time.
    env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2'}
    trainings = [
        subprocess.Popen(
            [*XAGENTS, 'train', agent, *extra, '--max-steps', '600', '--output-dir', run],
            cwd=folder,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for run, agent, extra in (('ppo-run', 'ppo', TINY_PPO), ('dqn-run', 'dqn', ['--env', 'CartPole-v1']))
    ]
    for training in trainings:
        _, errors = training.communicate(timeout=300)
        assert training.returncode == 0, errors
    best = folder / 'ppo-run' / 'best-model'
    for name, damage in (('corrupt.tf', 'overwrite'), ('truncated.tf', 'truncate')):
        shutil.copytree(best, folder / name)
        data = next((folder / name).glob('*.data-*'))
        content = data.read_bytes()
        data.write_bytes(bytes(len(content)) if damage == 'overwrite' else content[: len(content) // 2])
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({'a': [1, 2], 'b': [3.0, 4.0]}), folder / 'foreign.parquet')
    (folder / 'corrupt.parquet').write_bytes(b'PAR1 this is not parquet')
    (folder / 'file.txt').write_text('a file, not a folder\n')
    (folder / 'not-a-run').mkdir()
    (folder / 'not-a-run' / 'notes.txt').write_text('keep me\n')
    model = PPO_MODEL.read_text()
    (folder / 'unknown-section.cfg').write_text(model + '\n[transformer]\nheads=4\n')
    (folder / 'no-units.cfg').write_text(model.replace('units=', 'width=', 1))
    (folder / 'bad-activation.cfg').write_text(model.replace('activation=tanh', 'activation=sparkle', 1))
    (folder / 'results.json').write_text('{"keep": true}\n')
    (folder / 'other-config').mkdir()
    (folder / 'other-config' / 'config.json').write_text('{"model_type": "bert"}\n')
    shutil.copytree(folder / 'ppo-run', folder / 'damaged-run')
    (folder / 'damaged-run' / 'config.json').write_text('{"agent": "ppo", "env": ')
    return folder


def fingerprint(folder: Path) -> dict:
    return {
        str(path.relative_to(folder)): (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
        for path in sorted(folder.rglob('*'))
        if path.is_file()
    }


CATALOGUE = [
    # (what, command line, exit code, words of the one-line message)
    ('unknown command', 'dance', 2, "unknown command 'dance'"),
    ('unknown agent', 'train nope --env CartPole-v1 --max-steps 10', 2, "unknown agent 'nope'"),
    ('unknown flag', 'train ppo --env CartPole-v1 --max-steps 10 --warp 9', 2, 'unrecognized arguments: --warp'),
    ('misspelled flag', 'train ppo --env CartPole-v1 --max-step 10', 2, 'did you mean --max-steps?'),
    (
        'play --output on a file that exists',
        'play --run ppo-run --episodes 1 --output results.json',
        2,
        'results.json already exists: give a new --output path',
    ),
    (
        "an off-policy library's replay flags on an on-policy agent",
        'train ppo --env CartPole-v1 --max-steps 10 --save-replay-buffer --buffer-size 10',
        2,
        '(--save-replay-buffer, --buffer-size: this agent keeps no replay buffer: it learns from its own rollouts)',
    ),
    ('play --checkpoint of no kind', 'play --run ppo-run --checkpoint newest', 2, "got 'newest'"),
    ('play --checkpoint without a run', 'play ppo --env CartPole-v1 --checkpoint latest', 2, 'needs --run DIR'),
    (
        'play --checkpoint with --snapshot',
        'play --run ppo-run --checkpoint 10 --snapshot 10',
        2,
        '--checkpoint and --snapshot both choose the checkpoint',
    ),
    (
        'old and new name of one flag',
        'play ppo --env CartPole-v1 --random --max-steps 5 --max-episode-steps 7',
        2,
        '--max-steps is the old name of --max-episode-steps: give one of them',
    ),
    (
        "an agent flag's old and new name",
        'train ppo --env CartPole-v1 --max-steps 10 --clip-norm 0.1 --clip-range 0.2',
        2,
        '--clip-norm is the old name of --clip-range: give one of them',
    ),
    ('missing --env', 'train ppo --max-steps 10', 2, 'required: --env'),
    ('unknown env id', 'train ppo --env CartPol-v1 --max-steps 10', 2, "unknown environment 'CartPol-v1'"),
    ('DQN on a continuous env', 'train dqn --env Pendulum-v1 --max-steps 10', 2, 'discrete action space'),
    ('ACER on a continuous env', 'train acer --env Pendulum-v1 --max-steps 10', 2, 'discrete action space'),
    ('DDPG on a discrete env', 'train ddpg --env CartPole-v1 --max-steps 10', 2, 'continuous (Box) action space'),
    ('TD3 on a discrete env', 'train td3 --env CartPole-v1 --max-steps 10', 2, 'continuous (Box) action space'),
    ('image env without --preprocess', 'train ppo --env QbertNoFrameskip-v4 --max-steps 10', 2, 'add --preprocess'),
    ('--preprocess on a non-image env', 'train ppo --env CartPole-v1 --preprocess --max-steps 10', 2, 'Atari'),
    ('--n-envs 0', 'train ppo --env CartPole-v1 --max-steps 10 --n-envs 0', 2, '--n-envs: must be > 0'),
    ('zero --lr', 'train ppo --env CartPole-v1 --max-steps 10 --lr 0', 2, '--lr: must be > 0'),
    ('negative --lr', 'train ppo --env CartPole-v1 --max-steps 10 --lr -0.1', 2, '--lr: must be > 0'),
    ('--gamma above 1', 'train ppo --env CartPole-v1 --max-steps 10 --gamma 1.5', 2, '--gamma must be in (0, 1]'),
    ('--gamma 0', 'train ppo --env CartPole-v1 --max-steps 10 --gamma 0', 2, '--gamma must be in (0, 1]'),
    (
        'initial buffer above its size',
        'train dqn --env CartPole-v1 --max-steps 10 --buffer-initial-size 2000 --buffer-max-size 1000',
        2,
        '--buffer-initial-size (2000) is larger than --buffer-max-size (1000)',
    ),
    (
        'batch above the buffer size',
        'train dqn --env CartPole-v1 --max-steps 10 --no-presets --buffer-batch-size 64 --buffer-max-size 32',
        2,
        '--buffer-batch-size (64) is larger than --buffer-max-size (32)',
    ),
    # CartPole's preset has a budget (it would train 100k steps): an env with no preset needs a stop flag.
    ('no --target-reward or --max-steps', 'train ppo --env Acrobot-v1', 2, '--target-reward or --max-steps'),
    (
        'wrong number of --weights',
        'play td3 --env Pendulum-v1 --weights a b c',
        2,
        '--weights needs 2 path(s) for TD3, got 3',
    ),
    (
        'wrong number of --checkpoints',
        'train ppo --env CartPole-v1 --max-steps 10 --checkpoints a.tf b.tf',
        2,
        '--checkpoints needs 1 path',
    ),
    ('weights file missing', 'play ppo --env CartPole-v1 --weights missing.tf', 2, 'weights not found: missing.tf'),
    (
        'weights from another agent',
        'play ppo --env CartPole-v1 --weights dqn-run/best-model',
        2,
        'cannot load dqn-run/best-model into this agent and environment',
    ),
    (
        'weights from another env',
        'play ppo --env Acrobot-v1 --weights ppo-run/best-model',
        2,
        'cannot load ppo-run/best-model into this agent and environment',
    ),
    ('corrupt weights', 'play ppo --env CartPole-v1 --weights corrupt.tf', 2, 'cannot load corrupt.tf'),
    ('truncated weights', 'play ppo --env CartPole-v1 --weights truncated.tf', 2, 'cannot load truncated.tf'),
    (
        'corrupt history',
        'train ppo --env CartPole-v1 --max-steps 10 --history-checkpoint corrupt.parquet',
        2,
        'corrupt.parquet is not a readable parquet file',
    ),
    (
        'foreign history',
        'train ppo --env CartPole-v1 --max-steps 10 --history-checkpoint foreign.parquet',
        2,
        'foreign.parquet is not an xagents history (missing columns: episode, step',
    ),
    (
        '--history-checkpoint in a missing folder',
        'train ppo --env CartPole-v1 --max-steps 10 --history-checkpoint nowhere/h.parquet',
        2,
        'folder of the history file does not exist: nowhere',
    ),
    (
        '--history-checkpoint naming a folder',
        'train ppo --env CartPole-v1 --max-steps 10 --history-checkpoint not-a-run',
        2,
        'not-a-run is a folder, not a history file',
    ),
    (
        'model file with an unknown section',
        'train ppo --env CartPole-v1 --max-steps 10 --model unknown-section.cfg',
        2,
        'unknown-section.cfg',
    ),
    ('model file without units', 'train ppo --env CartPole-v1 --max-steps 10 --model no-units.cfg', 2, 'units'),
    (
        'model file with a bad activation',
        'train ppo --env CartPole-v1 --max-steps 10 --model bad-activation.cfg',
        2,
        'sparkle',
    ),
    ('model file missing', 'train ppo --env CartPole-v1 --max-steps 10 --model gone.cfg', 2, 'model file not found'),
    (
        '--resume of a folder that is not a run',
        'train ppo --env CartPole-v1 --max-steps 10 --resume not-a-run',
        2,
        'not-a-run is not an xagents run directory',
    ),
    (
        'a new run in an existing run folder',
        'train ppo --env CartPole-v1 --max-steps 10 --output-dir ppo-run',
        2,
        'ppo-run is an existing run',
    ),
    (
        '--video-dir not writable',
        'play ppo --env CartPole-v1 --random --episodes 1 --video-dir file.txt/videos',
        2,
        'file.txt/videos',
    ),
    (
        'tune with min > max',
        'tune ppo --env CartPole-v1 --study t --trial-steps 100 --lr 1e-2 1e-4',
        2,
        'the range minimum 0.01 is above its maximum 0.0001',
    ),
    (
        'tune with a range for a categorical flag',
        'tune ppo --env CartPole-v1 --study t --trial-steps 100 --n-steps 16..64',
        2,
        '--n-steps is categorical',
    ),
    (
        'tune with an unreachable storage',
        'tune ppo --env CartPole-v1 --study t --trial-steps 100 --storage postgresql://x@127.0.0.1:1/db',
        2,
        'cannot open the storage postgresql://x@127.0.0.1:1/db',
    ),
    ('plot of a missing file', 'plot nothing.parquet', 2, 'history file not found: nothing.parquet'),
    ('plot of a non-history file', 'plot foreign.parquet', 2, 'foreign.parquet is not an xagents history'),
    ('plot over a history', 'plot ppo-run/history.parquet --output ppo-run/history.parquet', 2, '.png'),
    ('play --output over a folder', 'play ppo --env CartPole-v1 --random --output not-a-run', 2, 'must be a file'),
    ('damaged run config', 'play ppo --run damaged-run', 2, 'damaged-run/config.json is damaged'),
    ("another program's config.json", 'play ppo --run other-config', 2, 'other-config is not an xagents run directory'),
    (
        'a run of another agent as --weights',
        'play ppo --env CartPole-v1 --weights dqn-run',
        2,
        'a run of dqn on CartPole-v1',
    ),
    (
        'a new run over files of the names a run writes',
        'train ppo --env CartPole-v1 --max-steps 10 --output-dir other-config',
        2,
        'other-config already holds config.json',
    ),
    (
        '--checkpoints naming a file',
        'train ppo --env CartPole-v1 --max-steps 10 --checkpoints file.txt',
        2,
        'is a file',
    ),
    (
        '--checkpoints that cannot be created',
        'train ppo --env CartPole-v1 --max-steps 10 --checkpoints /proc/xa/p.tf',
        2,
        '--checkpoints /proc/xa/p.tf cannot be created',
    ),
    ('resume of a damaged run config', 'train ppo --env CartPole-v1 --resume damaged-run --max-steps 10', 2, 'damaged'),
]


@pytest.mark.parametrize('what, command, code, message', CATALOGUE, ids=[case[0] for case in CATALOGUE])
def test_bad_input_catalogue(workspace, monkeypatch, capsys, what, command, code, message):
    # In this process (the command's main, as the entry point calls it): a process per case spent
    # most of its time importing TensorFlow. test_errors_through_the_real_entry_point runs the script.
    before = fingerprint(workspace)
    monkeypatch.chdir(workspace)
    capsys.readouterr()
    try:
        returned = main(command.split())
    except SystemExit as exit_info:
        returned = exit_info.code
    error = capsys.readouterr().err
    assert returned == code, error
    assert error.count('\n') == 1 and error.startswith('xagents: error: ') and message in error, error
    assert fingerprint(workspace) == before, 'a prepared file changed'


def test_debug_shows_the_traceback(workspace):
    result = run_cli(workspace, *'train ppo --env CartPole-v1 --max-steps 10 --model gone.cfg --debug'.split())
    assert result.returncode != 0
    assert 'Traceback (most recent call last)' in result.stderr and 'model file not found: gone.cfg' in result.stderr


@pytest.mark.integration  # ~15 s: wandb's own start-up
def test_wandb_requested_without_an_account_falls_back_to_offline(tmp_path):
    home = tmp_path / 'home'
    home.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith('WANDB_')}
    result = subprocess.run(
        [*XAGENTS, *'train ppo --max-steps 300 --monitor-session s --output-dir run'.split(), *TINY_PPO],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**env, 'HOME': str(home), 'TF_CPP_MIN_LOG_LEVEL': '2'},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert [line for line in result.stdout.splitlines() if 'wandb' in line and 'offline' in line]
    assert 'Traceback' not in result.stderr and (tmp_path / 'run' / 'wandb').is_dir()


# ----------------------------------------------------------------- kill -9
def checkpoint_state(folder: Path) -> dict:
    """Read every tensor of the checkpoint in ``folder`` (all files complete) and return its saved state."""
    import tensorflow as tf

    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(folder)))
    for name in reader.get_variable_to_shape_map():
        reader.get_tensor(name)
    return json.loads(reader.get_tensor('state/.ATTRIBUTES/VARIABLE_VALUE'))


def check_killed_run(run: Path) -> dict:
    """What a kill must leave: a loadable checkpoint and a history holding exactly its episodes."""
    state = checkpoint_state(run / 'latest')
    for best in run.glob('best-*'):
        if (best / 'checkpoint').is_file():
            checkpoint_state(best)
    history = read_history(run / 'history.parquet')
    episodes = [
        episode
        for episode, step in zip(history.column('episode').to_pylist(), history.column('step').to_pylist())
        if step <= state['steps']
    ]
    assert episodes == list(range(1, state['episodes'] + 1)), 'history rows lost or repeated'
    if (run / 'replay-buffer.npz').is_file():
        with np.load(run / 'replay-buffer.npz', allow_pickle=False) as stored:
            assert int(stored['count']) <= state['buffer_count']  # at most one save behind the checkpoint
            for name in stored.files:
                stored[name]
    return state


def ready_to_kill(attempt: int, before: tuple | None, config: Path, pointer: Path) -> bool:
    """The kill comes at a random moment after: the first checkpoint (new run); the resumed run
    entering training (config.json rewritten: even attempts, kills during start-up saves); the
    resumed run's first save of its own (odd attempts: the chain makes progress)."""
    if attempt == 0:
        return pointer.is_file()
    return config.stat().st_mtime_ns != before[0] and (attempt % 2 == 0 or pointer.stat().st_mtime_ns != before[1])


def kill_repeatedly(folder: Path, command: list[str], kills: int, seed: int) -> list[dict]:
    """Start the run, SIGKILL it at a random moment, check it, resume it; ``kills`` times."""
    rng = random.Random(seed)
    run, states = folder / 'run', []
    config, pointer = run / 'config.json', run / 'latest' / 'checkpoint'
    for attempt in range(kills):
        before = (config.stat().st_mtime_ns, pointer.stat().st_mtime_ns) if attempt else None
        process = subprocess.Popen(
            [*XAGENTS, *command, *(['--resume', 'run'] if attempt else ['--output-dir', 'run'])],
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        # Waited for as long as it takes (a loaded machine starts TensorFlow slowly), not a fixed time.
        deadline = time.monotonic() + 900  # only against a hang
        while not ready_to_kill(attempt, before, config, pointer):
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, f'attempt {attempt}: the run never got ready'
            time.sleep(0.02)
        assert process.poll() is None, process.stderr.read().decode()
        time.sleep(rng.uniform(0, 2.0))
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        process.stderr.close()
        states.append(check_killed_run(run))
        if len(states) > 1:
            assert states[-1]['steps'] >= states[-2]['steps']
    return states


@pytest.mark.integration
def test_runs_killed_at_random_moments_resume_without_losing_or_repeating_history(tmp_path):
    chains = {
        'ppo': 'train ppo --env CartPole-v1 --n-envs 4 --n-steps 32 --max-steps 100000000 --save-interval 0.2',
        'dqn': (
            'train dqn --env CartPole-v1 --max-steps 100000000 --save-interval 0.2 --save-buffer '
            '--buffer-max-size 5000 --buffer-initial-size 300'
        ),
    }
    for name in chains:
        (tmp_path / name).mkdir()
    with ThreadPoolExecutor(2) as pool:  # 10 kills of each, side by side
        futures = {
            name: pool.submit(kill_repeatedly, tmp_path / name, command.split(), 10, seed)
            for seed, (name, command) in enumerate(chains.items())
        }
        states = {name: future.result() for name, future in futures.items()}
    for name, command in chains.items():
        last = states[name][-1]
        assert last['steps'] > states[name][0]['steps'], 'the resumed runs did not go on'
        finish = [*command.split()[:4], '--resume', 'run', '--max-steps', str(last['steps'] + 500)]
        result = run_cli(tmp_path / name, *finish)
        assert result.returncode == 0, result.stderr
        assert f'Resuming run at step {last["steps"]:,}, episode {last["episodes"]:,}' in result.stdout
        final = check_killed_run(tmp_path / name / 'run')
        history = read_history(tmp_path / name / 'run' / 'history.parquet')
        assert history.column('episode').to_pylist() == list(range(1, final['episodes'] + 1))
        assert final['steps'] >= last['steps'] + 500


# ------------------------------------------------------------------- NaN
def test_a_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch, capsys):
    from xagents import PPO
    from xagents.commands.main import main

    iteration = PPO.train_iteration

    def nan_from_step_3000(agent):
        losses = iteration(agent)
        return {**losses, 'loss': float('nan')} if agent.steps >= 3000 else losses

    monkeypatch.setattr(PPO, 'train_iteration', nan_from_step_3000)
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        # No --seed here: in this process it would turn on TensorFlow's op determinism for the tests after it.
        main(['train', 'ppo', *TINY_PPO[:-2], '--max-steps', '20000', '--save-interval', '0.1', '--output-dir', 'run'])
    assert exit_info.value.code == 1
    error = capsys.readouterr().err
    monkeypatch.setattr(PPO, 'train_iteration', iteration)
    assert error.count('\n') == 1 and error.startswith('xagents: error: training diverged: loss is nan at step 3,008')
    state = checkpoint_state(tmp_path / 'run' / 'latest')
    assert f'the last good checkpoint (step {state["steps"]:,}) is kept in run' in error
    assert state['steps'] < 3008
    import tensorflow as tf

    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(tmp_path / 'run' / 'latest')))
    for name, dtype in reader.get_variable_to_dtype_map().items():
        if dtype.is_floating:
            assert np.isfinite(reader.get_tensor(name)).all(), name
    # The run drew its own seed: --resume goes on with it (a --seed given would change the run).
    resumed = run_cli(tmp_path, 'train', 'ppo', *TINY_PPO[:-2], '--max-steps', '4000', '--resume', 'run')
    assert resumed.returncode == 0, resumed.stderr
    assert check_killed_run(tmp_path / 'run')['steps'] >= 4000


def test_nan_parameters_are_never_saved_over_a_good_checkpoint(tmp_path):
    from xagents import PPO
    from xagents.core.errors import TrainingDiverged
    from xagents.tests.helpers import save_best, save_latest

    agent = PPO.from_env('CartPole-v1', n_envs=2, n_steps=16, quiet=True, output_dir=str(tmp_path / 'run'))
    agent.fit(max_steps=200)
    before = fingerprint(tmp_path / 'run')
    weight = agent.models['model'].weights[0]
    weight.assign(np.full(weight.shape, np.nan, 'float32'))
    with pytest.raises(TrainingDiverged, match=r'model parameter .* is not finite at step 2\d\d'):
        save_latest(agent)
    with pytest.raises(TrainingDiverged):
        save_best(agent)
    assert fingerprint(tmp_path / 'run') == before


class SimulatedKill(BaseException):
    """Stands for a kill at one exact point of a save."""


def test_a_kill_between_history_and_checkpoint_neither_loses_nor_repeats_rows(tmp_path, monkeypatch):
    from xagents import PPO
    from xagents.run import checkpoints

    run = tmp_path / 'run'
    options = dict(n_envs=2, n_steps=16, quiet=True, save_interval=1e9, seed=0)
    agent = PPO.from_env('CartPole-v1', output_dir=str(run), **options)
    save = checkpoints._save

    def killed_at_the_second_latest_save(checkpoint, folder):
        if Path(folder).name == 'latest' and (Path(folder) / 'checkpoint').is_file():
            raise SimulatedKill  # the history is written, the checkpoint (still step 0) is not
        save(checkpoint, folder)

    monkeypatch.setattr(checkpoints, '_save', killed_at_the_second_latest_save)
    with pytest.raises(SimulatedKill):
        agent.fit(max_steps=1000)
    assert read_history(run / 'history.parquet').num_rows > 10 and checkpoint_state(run / 'latest')['steps'] == 0
    monkeypatch.setattr(checkpoints, '_save', save)
    resumed = PPO.from_env('CartPole-v1', **options)
    resumed.resume(run)
    resumed.fit(max_steps=600)
    history = read_history(run / 'history.parquet')
    assert history.column('episode').to_pylist() == list(range(1, resumed.episodes + 1))
    assert 600 <= resumed.steps < 700 and history.column('step').to_pylist()[-1] <= resumed.steps


def test_a_kill_during_the_first_checkpoint_lets_the_run_start_again(tmp_path):
    from xagents import PPO
    from xagents.core.errors import CheckpointError

    run = tmp_path / 'run'
    PPO.from_env('CartPole-v1', n_envs=2, n_steps=16, quiet=True, output_dir=str(run)).fit(max_steps=100)
    (run / 'latest' / 'checkpoint').unlink()  # the data files are written, the pointer is not
    with pytest.raises(CheckpointError, match='stopped before its first checkpoint: start it again'):
        PPO.from_env('CartPole-v1', n_envs=2, n_steps=16, quiet=True).resume(run)
    again = PPO.from_env('CartPole-v1', n_envs=2, n_steps=16, quiet=True, output_dir=str(run))
    again.fit(max_steps=100)
    assert checkpoint_state(run / 'latest')['steps'] >= 100


def test_a_best_checkpoint_newer_than_the_latest_keeps_its_mark_on_resume(tmp_path):
    from xagents import PPO
    from xagents.tests.helpers import save_best

    run = tmp_path / 'run'
    agent = PPO.from_env('CartPole-v1', n_envs=2, n_steps=16, quiet=True, output_dir=str(run))
    agent.fit(max_steps=100)
    agent.best_reward, agent.run.state['best_eval_reward'] = 400.0, 450.0
    save_best(agent)  # then a kill: the latest checkpoint still has the older marks
    resumed = PPO.from_env('CartPole-v1', n_envs=2, n_steps=16, quiet=True)
    resumed.resume(run)
    assert (resumed.best_reward, resumed.run.state['best_eval_reward']) == (400.0, 450.0)
