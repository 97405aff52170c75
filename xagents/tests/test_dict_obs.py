"""Dict observations: one named input per key (images through a CNN, vectors flattened, Discrete and
MultiDiscrete keys one-hot, MultiBinary keys as bits) joined before the dense layers, through
training, play with video, resume, ``xagents.load`` and ``predict``; ``--obs-keys`` and the refusals."""

import json
import subprocess
import sys

import gymnasium as gym
import keras
import numpy as np
import pytest
import tensorflow as tf

import xagents
from xagents.commands.main import main
from xagents.export.formats import FORMATS, export
from xagents.nets.host import HostModel, one_hots
from xagents.nets.multi_input import Floats, OneHots, build_multi_input_model
from xagents.replay.segments import SegmentBuffer
from xagents.run.checkpoints import saved_state
from xagents.tests.test_export import run_exported
from xagents.tests.test_image_envs import fails
from xagents.tests.tiny_envs import DictPointer

ENV = 'xagents.tests.tiny_envs:DictPointer-v0'
FAST = dict(n_envs=4, n_steps=32, mini_batches=4, lr=1e-3)


def targets(observations: dict) -> np.ndarray:
    """The rewarded action of each DictPointer observation of a batch (from every key)."""
    side = (observations['image'][:, :, -1] > 0).any(axis=1).astype(np.int64)
    sign = (observations['signal'][:, 0] > 0).astype(np.int64)
    return 2 * side + (sign ^ observations['flip'])


def observations_of(agent, count: int) -> dict:
    """``count`` observations of the agent's env, stepped at random."""
    envs = agent.env_recipe.make(8)
    observations, _ = envs.reset(seed=5)
    collected = [observations]
    while len(collected) * 8 < count:
        collected.append(envs.step(envs.action_space.sample())[0])
    envs.close()
    return {key: np.concatenate([batch[key] for batch in collected]) for key in observations}


def test_every_kind_of_key_becomes_features_of_one_named_input():
    space = gym.spaces.Dict(
        {
            'bits': gym.spaces.MultiBinary(3),
            'choice': gym.spaces.Discrete(3, start=1),
            'image': gym.spaces.Box(0, 255, (7, 7, 3), np.uint8),
            'levels': gym.spaces.MultiDiscrete([2, 3]),
            'table': gym.spaces.Box(-1, 1, (2, 2), np.float32),
        }
    )
    ann = xagents.PPO.default_model_files(space)[0]
    assert ann.name == 'ann-actor-critic.cfg'
    model = build_multi_input_model(ann, xagents.PPO.cnn_file_for('actor-critic'), [4, 1], space, seed=0)
    inputs = {tensor.name: tensor.dtype for tensor in model.inputs}
    expected = {'bits': 'int8', 'choice': 'int64', 'image': 'uint8', 'levels': 'int64', 'table': 'float32'}
    assert inputs == expected
    # Each key's feature layer by the input it reads (Keras' layer names depend on what ran before).
    layers = {layer.input.name: layer for layer in model.layers if isinstance(layer, (Floats, OneHots))}
    bits = np.array([[1, 0, 1]], np.int8)
    np.testing.assert_array_equal(layers['bits'](bits), [[1.0, 0.0, 1.0]])
    np.testing.assert_array_equal(layers['choice'](np.array([3])), [[0.0, 0.0, 1.0]])  # Discrete(3, start=1)
    np.testing.assert_array_equal(layers['levels'](np.array([[1, 2]])), [[0, 1, 0, 0, 1]])
    # 3 bits + 3 one-hot + the small CNN's 4x4x64 of a 7x7 image + 5 one-hots + 4 table values
    (joined,) = [layer for layer in model.layers if isinstance(layer, keras.layers.Concatenate)]
    assert joined.output.shape[-1] == 3 + 3 + 4 * 4 * 64 + 5 + 4
    observation = {key: np.asarray(subspace.sample())[None] for key, subspace in space.spaces.items()}
    assert [output.shape for output in model(observation)] == [(1, 4), (1, 1)]


