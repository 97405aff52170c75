"""A user's own environment in (``module:EnvId``, ``--env-kwargs``, a function), a trained policy
out (``xagents.load``, ``predict``, ``xagents export``), and run folders that move."""

import functools
import json
import re
import shutil
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import xagents
from xagents.commands.main import main
from xagents.tests.tiny_envs import Corridor, StartAtOne, make_corridor

CORRIDOR = 'xagents.tests.tiny_envs:Corridor-v0'
TRAIN = ['--max-steps', '1500', '--n-envs', '4', '--n-steps', '32', '--quiet', '--seed', '1']


def history_steps(run: Path) -> list[int]:
    import pyarrow.parquet as pq

    return pq.read_table(run / 'history.parquet').column('step').to_pylist()


def test_a_module_env_with_kwargs_trains_plays_resumes_and_exports(tmp_path, capsys):
    run = tmp_path / 'run'
    args = ['train', 'ppo', '--env', CORRIDOR, '--env-kwargs', 'length:7', '--normalize-obs', *TRAIN]
    assert main([*args, '--output-dir', str(run)]) == 0
    config = json.loads((run / 'config.json').read_text())
    assert (config['env'], config['env_kwargs']) == (CORRIDOR, {'length': 7})
    assert config['model_files'] == ['models/model.cfg'] and (run / 'models' / 'model.cfg').is_file()
    assert config['checkpoints'] == ['best-model'] and config['history'] == 'history.parquet'
    capsys.readouterr()
    # play and resume need nothing but the run folder: the env, its module and kwargs come from it
    assert main(['play', 'ppo', '--run', str(run), '--episodes', '2', '--output', str(tmp_path / 'p.json')]) == 0
    played = json.loads((tmp_path / 'p.json').read_text())
    assert played['env'] == CORRIDOR
    assert played['mean_reward'] == pytest.approx(0.98)  # 3 steps right from the middle of 7 cells
    before = max(history_steps(run))
    assert main(['train', 'ppo', '--resume', str(run), '--max-steps', '3000', '--quiet']) == 0
    assert max(history_steps(run)) > before
    assert json.loads((run / 'config.json').read_text())['env_kwargs'] == {'length': 7}
    assert main(['export', '--run', str(run), '--format', 'onnx', '--output', str(tmp_path / 'policy.onnx')]) == 0
    out = capsys.readouterr().out
    assert 'input "observation": float32 (n, 2); output "action": int64 (n,) in 0..1' in out

    import onnxruntime

    observations = np.random.default_rng(0).random((100, 2), np.float32)
    session = onnxruntime.InferenceSession(str(tmp_path / 'policy.onnx'))
    agent = xagents.load(run)
    np.testing.assert_array_equal(session.run(None, {'observation': observations})[0], agent.predict(observations))


def test_a_function_making_the_env_trains_and_loads_from_python(tmp_path):
    agent = xagents.PPO.from_env(
        make_corridor, n_envs=2, env_kwargs={'length': 7}, output_dir=tmp_path / 'run', n_steps=32, seed=3, quiet=True
    )
    assert agent.envs.single_action_space == gym.spaces.Discrete(2)
    agent.fit(max_steps=2000)
    config = json.loads((tmp_path / 'run' / 'config.json').read_text())
    assert config['env'] == 'xagents.tests.tiny_envs:make_corridor'
    loaded = xagents.load(tmp_path / 'run')
    env = make_corridor(length=7)
    observation, _ = env.reset(seed=0)
    action = loaded.predict(observation)
    assert action.shape == () and action.dtype == np.int64
    np.testing.assert_array_equal(loaded.predict(np.stack([observation] * 3)), [action] * 3)


def test_a_run_of_a_function_in_main_is_loaded_with_the_function_given_again(tmp_path):
    def corridor():  # a notebook's function: it cannot be imported again
        return gym.wrappers.TimeLimit(Corridor(5), 20)

    agent = xagents.DQN.from_env(corridor, output_dir=tmp_path / 'run', buffer_initial_size=64, quiet=True)
    agent.fit(max_steps=300)
    with pytest.raises(ValueError, match=r'corridor\(\), which cannot be imported again: pass it to xagents.load'):
        xagents.load(tmp_path / 'run')
    assert xagents.load(tmp_path / 'run', env=corridor).predict(np.zeros(2, np.float32)) in (0, 1)


