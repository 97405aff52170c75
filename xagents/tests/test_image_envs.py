"""Image observations outside Atari: a CNN for any uint8 image (small ones and height x width ones
too), through training, play with video, resume, ``xagents.load``, ``predict`` and export; envs that
declare no ``render_modes`` recorded when they render frames, refused in one line when they do not."""

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import xagents
from xagents.commands.main import main
from xagents.export.formats import FORMATS, export
from xagents.nets.reader import ModelReader
from xagents.run.checkpoints import saved_state
from xagents.tests.test_export import near_ties, run_exported

ENVS = 'xagents.tests.tiny_envs:'
POINTER, GRAY = ENVS + 'Pointer-v0', ENVS + 'GrayPointer-v0'  # 7x7x3 and 8x8 uint8
CNN_AGENTS = ('a2c', 'acer', 'ddpg', 'dqn', 'ppo', 'sac', 'td3', 'trpo')
# Small budgets that learn the pointer tasks (random play scores 1.25 of 5).
FAST = {
    'ppo': dict(n_envs=4, n_steps=64, mini_batches=4, ppo_epochs=4),
    'dqn': dict(buffer_initial_size=500, buffer_batch_size=32, save_buffer=True),
}
STEPS = {'ppo': 4000, 'dqn': 2500}


@pytest.mark.parametrize(
    'shape, dtype, kind',
    [
        ((84, 84, 4), np.uint8, 'cnn'),
        ((36, 36, 3), np.uint8, 'cnn'),  # the smallest NatureCNN takes: 8x8/4, 4x4/2, 3x3/1 leave 1x1
        ((64, 64), np.uint8, 'cnn'),
        ((35, 35, 3), np.uint8, 'cnn-small'),
        ((7, 7, 3), np.uint8, 'cnn-small'),
        ((8, 8), np.uint8, 'cnn-small'),
        ((7, 7, 3), np.float32, 'cnn-small'),  # a 3-D float Box: a CNN, its values as given
        ((5, 4), np.float32, 'ann'),  # a 2-D float Box is a table: flattened into dense layers
        ((4,), np.float32, 'ann'),
    ],
)
def test_the_default_network_follows_the_observation_shape(shape, dtype, kind):
    space = gym.spaces.Box(0, 255, shape, dtype)
    for name in CNN_AGENTS:
        agent_class = xagents.agents[name]
        files = agent_class.default_model_files(space)
        assert [Path(file).name for file in files] == [f'{kind}-{config}.cfg' for config in agent_class.model_configs]
        assert all(Path(file).is_file() for file in files)


@pytest.mark.parametrize('shape', [(1, 1, 3), (7, 7, 3), (35, 35, 1), (8, 8)])
def test_the_small_cnn_takes_any_small_image(shape):
    path = Path(xagents.PPO.default_model_files(gym.spaces.Box(0, 255, shape, np.uint8))[0])
    model = ModelReader(path, [4, 1], shape, input_dtype='uint8', seed=0).build_model()
    images = np.random.default_rng(0).integers(0, 256, (2, *shape), dtype=np.uint8)
    logits, value = model(images)
    assert model.inputs[0].dtype == 'uint8' and logits.shape == (2, 4) and value.shape == (2, 1)


def test_a_2d_float_table_is_flattened_into_dense_layers():
    path = xagents.PPO.default_model_files(gym.spaces.Box(-1, 1, (5, 4), np.float32))[0]
    model = ModelReader(path, [2, 1], (5, 4), seed=0).build_model()
    assert [output.shape[1:] for output in model.outputs] == [(2,), (1,)]


def test_a_2d_float_env_learns_with_dense_layers_acting_on_the_host(tmp_path):
    agent = xagents.PPO.from_env(GRAY, env_kwargs={'scaled': True}, seed=1, quiet=True, **FAST['ppo'])
    assert [Path(file).name for file in agent.model_files] == ['ann-actor-critic.cfg']
    assert agent.host('model') is not None
    agent.fit(max_steps=3000)
    assert agent.mean_reward > 3.0, agent.mean_reward  # random play: 1.25
    observations = image_observations(agent, 200)
    assert observations.dtype == np.float32
    expected = agent.predict(observations)
    actions = run_exported(export(agent, tmp_path / 'policy.onnx', 'onnx'), 'onnx', observations)
    np.testing.assert_array_equal(actions, expected)


