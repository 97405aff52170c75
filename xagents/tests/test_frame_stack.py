"""Frame stacking of any observation (``--frame-stack N``): the stacks and their reset padding against
exact arrays, one stored frame per step in replay, and the whole product (train, play with video,
resume with the buffer, ``xagents.load``, ``predict``, exports) with stacked observations."""

import json

import gymnasium as gym
import numpy as np
import pytest

import xagents
import xagents.tests.stack_envs  # noqa: F401  (registers Clock-v0 and MaskedCartPole-v0)
from xagents.commands.environment import EnvOptions
from xagents.commands.main import main
from xagents.commands.tune import env_flags
from xagents.envs.autoreset import final_observations
from xagents.envs.recipe import create_envs
from xagents.export.formats import FORMATS, export
from xagents.replay.buffers import ReplayBuffer
from xagents.run.checkpoints import saved_state
from xagents.tests.test_export import env_observations, run_exported
from xagents.tests.test_image_envs import fails

CLOCK = 'xagents.tests.stack_envs:Clock-v0'
MASKED = 'xagents.tests.stack_envs:MaskedCartPole-v0'
DICT_POINTER = 'xagents.tests.tiny_envs:DictPointer-v0'


def clock(t: int) -> list[float]:
    """Clock-v0's observation at step ``t``; ``None``: the zeros that pad a stack."""
    return [0.0, 0.0] if t is None else [t, 100.0 + t]


def stack(*steps) -> list[float]:
    return [value for t in steps for value in clock(t)]


def test_each_env_stacks_its_last_observations_oldest_first_with_zeros_before_its_episode():
    envs = create_envs(CLOCK, 2, frame_stack=3)
    assert envs.single_observation_space.shape == (6,)
    observations, _ = envs.reset(seed=0)
    np.testing.assert_array_equal(observations, [stack(None, None, 0)] * 2)
    observations, *_ = envs.step(np.array([0, 0]))
    np.testing.assert_array_equal(observations, [stack(None, 0, 1)] * 2)
    observations, _, terminated, _, info = envs.step(np.array([1, 0]))  # env 0's episode ends at t=2
    assert terminated.tolist() == [True, False]
    np.testing.assert_array_equal(observations, [stack(None, None, 0), stack(0, 1, 2)])
    np.testing.assert_array_equal(info['final_obs'][0], stack(0, 1, 2))  # the stack that ended it
    assert info['_final_obs'].tolist() == [True, False]
    observations, *_ = envs.step(np.array([0, 0]))
    np.testing.assert_array_equal(observations, [stack(None, 0, 1), stack(1, 2, 3)])
    envs.close()


def test_images_gain_a_channel_per_frame_and_every_dict_key_stacks_on_its_last_axis():
    envs = create_envs(CLOCK, 2, env_kwargs={'image': True}, frame_stack=2)
    assert envs.single_observation_space == gym.spaces.Box(0, 255, (2, 3, 2), np.uint8)
    envs.reset(seed=0)
    observations, *_ = envs.step(np.array([0, 0]))
    np.testing.assert_array_equal(observations[..., 0], np.zeros((2, 2, 3)))
    np.testing.assert_array_equal(observations[..., 1], np.ones((2, 2, 3)))
    envs.close()
    envs = create_envs(CLOCK, 2, env_kwargs={'keys': True, 'discrete': True}, frame_stack=2)
    space = envs.single_observation_space
    assert space['vector'].shape == (4,) and space['image'].shape == (2, 3, 2)
    assert isinstance(space['parity'], gym.spaces.MultiBinary) and space['parity'].shape == (4,)
    assert space['phase'] == gym.spaces.MultiDiscrete([3, 3])  # a Discrete key: one number per frame
    envs.reset(seed=0)
    envs.step(np.array([0, 0]))
    observations, *_ = envs.step(np.array([0, 1]))  # env 1 restarts
    np.testing.assert_array_equal(observations['vector'], [stack(1, 2), stack(None, 0)])
    np.testing.assert_array_equal(observations['parity'], [[1, 0, 0, 1], [0, 0, 0, 1]])
    np.testing.assert_array_equal(observations['phase'], [[1, 2], [0, 0]])
    np.testing.assert_array_equal(observations['image'][0, 0, 0], [1, 2])
    np.testing.assert_array_equal(observations['image'][1, 0, 0], [0, 0])
    envs.close()