def test_host_models_of_dict_observations_give_the_keras_outputs():
    space = gym.spaces.Dict(
        {
            'bits': gym.spaces.MultiBinary(3),
            'choice': gym.spaces.Discrete(3, start=1),
            'levels': gym.spaces.MultiDiscrete([2, 3]),
            'table': gym.spaces.Box(-1, 1, (2, 2), np.float32),
            'vector': gym.spaces.Box(-5, 5, (3,), np.float32),
        }
    )
    for agent_class, units in ((xagents.PPO, [4, 1]), (xagents.DQN, [4])):
        ann = agent_class.default_model_files(space)[0]
        model = build_multi_input_model(ann, None, units, space, seed=0)
        host = HostModel.of(model)
        assert host is not None and host.first_input == 'bits'
        space.seed(0)
        samples = [space.sample() for _ in range(64)]
        observations = {key: np.stack([sample[key] for sample in samples]) for key in space.spaces}
        outputs = model(observations)
        for mine, theirs in zip(host(observations), outputs if isinstance(outputs, list) else [outputs]):
            assert mine.shape == tuple(theirs.shape) and mine.dtype == np.float32
            np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-5, atol=1e-6)
    # The one-hots exactly, out-of-range values (all zeros in tf.one_hot) included.
    values = np.array([[0, 0], [1, 2], [2, 3], [-1, 1]])
    expected = OneHots([2, 3], [0, 1])(values).numpy()
    np.testing.assert_array_equal(one_hots(values, [2, 3], [0, 1]), expected)
    assert expected.sum() == 5  # 0 (start 1), 3 (of 3 from 1) and -1 are out of range


@pytest.mark.parametrize(
    'agent_class',
    [xagents.PPO, pytest.param(xagents.A2C, marks=pytest.mark.integration), xagents.TRPO, xagents.ACER, xagents.DQN],
)
def test_agents_act_on_the_host_for_dict_observations_as_in_tensorflow(agent_class):
    # A2C acts as PPO does (one model of policy and values); TRPO with an actor and a critic; ACER's
    # model gives logits and Q-values.
    agent = agent_class.from_env(ENV, env_kwargs={'image': False}, n_envs=2, seed=0, quiet=True)
    assert all(agent.host(role) is not None for role in agent.model_roles)
    observations = observations_of(agent, 64)
    host = agent.predict(observations)
    agent.config.host_inference = False
    agent.hosts.clear()
    assert all(agent.host(role) is None for role in agent.model_roles)
    np.testing.assert_array_equal(host, agent.predict(observations))
    if agent_class is not xagents.DQN:
        tensorflow = agent.values(observations)
        agent.config.host_inference = True
        agent.hosts.clear()
        np.testing.assert_allclose(agent.values(observations), tensorflow, rtol=1e-5, atol=1e-6)


def test_ppo_learns_from_every_key_and_predicts_one_observation_or_a_batch():
    agent = xagents.PPO.from_env(ENV, seed=1, quiet=True, **FAST)
    assert agent.host('model') is None  # TensorFlow acts for an image key (convolutions)
    agent.fit(max_steps=6000)
    observations = observations_of(agent, 400)
    actions = agent.predict(observations)
    assert actions.shape == (400,) and actions.dtype == np.int64
    accuracy = (actions == targets(observations)).mean()
    assert accuracy > 0.75, accuracy  # random: 0.25; the image alone or the vector alone: 0.5
    one = {key: value[3] for key, value in observations.items()}
    assert agent.predict(one) == actions[3]
    with pytest.raises(ValueError, match='predict takes the keys flip image signal, got flip image'):
        agent.predict({key: one[key] for key in ('flip', 'image')})
    with pytest.raises(ValueError, match="key 'signal' has shape"):
        agent.predict({**one, 'signal': observations['signal'][:2]})