def test_an_off_policy_buffer_keeps_colour_images_whole():
    """The channels of an RGB image are not a frame stack: each sampled observation is one the env gave
    (a single lit corner, all three channels at 255), stored as uint8."""
    agent = xagents.DQN.from_env(POINTER, n_envs=2, seed=0, buffer_initial_size=200, quiet=True)
    agent.reset_envs()
    agent.warm_up(lambda *_: None)
    batch = agent.buffer.sample(256)
    for name in ('observations', 'next_observations'):
        images = batch[name]
        assert images.dtype == np.uint8 and images.shape == (256, 7, 7, 3)
        lit = images.max(axis=-1) > 0
        assert (lit.sum(axis=(1, 2)) == 1).all() and (images.min(axis=-1)[lit] == 255).all()


@pytest.mark.parametrize(
    'name, env',
    [
        ('ppo', POINTER),
        ('dqn', GRAY),
        # the other pairs, in CI's integration run (-m integration)
        pytest.param('ppo', GRAY, marks=pytest.mark.integration),
        pytest.param('dqn', POINTER, marks=pytest.mark.integration),
    ],
)
def test_an_image_env_learns_plays_resumes_loads_and_exports(tmp_path, name, env):
    run = tmp_path / 'run'
    agent = xagents.agents[name].from_env(env, seed=1, output_dir=str(run), quiet=True, **FAST[name])
    agent.fit(max_steps=STEPS[name])
    assert agent.mean_reward > 4.0, agent.mean_reward
    results = agent.play(video_dir=str(tmp_path / 'videos'), episodes=1)
    assert results[0]['reward'] > 3 and len(list((tmp_path / 'videos').glob('*.mp4'))) == 1

    loaded = xagents.load(run, 'latest')
    observations = image_observations(loaded, 500)
    expected = loaded.predict(observations)
    np.testing.assert_array_equal(expected, agent.predict(observations))
    assert loaded.predict(observations[0]) == expected[0]
    ties = near_ties(loaded, observations)
    assert ties.mean() < 0.01
    for format in FORMATS:
        actions = run_exported(export(loaded, tmp_path / f'policy.{format}', format), format, observations)
        np.testing.assert_array_equal(actions[~ties], expected[~ties], err_msg=format)

    steps = agent.steps
    assert main(['train', name, '--resume', str(run), '--max-steps', str(steps + 500), '--quiet']) == 0
    assert saved_state(run / 'latest')['steps'] >= steps + 500
    if name == 'dqn':
        with np.load(run / 'replay-buffer.npz') as stored:
            assert stored['frames'].dtype == np.uint8


def image_observations(agent, count: int) -> np.ndarray:
    """The env's own observations, then random images of its space (every pixel value)."""
    envs = agent.env_recipe.make(1)
    observations, _ = envs.reset(seed=0)
    collected = [observations]
    for _ in range(20):
        collected.append(envs.step(envs.action_space.sample())[0])
    envs.close()
    space = agent.observation_space
    space.seed(0)
    collected.append(np.stack([space.sample() for _ in range(count - len(collected))]))
    return np.concatenate(collected)