@pytest.mark.parametrize('keys', [False, True])
def test_replay_keeps_one_frame_per_step_and_rebuilds_every_observation_exactly(keys):
    """Across episode ends of different lengths in each env, obs and next_obs of every stored transition."""
    envs = create_envs(CLOCK, 2, env_kwargs={'keys': keys, 'discrete': keys}, frame_stack=3)
    space = envs.single_observation_space
    shapes = {key: sub.shape for key, sub in space.spaces.items()} if keys else space.shape
    dtypes = {key: sub.dtype for key, sub in space.spaces.items()} if keys else space.dtype
    buffer = ReplayBuffer(200, 2, shapes, dtypes, frame_stack=3)
    frames = buffer.frames.arrays if keys else {None: buffer.frames}
    assert {key: array.shape[2:] for key, array in frames.items()} == (
        {'vector': (2,), 'image': (2, 3), 'parity': (2,), 'phase': ()} if keys else {None: (2,)}
    )  # one observation per frame, not three
    observations, _ = envs.reset(seed=0)
    buffer.start_episodes(observations)
    expected = []
    for step in range(30):
        actions = np.array([step % 4 == 3, step % 7 == 6], np.int64)  # episodes of 4 and 7 steps
        next_observations, rewards, terminated, truncated, info = envs.step(actions)
        finals = final_observations(info, next_observations, terminated | truncated)
        buffer.add(actions, rewards, finals, terminated, terminated | truncated)
        buffer.start_episodes(next_observations, terminated | truncated)
        expected.append((observations, finals))
        observations = next_observations
    envs.close()
    starts = 1 + np.array([30 // 4, 30 // 7])  # episodes begun by each env
    assert buffer.frame_count.tolist() == (30 + 3 * starts).tolist()  # one frame per step, 3 per episode start
    slots, env_index = np.repeat(np.arange(30), 2), np.tile([0, 1], 30)
    batch = buffer.batch(slots, env_index)
    for name, position in (('observations', 0), ('next_observations', 1)):
        for index, (slot, env) in enumerate(zip(slots, env_index)):
            stored, given = batch[name], expected[slot][position]
            for key in space.spaces if keys else [None]:
                np.testing.assert_array_equal(
                    stored[key][index] if keys else stored[index], given[key][env] if keys else given[env]
                )


def test_atari_preprocessing_takes_the_stack_it_is_given():
    envs = create_envs('PongNoFrameskip-v4', 2, preprocess=True, frame_stack=2)
    assert envs.single_observation_space.shape == (84, 84, 2)
    envs.close()
    assert envs.recipe.stacked_frames == 2  # what the replay buffer is made for


def test_tune_trials_make_their_envs_with_the_stack():
    assert env_flags(EnvOptions(env=CLOCK, frame_stack=3)) == ['--frame-stack', '3']


@pytest.mark.parametrize(
    'args, message',
    [
        (['--frame-stack', '0'], '--frame-stack'),
        (['--frame-stack', '-2'], '--frame-stack'),
    ],
)
def test_impossible_stacks_are_refused_in_one_line_before_a_run_folder(tmp_path, capsys, args, message):
    run = tmp_path / 'run'
    error = fails(capsys, 'train', 'ppo', '--env', CLOCK, *args, '--max-steps', '64', '--output-dir', str(run))
    assert message in error
    assert not run.exists()
    with pytest.raises(ValueError, match='--frame-stack must be at least 1, got 0'):
        xagents.PPO.from_env(CLOCK, frame_stack=0)


@pytest.mark.integration
def test_ppo_trains_plays_resumes_loads_and_exports_stacked_observations_from_the_command_line(tmp_path, capsys):
    run = tmp_path / 'run'
    train = ['train', 'ppo', '--env', MASKED, '--frame-stack', '3', '--n-envs', '2', '--n-steps', '32']
    assert main([*train, '--normalize-obs', '--max-steps', '256', '--quiet', '--output-dir', str(run)]) == 0
    assert json.loads((run / 'config.json').read_text())['frame_stack'] == 3
    assert main(['play', 'ppo', '--run', str(run), '--episodes', '1', '--video-dir', str(tmp_path / 'v')]) == 0
    assert len(list((tmp_path / 'v').glob('*.mp4'))) == 1
    assert main(['train', 'ppo', '--resume', str(run), '--max-steps', '512', '--quiet']) == 0
    assert saved_state(run / 'latest')['steps'] >= 512
    error = fails(capsys, 'train', 'ppo', '--resume', str(run), '--frame-stack', '2', '--max-steps', '600')
    assert '--frame-stack would change it' in error
    loaded = xagents.load(run, 'latest')
    assert loaded.observation_space.shape == (6,) and loaded.obs_normalizer.stats.mean.shape == (6,)
    observations = env_observations(loaded, 64)
    assert observations.shape == (64, 6)
    expected = loaded.predict(observations)
    assert loaded.predict(observations[5]) == expected[5]  # one stacked observation
    for format in FORMATS:
        actions = run_exported(export(loaded, tmp_path / f'policy.{format}', format), format, observations)
        np.testing.assert_array_equal(actions, expected, err_msg=format)


def test_dqn_stores_frames_once_and_resumes_its_buffer_exactly(tmp_path):
    run = tmp_path / 'run'
    agent = xagents.DQN.from_env(
        MASKED, n_envs=2, frame_stack=3, seed=1, buffer_initial_size=100, save_buffer=True, output_dir=str(run),
        quiet=True,
    )  # fmt: skip
    assert agent.buffer.frames.shape[2:] == (2,)  # position and angle: one observation per frame
    agent.fit(max_steps=300)
    resumed = xagents.DQN.from_env(MASKED, n_envs=2, frame_stack=3, buffer_initial_size=100, quiet=True)
    resumed.resume(str(run))
    slots, envs = np.repeat(np.arange(150), 2), np.tile([0, 1], 150)
    for name, values in agent.buffer.batch(slots, envs).items():
        np.testing.assert_array_equal(resumed.buffer.batch(slots, envs)[name], values, err_msg=name)
    assert main(['train', 'dqn', '--resume', str(run), '--max-steps', '400', '--quiet']) == 0
    assert saved_state(run / 'latest')['steps'] >= 400


def test_acer_keeps_whole_stacks_of_each_dict_key_in_its_segments():
    agent = xagents.ACER.from_env(DICT_POINTER, n_envs=2, n_steps=8, frame_stack=2, seed=1, quiet=True)
    agent.reset_envs()
    agent.buffer.add(agent.segment(agent.collect_rollout()))
    arrays = agent.buffer.arrays
    assert arrays['observations.image'].shape[1:] == (9, 2, 6, 6, 2)  # n_steps + 1 steps of 2 envs, 2 frames
    assert arrays['observations.image'].dtype == np.uint8 and arrays['observations.signal'].shape[1:] == (9, 2, 4)
    segment = agent.buffer.sample()
    images, going_on = segment['observations']['image'], segment['dones'] == 0
    # within an episode a step's older frame is the previous step's newer one
    np.testing.assert_array_equal(images[1:, ..., 0][going_on], images[:-1, ..., 1][going_on])
    assert going_on.any()


def test_a_continuous_off_policy_agent_stores_each_image_frame_once_as_uint8():
    agent = xagents.SAC.from_env(
        'xagents.tests.tiny_envs:GrayPointer-v0', env_kwargs={'continuous': True}, frame_stack=2, n_envs=2, seed=0,
        buffer_initial_size=40, quiet=True,
    )  # fmt: skip
    assert agent.observation_space.shape == (8, 8, 2) and agent.actor.inputs[0].dtype == 'uint8'
    assert agent.buffer.frames.shape[2:] == (8, 8) and agent.buffer.frames.dtype == np.uint8
    agent.reset_envs()
    agent.warm_up(lambda *_: None)
    batch = agent.buffer.sample(32)
    assert batch['observations'].dtype == np.uint8 and batch['observations'].shape == (32, 8, 8, 2)
    following = ~batch['terminals']  # the next observation's older frame is this one's newer frame
    np.testing.assert_array_equal(
        batch['next_observations'][following, ..., 0], batch['observations'][following, ..., 1]
    )
    assert agent.predict(batch['observations']).shape == (32, 4)


@pytest.mark.integration
def test_a_continuous_agent_trains_and_acts_on_stacked_observations():
    agent = xagents.SAC.from_env('Pendulum-v1', frame_stack=3, seed=0, buffer_initial_size=64, quiet=True)
    assert agent.observation_space.shape == (9,) and agent.buffer.frames.shape[2:] == (3,)
    agent.fit(max_steps=128)
    observations = env_observations(agent, 8)
    assert agent.predict(observations).shape == (8, 1)


@pytest.mark.parametrize(
    ('flags', 'error'),
    [
        (['--frame-stack', '2'], '--frame-stack with --run would change the observations the run'),
        (['--obs-keys', 'image'], 'it was trained with --obs-keys image direction (leave it out)'),
        (['--preprocess'], 'it was trained with no --preprocess (leave it out)'),
    ],
)
def test_play_refuses_env_flags_that_would_change_the_runs_observations(tmp_path, capsys, flags, error):
    run = {'agent': 'ppo', 'env': 'CartPole-v1', 'hyperparameters': {}, 'checkpoints': [], 'history': 'h.parquet'}
    (tmp_path / 'config.json').write_text(json.dumps(run | {'obs_keys': ['image', 'direction'], 'frame_stack': 4}))
    assert error in fails(capsys, 'play', 'ppo', '--run', str(tmp_path), *flags)