def test_dqn_learns_from_every_key_with_one_buffer_array_per_key_in_its_dtype():
    agent = xagents.DQN.from_env(ENV, n_envs=4, seed=1, quiet=True, buffer_initial_size=500)
    agent.fit(max_steps=4000)
    observations = observations_of(agent, 400)
    accuracy = (agent.predict(observations) == targets(observations)).mean()
    assert accuracy > 0.9, accuracy
    batch = agent.buffer.sample(64)
    for name in ('observations', 'next_observations'):
        kinds = {key: (array.dtype, array.shape) for key, array in batch[name].items()}
        assert kinds == {
            'flip': (np.int64, (64,)),
            'image': (np.uint8, (64, 6, 6)),
            'signal': (np.float32, (64, 2)),
        }
    # each stored observation is one the env gave: one lit column of 255s, the other dark
    lit = (batch['observations']['image'] == 255).all(axis=1)
    assert (lit.sum(axis=1) == 1).all() and lit[:, [0, -1]].any(axis=1).all()


def test_dqn_saves_its_buffer_by_key_and_resumes_from_the_command_line(tmp_path):
    run = tmp_path / 'run'
    train = ['train', 'dqn', '--env', ENV, '--buffer-initial-size', '100', '--save-buffer', '--seed', '1']
    assert main([*train, '--max-steps', '300', '--quiet', '--output-dir', str(run)]) == 0
    with np.load(run / 'replay-buffer.npz') as stored:
        assert stored['frames.image'].dtype == np.uint8 and stored['frames.flip'].dtype == np.int64
        assert 'frames' not in stored
    assert main(['train', 'dqn', '--resume', str(run), '--max-steps', '600', '--quiet']) == 0
    assert saved_state(run / 'latest')['steps'] >= 600
    with np.load(run / 'replay-buffer.npz') as stored:
        assert int(stored['count']) >= 600


def test_acer_keeps_one_segment_array_per_key_in_its_dtype_and_resumes_them_exactly(tmp_path):
    run = tmp_path / 'run'
    options = dict(n_envs=4, n_steps=8, buffer_initial_size=64, replay_ratio=2, save_buffer=True, quiet=True)
    # the trust region's average model takes the segment's observations too, key by key
    agent = xagents.ACER.from_env(ENV, seed=1, output_dir=str(run), trust_region=True, **options)
    assert agent.host('model') is None  # TensorFlow acts for an image key (convolutions)
    agent.fit(max_steps=128)
    assert np.isfinite(list(agent.losses.values())).all()
    assert agent._train.experimental_get_tracing_count() == 1  # fresh and replayed segments: one trace
    with np.load(run / 'replay-buffer.npz') as stored:  # one array per key, by name
        assert stored['observations.image'].dtype == np.uint8 and len(stored['actions']) == agent.buffer.count == 4
    resumed = xagents.ACER.from_env(ENV, **options)
    resumed.resume(str(run))
    assert resumed.buffer.count == agent.buffer.count
    batch, again = agent.buffer.sample(), resumed.buffer.sample()  # the sampling generator restored too
    tf.nest.assert_same_structure(batch, again)
    for array, same in zip(tf.nest.flatten(batch), tf.nest.flatten(again)):
        assert array.dtype == same.dtype
        np.testing.assert_array_equal(array, same)
    kinds = {key: (array.dtype, array.shape) for key, array in batch['observations'].items()}
    assert kinds == {'flip': (np.int64, (9, 4)), 'image': (np.uint8, (9, 4, 6, 6)), 'signal': (np.float32, (9, 4, 2))}
    # n_steps + 1 observations the env gave: one lit column of 255s, the other dark
    lit = (batch['observations']['image'] == 255).all(axis=2)
    assert (lit.sum(axis=-1) == 1).all() and lit[..., [0, -1]].any(axis=-1).all()
    with pytest.raises(ValueError, match='made for 1562 segments of 8 steps of 4 envs, this agent needs 781 of 8 '):
        SegmentBuffer(agent.config.buffer_max_size, 8, 8).load(run / 'replay-buffer.npz')