@pytest.mark.parametrize(
    'env, message',
    [
        ('BadDtype-v0', 'reset() returned an observation of dtype float64, its observation_space has float32'),
        ('BadShape-v0', 'reset() returned an observation of shape (3,), its observation_space has (2,)'),
        ('OldReset-v0', 'reset() must return (observation, info dict), it returned ndarray'),
        ('DictObservations-v0', "observation key 'note' is a Text, which the networks cannot take"),
        ('BitGridActions-v0', 'has a MultiBinary action space of shape (2, 2): xagents takes 1-D MultiBinary actions'),
        ('DialsFromOne-v0', 'start=[1 1 1]): xagents takes MultiDiscrete actions from 0 to nvec-1'),
        ('Nope-v0', "unknown environment 'Nope-v0' (importing xagents.tests.tiny_envs did not register it)"),
    ],
)
def test_an_env_that_breaks_the_api_is_one_line_and_exit_2_before_any_file(tmp_path, capsys, env, message):
    run = tmp_path / 'run'
    with pytest.raises(SystemExit) as exit_info:
        main(
            ['train', 'ppo', '--env', f'xagents.tests.tiny_envs:{env}', '--max-steps', '100', '--output-dir', str(run)]
        )
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not run.exists()


@pytest.mark.parametrize(
    'args, message',
    [
        (['--env', 'nomodule:X-v0'], "--env nomodule:X-v0: cannot import nomodule: No module named 'nomodule'"),
        (['--env', 'CartPole-v1', '--env-kwargs', 'length'], "--env-kwargs: expected key:value, got 'length'"),
        (['--env', 'CartPole-v1', '--env-kwargs', 'pole:1'], "unexpected keyword argument 'pole'"),
    ],
)
def test_bad_env_flags_are_one_line(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exit_info:
        main(['train', 'ppo', *args, '--max-steps', '100', '--output-dir', str(tmp_path / 'run')])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / 'run').exists()


def test_a_moved_run_plays_and_resumes_without_the_package_model_files(tmp_path, monkeypatch, capsys):
    run = tmp_path / 'first' / 'run'
    assert main(['train', 'a2c', '--env', CORRIDOR, *TRAIN, '--output-dir', str(run)]) == 0
    moved = tmp_path / 'elsewhere' / 'run'
    shutil.move(run.parent, moved.parent)
    # As after a reinstall: the package's own model files are not where the run saw them.
    monkeypatch.setattr(
        xagents.A2C, 'default_model_files', classmethod(lambda cls, space: [tmp_path / 'gone' / 'ann.cfg'])
    )
    capsys.readouterr()
    assert main(['play', 'a2c', '--run', str(moved), '--output', str(tmp_path / 'p.json')]) == 0
    assert main(['train', 'a2c', '--resume', str(moved), '--max-steps', '3000', '--quiet']) == 0
    assert max(history_steps(moved)) > 1500
    assert xagents.load(moved).predict(np.zeros(2, np.float32)) in (0, 1)
    assert not run.exists()