@pytest.mark.parametrize('env', [POINTER, GRAY])
def test_the_command_line_trains_plays_and_exports_an_image_env(tmp_path, capsys, env):
    run = tmp_path / 'run'
    args = ['train', 'dqn', '--env', env, '--max-steps', '400', '--buffer-initial-size', '100', '--seed', '1']
    assert main([*args, '--quiet', '--output-dir', str(run)]) == 0
    assert json.loads((run / 'config.json').read_text())['model_files'] == ['models/model.cfg']
    assert '[convolutional-0]' in (run / 'models' / 'model.cfg').read_text()
    assert main(['play', 'dqn', '--run', str(run), '--episodes', '1', '--video-dir', str(tmp_path / 'v')]) == 0
    assert len(list((tmp_path / 'v').glob('*.mp4'))) == 1
    capsys.readouterr()
    assert main(['export', '--run', str(run), '--format', 'onnx', '--output', str(tmp_path / 'p.onnx')]) == 0
    shape = '7, 7, 3' if env == POINTER else '8, 8'
    assert f'input "observation": uint8 (n, {shape})' in capsys.readouterr().out


def test_an_env_that_declares_no_render_modes_is_recorded_when_it_renders_frames(tmp_path):
    run = tmp_path / 'run'
    args = ['train', 'ppo', '--env', ENVS + 'UndeclaredRenderModes-v0', '--max-steps', '128', '--n-steps', '64']
    assert main([*args, '--video-interval', '10', '--quiet', '--output-dir', str(run)]) == 0
    assert list((run / 'videos').glob('*.mp4'))
    assert main(['play', 'ppo', '--run', str(run), '--episodes', '1', '--video-dir', str(tmp_path / 'v')]) == 0
    assert len(list((tmp_path / 'v').glob('*.mp4'))) == 1


def fails(capsys, *argv: str) -> str:
    """The one line of a command that must fail with exit 2."""
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert len(error.strip().splitlines()) == 1 and error.startswith('xagents: error: '), error
    return error


@pytest.mark.parametrize(
    ('name', 'why'),
    [('NoFrames', 'it declares no render_modes and render() returned None'), ('NoRender', 'it defines no render()')],
)
def test_an_env_that_gives_no_frames_is_refused_before_anything_is_written(tmp_path, capsys, name, why):
    env = ENVS + f'{name}-v0'
    run = tmp_path / 'run'
    train = ['train', 'ppo', '--env', env, '--max-steps', '128', '--n-steps', '64', '--quiet', '--output-dir', str(run)]
    error = fails(capsys, *train, '--video-interval', '10')
    assert f"{name}-v0 cannot be recorded: {why}: declare metadata = {{'render_modes': ['rgb_array']}}" in error
    assert not run.exists()
    assert main(train) == 0
    outputs = ['--video-dir', str(tmp_path / 'v'), '--frame-dir', str(tmp_path / 'f'), '--gif', str(tmp_path / 'g.gif')]
    error = fails(capsys, 'play', 'ppo', '--run', str(run), '--episodes', '1', *outputs)
    assert f'{name}-v0 cannot be recorded: {why}: declare' in error
    assert not any((tmp_path / name).exists() for name in ('v', 'f', 'g.gif'))


def test_continuous_off_policy_critics_read_images_with_cnns_of_their_own_and_the_action(tmp_path):
    """The actor takes the plain uint8 array; each critic (the twin too, seeded apart) has convolutions of
    its own, their features joined to the action (an input of its own); one compiled update loop."""
    agent = xagents.TD3.from_env(
        POINTER, env_kwargs={'continuous': True}, seed=0, quiet=True, buffer_initial_size=16, buffer_batch_size=4
    )
    assert [Path(file).name for file in agent.model_files] == ['cnn-small-actor.cfg', 'cnn-small-critic.cfg']
    assert len(agent.actor.inputs) == 1 and agent.actor.inputs[0].dtype == 'uint8'
    twin, critic = agent.critics[1], agent.critic
    assert sorted(tensor.name for tensor in critic.inputs) == ['action', 'observation']
    kernels = [[layer.kernel.numpy() for layer in model.layers if 'conv' in layer.name] for model in (critic, twin)]
    assert len(kernels[0]) == 3 and not np.array_equal(kernels[0][0], kernels[1][0])
    assert agent.host('actor') is None  # convolutions act in TensorFlow
    agent.fit(max_steps=24)
    assert len(agent._train.concrete) == 1 and np.isfinite(list(agent.losses.values())).all()
    observations = image_observations(agent, 32)
    actions = agent.predict(observations)
    assert actions.shape == (32, 4) and np.all(np.abs(actions) <= 1)
    exported = run_exported(export(agent, tmp_path / 'policy.onnx', 'onnx'), 'onnx', observations)
    assert np.abs(exported - actions).max() <= 1e-5
    assert agent.buffer.frames.dtype == np.uint8