@pytest.mark.integration  # ~8 s
def test_acer_learns_from_the_image_key_on_a_small_budget():
    options = dict(n_envs=4, n_steps=8, buffer_initial_size=64, replay_ratio=2, lr=1e-3)
    agent = xagents.ACER.from_env(ENV, seed=1, quiet=True, **options)
    agent.fit(max_steps=3000)
    assert agent.mean_reward > 3.5, agent.mean_reward  # random: 2 of 8
    observations = observations_of(agent, 400)
    actions, right = agent.predict(observations), targets(observations)
    assert (actions // 2 == right // 2).mean() > 0.9  # the image's half of the action (random: 0.5)
    assert (actions == right).mean() > 0.4  # random: 0.25; the signal and flip take ACER longer


@pytest.mark.integration  # ~11 s: the command line end to end
def test_acer_trains_plays_resumes_with_its_buffer_loads_and_exports_from_the_command_line(tmp_path, capsys):
    run = tmp_path / 'run'
    train = ['train', 'acer', '--env', ENV, '--n-envs', '2', '--n-steps', '8', '--buffer-initial-size', '32']
    train += ['--save-buffer', '--normalize-obs', '--seed', '1']
    assert main([*train, '--max-steps', '256', '--output-dir', str(run)]) == 0  # not quiet: --resume says more
    with np.load(run / 'replay-buffer.npz') as stored:
        saved = {name: stored[name] for name in stored.files}
    assert saved['observations.image'].dtype == np.uint8 and saved['observations.flip'].dtype == np.int64
    assert saved['observations.signal'].shape[1:] == (9, 2, 2) and 'observations' not in saved
    assert main(['play', 'acer', '--run', str(run), '--episodes', '1', '--video-dir', str(tmp_path / 'v')]) == 0
    assert len(list((tmp_path / 'v').glob('*.mp4'))) == 1
    capsys.readouterr()
    assert main(['train', 'acer', '--resume', str(run), '--max-steps', '512']) == 0
    segments = int(saved['count'])
    assert f'Replay buffer restored: {segments * 16:,} transitions\n' in capsys.readouterr().out
    with np.load(run / 'replay-buffer.npz') as stored:  # the restored segments kept as they were, new ones after
        assert int(stored['count']) >= 512 // 16
        for name, array in saved.items():
            if name.startswith('observations.') or name in ('actions', 'rewards', 'dones', 'behaviour_probs'):
                np.testing.assert_array_equal(stored[name][:segments], array, err_msg=name)
    loaded = xagents.load(run, 'latest')
    assert loaded.obs_normalizer.normalizers['signal'].stats.count > 512
    observations = observations_of(loaded, 64)
    expected = loaded.predict(observations)
    one = {key: value[3] for key, value in observations.items()}
    assert expected.shape == (64,) and loaded.predict(one) == expected[3]
    assert main(['export', '--run', str(run), '--format', 'onnx', '--output', str(tmp_path / 'p.onnx')]) == 0
    assert 'inputs "flip": int64 (n,), "image": uint8 (n, 6, 6), "signal": float32 (n, 2)' in capsys.readouterr().out
    best = xagents.load(run)
    np.testing.assert_array_equal(run_exported(tmp_path / 'p.onnx', 'onnx', observations), best.predict(observations))


# TD3 (~6 s) with the integration tests: DDPG and SAC cover the same critic input by default.
@pytest.mark.parametrize('name', ['ddpg', pytest.param('td3', marks=pytest.mark.integration), 'sac'])
def test_continuous_off_policy_agents_learn_from_vector_integer_and_bit_keys(name):
    """The critic reads every key and the action (an input of its own), the actor every key."""
    env_kwargs = dict(image=False, continuous=True)  # a MultiBinary side for the image
    agent = xagents.agents[name].from_env(
        ENV, env_kwargs=env_kwargs, n_envs=4, seed=1, quiet=True, buffer_initial_size=500
    )
    assert sorted(tensor.name for tensor in agent.critic.inputs) == ['action', 'flip', 'side', 'signal']
    agent.fit(max_steps=3000 if name == 'td3' else 600)
    observations = observations_of(agent, 400)
    side, sign = observations['side'][:, 0].astype(np.int64), (observations['signal'][:, 0] > 0).astype(np.int64)
    accuracy = (agent.predict(observations).argmax(-1) == 2 * side + (sign ^ observations['flip'])).mean()
    if name == 'td3':  # the others only run: their learning is TD3's math, tested on Pendulum
        assert accuracy > 0.6, accuracy  # random: 0.25


@pytest.mark.parametrize('name', ['a2c', 'trpo'])
def test_a2c_and_trpo_train_on_dict_observations(name):
    agent = xagents.agents[name].from_env(ENV, n_envs=2, n_steps=16, seed=0, quiet=True)
    agent.fit(max_steps=256)
    assert agent.steps >= 256 and np.isfinite(list(agent.losses.values())).all()


@pytest.mark.integration  # ~5 s: the command line end to end
def test_the_command_line_trains_plays_with_video_resumes_and_loads(tmp_path, capsys):
    run = tmp_path / 'run'
    train = ['train', 'ppo', '--env', ENV, '--n-envs', '2', '--n-steps', '32', '--mini-batches', '2']
    assert main([*train, '--max-steps', '256', '--normalize-obs', '--quiet', '--output-dir', str(run)]) == 0
    config = json.loads((run / 'config.json').read_text())
    assert config['model_files'] == ['models/model.cfg']
    assert main(['play', 'ppo', '--run', str(run), '--episodes', '1', '--video-dir', str(tmp_path / 'v')]) == 0
    assert len(list((tmp_path / 'v').glob('*.mp4'))) == 1
    assert main(['train', 'ppo', '--resume', str(run), '--max-steps', '512', '--quiet']) == 0
    assert saved_state(run / 'latest')['steps'] >= 512
    loaded = xagents.load(run, 'latest')
    statistics = loaded.obs_normalizer.normalizers['signal'].stats  # the vector key's, saved with the run
    assert statistics.count > 512 and abs(statistics.mean[0]) < 0.2 and 0.8 < statistics.var[0] < 1.2
    observations = observations_of(loaded, 16)
    assert loaded.predict(observations).shape == (16,)


def test_obs_keys_chooses_keys_saved_with_the_run(tmp_path):
    run = tmp_path / 'run'
    agent = xagents.PPO.from_env(
        ENV, env_kwargs={'extra': 'text'}, obs_keys=['image', 'signal'], output_dir=str(run), quiet=True, **FAST
    )
    assert list(agent.observation_space.spaces) == ['image', 'signal']
    agent.fit(max_steps=128)
    assert json.loads((run / 'config.json').read_text())['obs_keys'] == ['image', 'signal']
    loaded = xagents.load(run, 'latest')
    envs = loaded.env_recipe.make(1)
    full = envs.envs[0].unwrapped.reset(seed=0)[0]  # the env's own observation, text included
    envs.close()
    assert loaded.predict(full) in range(4)  # the keys --obs-keys left out are left out here too


@pytest.mark.parametrize(
    'args, message',
    [
        (['--env-kwargs', 'extra:text'], "observation key 'mission' is a Text, which the networks cannot take"),
        (['--env-kwargs', 'extra:text'], '--obs-keys flip image signal (obs_keys= in Python), or wrap the env'),
        (['--obs-keys', 'image', 'colour'], '--obs-keys colour: not a key of the observations'),
        (
            ['--env-kwargs', 'extra:text', '--obs-keys', 'mission'],
            'cannot take (they take Box, Discrete, '
            'MultiDiscrete and MultiBinary keys); choose the keys with --obs-keys flip image signal (obs_keys= in',
        ),
        (['--obs-keys', 'image', 'flip', 'image'], '--obs-keys image: given more than once, give each key once'),
        (['--normalize-obs', '--obs-keys', 'image', 'flip'], '--normalize-obs is for vector keys: the keys flip image'),
    ],
)
def test_keys_the_networks_cannot_take_are_refused_naming_the_key(tmp_path, capsys, args, message):
    run = tmp_path / 'run'
    error = fails(capsys, 'train', 'ppo', '--env', ENV, *args, '--max-steps', '64', '--output-dir', str(run))
    assert message in error
    assert not run.exists()


def test_obs_keys_on_a_box_env_and_image_keys_for_an_agent_without_cnns_are_refused(capsys):
    error = fails(capsys, 'train', 'ppo', '--env', 'CartPole-v1', '--obs-keys', 'x', '--max-steps', '64')
    assert '--obs-keys chooses keys of a Dict observation, CartPole-v1 has no Dict observation' in error


def test_a_key_named_as_the_critics_action_input_is_refused():
    def env():
        inner = DictPointer(continuous=True)
        space = gym.spaces.Dict({**inner.observation_space.spaces, 'action': inner.action_space})
        return gym.wrappers.TransformObservation(
            inner, lambda observation: {**observation, 'action': np.zeros(4, np.float32)}, space
        )

    with pytest.raises(ValueError, match='^TD3 takes Dict observations without a key named action .*--obs-keys'):
        xagents.TD3.from_env(env, quiet=True)


def test_continuous_off_policy_critics_read_image_keys_with_cnns_of_their_own(tmp_path):
    """SAC on every key of DictPointer: the image key through the convolutions of its CNN file in the
    actor and in each critic, joined to the other keys (and the action) before the dense layers."""
    agent = xagents.SAC.from_env(
        ENV, env_kwargs={'continuous': True}, seed=0, quiet=True, buffer_initial_size=16, buffer_batch_size=4
    )
    assert sorted(tensor.name for tensor in agent.critic.inputs) == ['action', 'flip', 'image', 'signal']
    for model in (agent.actor, *agent.critics):
        assert any(isinstance(layer, keras.layers.Conv2D) for layer in model.layers)
    agent.fit(max_steps=24)
    assert np.isfinite(list(agent.losses.values())).all()
    observations = observations_of(agent, 32)
    expected = agent.predict(observations)
    actions = run_exported(export(agent, tmp_path / 'policy.onnx', 'onnx'), 'onnx', observations)
    assert expected.shape == (32, 4) and np.abs(actions - expected).max() <= 1e-5


@pytest.mark.integration
def test_minigrid_trains_from_the_command_line_with_chosen_keys(tmp_path):
    command = [sys.executable, '-m', 'xagents', 'train', 'ppo', '--env', 'minigrid:MiniGrid-DoorKey-5x5-v0']
    command += ['--obs-keys', 'image', 'direction', '--max-steps', '512', '--n-steps', '128', '--n-envs', '4']
    result = subprocess.run(
        [*command, '--output-dir', str(tmp_path / 'run')], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert 'Maximum steps exceeded' in result.stdout


@pytest.mark.parametrize(
    'agent_class, options',
    [
        (xagents.PPO, FAST),
        pytest.param(xagents.ACER, dict(n_envs=4, n_steps=8), marks=pytest.mark.integration),  # ~5 s
    ],
)
def test_every_export_format_takes_one_named_input_per_key_and_acts_as_predict(tmp_path, capsys, agent_class, options):
    run = tmp_path / 'run'
    agent = agent_class.from_env(ENV, seed=0, output_dir=str(run), normalize_obs=True, quiet=True, **options)
    agent.fit(max_steps=256)
    observations = observations_of(agent, 64)
    statistics = agent.obs_normalizer.normalizers['signal'].stats
    assert list(agent.obs_normalizer.normalizers) == ['signal'] and statistics.count > 256
    statistics.update(observations['signal'] * 3.0 + 0.5)  # a mean and a spread of their own
    expected = agent.predict(observations)
    for format in FORMATS:
        actions = run_exported(export(agent, tmp_path / f'policy.{format}', format), format, observations)
        np.testing.assert_array_equal(actions, expected, err_msg=format)
    capsys.readouterr()
    assert main(['export', '--run', str(run), '--format', 'onnx', '--output', str(tmp_path / 'p.onnx')]) == 0
    out = capsys.readouterr().out
    assert 'inputs "flip": int64 (n,), "image": uint8 (n, 6, 6), "signal": float32 (n, 2); output "action"' in out


def test_obs_keys_takes_one_key_as_a_string():
    agent = xagents.PPO.from_env(ENV, obs_keys='image', quiet=True)
    assert agent.env_recipe.obs_keys == ['image'] and list(agent.observation_space.spaces) == ['image']


def test_a_dict_with_no_key_the_networks_take_says_so():
    from xagents.envs.checks import EnvAPIError, check_dict_space

    with pytest.raises(EnvAPIError, match="^E: observation key 'text' is a Text.*; no other key is one the networks"):
        check_dict_space(gym.spaces.Dict({'text': gym.spaces.Text(5)}), 'E')
    vector = gym.spaces.Box(0, 1, (3,))
    with pytest.raises(EnvAPIError, match="^E: observation key 'a/b' holds '/', which Keras refuses in the networks' "):
        check_dict_space(gym.spaces.Dict({'a/b': vector, 'c': vector}), 'E')
    with pytest.raises(EnvAPIError, match='rename it in a wrapper; choose the keys with --obs-keys c \\(obs_keys= in'):
        check_dict_space(gym.spaces.Dict({'a/b': vector, 'c': vector}), 'E')


def test_predict_names_a_key_that_is_neither_one_observation_nor_a_batch():
    agent = xagents.PPO.from_env(ENV, quiet=True)
    one = {key: np.zeros(subspace.shape, subspace.dtype) for key, subspace in agent.observation_space.items()}
    image = agent.observation_space['image'].shape  # (6, 6)
    wrong = {**one, 'image': np.zeros((5, *image[1:]), np.uint8)}
    with pytest.raises(ValueError, match=r"^predict: key 'image' has shape \(5, 6\): neither one observation "):
        agent.predict(wrong)
    batch = {key: np.stack([value] * 2) for key, value in one.items()}
    with pytest.raises(ValueError, match=r"^predict: key 'signal' has shape \(2,\), and key 'flip' makes this a batch"):
        agent.predict({**batch, 'signal': np.zeros(2, np.float32)})
    assert agent.predict(batch).shape == (2,)


def test_refusals_name_what_xagents_takes_and_only_the_agents_that_take_it():
    from xagents.core.building import dict_agents
    from xagents.envs.checks import EnvAPIError, check_spaces

    tuple_space = gym.spaces.Tuple([gym.spaces.Discrete(2)])
    with pytest.raises(
        EnvAPIError, match=r'2-D tables, images \(height, width\[, channels\]\) or 3-D arrays, or a Dict'
    ):
        check_spaces(tuple_space, gym.spaces.Discrete(2), 'E')
    vector, image = gym.spaces.Box(0, 1, (3,)), gym.spaces.Box(0, 255, (8, 8, 3), np.uint8)
    box = gym.spaces.Box(-1, 1, (2,))
    assert dict_agents(gym.spaces.Dict({'v': vector}), box) == 'PPO, A2C, TRPO, DDPG, TD3 or SAC'
    assert dict_agents(gym.spaces.Dict({'v': vector, 'i': image}), box) == 'PPO, A2C, TRPO, DDPG, TD3 or SAC'
    assert dict_agents(gym.spaces.Dict({'v': vector}), gym.spaces.Discrete(3)) == 'PPO, A2C, TRPO, ACER or DQN'