def test_predict_takes_raw_observations_and_returns_env_actions(tmp_path):
    agent = xagents.TD3.from_env(CORRIDOR, env_kwargs={'continuous': True}, normalize_obs=True, quiet=True, seed=0)
    agent.obs_normalizer.stats.mean[:] = [0.5, 1.0]
    observations = np.random.default_rng(1).random((50, 2), np.float32)
    actions = agent.predict(observations)
    assert actions.shape == (50, 1) and actions.dtype == np.float32
    assert np.all(np.abs(actions) <= 2.0)  # the env's bounds, not the actor's [-1, 1]
    raw = agent.actor(agent.normalize_observations(observations)).numpy()
    np.testing.assert_allclose(actions, 2.0 * np.clip(raw, -1, 1), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(agent.predict(observations[0]), actions[0])
    with pytest.raises(ValueError, match=r'predict takes one observation of shape \(2,\) or a batch of them'):
        agent.predict(np.zeros(3))


@pytest.mark.integration
def test_the_readme_python_snippets_run_from_an_unrelated_folder(tmp_path):
    """Every ```python block of the README, in order, in a folder that is not the repository."""
    import re
    import subprocess
    import sys

    readme = (Path(xagents.__file__).parents[1] / 'README.md').read_text()
    blocks = re.findall(r'```python\n(.*?)```', readme, re.S)
    module = next(block for block in blocks if "gym.register('Corridor-v0'" in block)
    (tmp_path / 'myenvs.py').write_text(module)
    train = ['train', 'ppo', '--env', 'myenvs:Corridor-v0', '--env-kwargs', 'length:9', '--max-steps', '20000']
    cli = [sys.executable, '-m', 'xagents']
    subprocess.run([*cli, *train, '--output-dir', 'runs/corridor', '--quiet'], cwd=tmp_path, check=True)
    for format in ('onnx', 'tflite'):
        export = ['export', '--run', 'runs/corridor', '--format', format, '--output', f'corridor.{format}']
        subprocess.run([*cli, *export], cwd=tmp_path, check=True, capture_output=True)
    doorkey = ['--env', 'minigrid:MiniGrid-DoorKey-5x5-v0', '--obs-keys', 'image', 'direction', '--n-steps', '128']
    train = ['train', 'ppo', *doorkey, '--n-envs', '4', '--max-steps', '512', '--output-dir', 'runs/doorkey']
    subprocess.run([*cli, *train, '--quiet'], cwd=tmp_path, check=True)
    stacked = ['--env', 'xagents.tests.stack_envs:MaskedCartPole-v0', '--frame-stack', '4', '--max-steps', '512']
    subprocess.run(
        [*cli, 'train', 'ppo', *stacked, '--output-dir', 'runs/masked-stack4', '--quiet'], cwd=tmp_path, check=True
    )
    for block in blocks:
        if block is module:
            continue
        if 'xagents' not in block and 'tensorflow' not in block:  # a deployed policy: TensorFlow not installed
            block = "import sys; sys.modules['tensorflow'] = None\n" + block
        result = subprocess.run([sys.executable, '-c', block], cwd=tmp_path, capture_output=True, text=True)
        assert result.returncode == 0, f'{block}\n{result.stderr[-2000:]}'
        assert 'I0000' not in result.stderr  # no TensorFlow start-up lines


def test_an_importable_function_is_saved_by_name_and_plays_and_resumes_from_the_cli(tmp_path, capsys):
    agent = xagents.PPO.from_env(make_corridor, env_kwargs={'length': 7}, output_dir=tmp_path / 'run', quiet=True)
    agent.fit(max_steps=600)
    config = json.loads((tmp_path / 'run' / 'config.json').read_text())
    assert config['env'] == 'xagents.tests.tiny_envs:make_corridor' and 'env_function' not in config
    assert main(['play', 'ppo', '--run', str(tmp_path / 'run'), '--output', str(tmp_path / 'p.json')]) == 0
    assert main(['train', 'ppo', '--resume', str(tmp_path / 'run'), '--max-steps', '1200']) == 0
    assert max(history_steps(tmp_path / 'run')) > 600


@pytest.mark.parametrize('make', [lambda: Corridor(7), functools.partial(Corridor, 7)], ids=['lambda', 'partial'])
def test_lambdas_and_partials_make_envs_too(tmp_path, make):
    agent = xagents.A2C.from_env(make, output_dir=tmp_path / 'run', quiet=True)
    agent.fit(max_steps=200)
    assert xagents.load(tmp_path / 'run', env=make).predict(np.zeros(2, np.float32)) in (0, 1)


@pytest.mark.parametrize(
    'make, message',
    [
        (lambda: StartAtOne(), 'has action space Discrete(2, start=1): xagents takes Discrete actions from 0 to n-1'),
        (lambda: Corridor(), 'env kwargs are saved with the run as JSON'),
    ],
)
def test_envs_no_agent_can_use_or_save_are_clear_errors(make, message):
    kwargs = {'env_kwargs': {'scale': np.float32(2.0)}} if 'JSON' in message else {}
    with pytest.raises(ValueError, match=re.escape(message)):
        xagents.PPO.from_env(make, **kwargs)


def test_stochastic_dqn_play_explores_at_its_final_epsilon_not_at_random():
    agent = xagents.DQN.from_env('CartPole-v1', quiet=True, seed=0)
    observations = np.random.default_rng(0).normal(size=(2000, 4)).astype(np.float32)
    greedy = agent.predict(observations)
    same = (agent.predict(observations, deterministic=False) == greedy).mean()
    assert 0.97 < same < 1.0  # epsilon_end 0.02: one action in 50 is random, half of those differ


def test_a_copied_run_of_the_previous_version_resumes_in_its_own_folder(tmp_path, capsys):
    run = tmp_path / 'old'
    assert main(['train', 'ppo', '--env', CORRIDOR, *TRAIN, '--output-dir', str(run)]) == 0
    config = json.loads((run / 'config.json').read_text())  # as xagents 0.2 wrote it: absolute paths
    config['checkpoints'] = [str(run.resolve() / 'best-model')]
    config['history'] = str(run.resolve() / 'history.parquet')
    config['model_files'] = [str(tmp_path / 'gone' / 'xagents' / 'ppo' / 'models' / 'ann-actor-critic.cfg')]
    (run / 'config.json').write_text(json.dumps(config))
    shutil.rmtree(run / 'models')
    copy = tmp_path / 'copy'
    shutil.copytree(run, copy)
    before = (run / 'history.parquet').read_bytes()
    assert main(['train', 'ppo', '--resume', str(copy), '--max-steps', '3000', '--quiet']) == 0
    assert (run / 'history.parquet').read_bytes() == before  # the original is left alone
    assert max(history_steps(copy)) > 1500
    rewritten = json.loads((copy / 'config.json').read_text())
    assert (rewritten['checkpoints'], rewritten['history']) == (['best-model'], 'history.parquet')
    assert main(['play', 'ppo', '--run', str(run)]) == 0  # its model file: the installed package's