def test_a_2d_float_table_reaches_continuous_off_policy_critics_flattened():
    agent = xagents.SAC.from_env(GRAY, env_kwargs={'continuous': True, 'scaled': True}, seed=0, quiet=True)
    assert [Path(file).name for file in agent.model_files] == ['ann-actor.cfg', 'ann-critic.cfg']
    assert sorted(tensor.name for tensor in agent.critic.inputs) == ['action', 'observation']
    assert agent.host('actor') is not None
    assert agent.predict(np.zeros((3, 8, 8), np.float32)).shape == (3, 4)


@pytest.mark.integration  # ~30 s
def test_td3_learns_the_continuous_pointer_from_its_images():
    agent = xagents.TD3.from_env(
        POINTER, env_kwargs={'continuous': True}, seed=1, quiet=True, buffer_initial_size=300, buffer_batch_size=64
    )
    agent.fit(max_steps=900)
    assert agent.mean_reward > 3.5, agent.mean_reward  # random play: 1.25 of 5


@pytest.mark.integration  # ~20 s each: the command line end to end
@pytest.mark.parametrize('name, env', [('td3', POINTER), ('sac', GRAY), ('ddpg', POINTER)])
def test_continuous_off_policy_agents_train_play_resume_load_and_export_images(tmp_path, capsys, name, env):
    run = tmp_path / 'run'
    train = ['train', name, '--env', env, '--env-kwargs', 'continuous:True', '--buffer-initial-size', '300']
    train += ['--buffer-batch-size', '32', '--save-buffer', '--seed', '1', '--quiet']
    assert main([*train, '--max-steps', '400', '--output-dir', str(run)]) == 0
    assert '[convolutional-0]' in (run / 'models' / 'critic.cfg').read_text()
    assert main(['play', name, '--run', str(run), '--episodes', '1', '--video-dir', str(tmp_path / 'v')]) == 0
    assert len(list((tmp_path / 'v').glob('*.mp4'))) == 1
    assert main(['train', name, '--resume', str(run), '--max-steps', '500', '--quiet']) == 0
    assert saved_state(run / 'latest')['steps'] >= 500
    with np.load(run / 'replay-buffer.npz') as stored:
        assert stored['frames'].dtype == np.uint8 and int(stored['count']) >= 500
    loaded = xagents.load(run, 'latest')
    observations = image_observations(loaded, 200)
    expected = loaded.predict(observations)
    assert expected.shape == (200, 4) and loaded.predict(observations[0]).shape == (4,)
    for format in FORMATS:
        actions = run_exported(export(loaded, tmp_path / f'policy.{format}', format), format, observations)
        assert np.abs(actions - expected).max() <= 1e-5, format
    capsys.readouterr()
    assert main(['export', '--run', str(run), '--format', 'onnx', '--output', str(tmp_path / 'p.onnx')]) == 0
    assert 'input "observation": uint8 (n, ' in capsys.readouterr().out


def test_observation_normalization_is_refused_on_images(capsys):
    error = fails(capsys, 'train', 'ppo', '--env', GRAY, '--max-steps', '100', '--normalize-obs')
    assert '--normalize-obs is for vectors: these observations are images (8, 8) uint8' in error
    error = fails(
        capsys,
        'train',
        'td3',
        '--env',
        POINTER,
        '--env-kwargs',
        'continuous:True',
        '--max-steps',
        '100',
        '--normalize-obs',
    )
    assert '--normalize-obs is for vectors: these observations are images (7, 7, 3) uint8' in error
    assert not Path('runs').exists()
