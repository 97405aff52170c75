"""Hindsight experience replay: relabeled goals and rewards of known episodes, the episode bookkeeping
across env streams and saves, DQN / DDPG / TD3 / SAC with ``--her`` on goal envs, and the refusals."""

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

import xagents
from xagents.commands.main import main
from xagents.export.formats import export
from xagents.replay.hindsight import HerReplayBuffer
from xagents.run.checkpoints import saved_state
from xagents.tests.test_export import run_exported
from xagents.tests.test_image_envs import fails
from xagents.tests.tiny_envs import PointReach, bits_reward

BITS = 'xagents.tests.tiny_envs:BitFlip-v0'
POINT = 'xagents.tests.tiny_envs:PointReach-v0'
SHAPES = {'observation': (2,), 'achieved_goal': (2,), 'desired_goal': (2,)}
DTYPES = dict.fromkeys(SHAPES, np.float32)


class Rewards:
    """``bits_reward`` counting its calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self, achieved_goal, desired_goal, info):
        self.calls += 1
        assert info == {}
        return bits_reward(achieved_goal, desired_goal)


def goal_obs(achieved: list[list[float]], goal: float = 9.0) -> dict:
    """A batch of one goal observation per env: the achieved goals given, each desired goal ``goal``."""
    achieved = np.array(achieved, np.float32)
    return {'observation': achieved, 'achieved_goal': achieved, 'desired_goal': np.full_like(achieved, goal)}


def known_buffer(strategy: str = 'future', capacity: int = 20, **kwargs) -> HerReplayBuffer:
    """Env 0 plays an episode of 3 steps (achieved x = 1, 2, 3, then done), then starts another and takes
    one step (x = 4); env 1 plays one episode throughout (achieved y = 10, 20, 30, 40, still running)."""
    buffer = HerReplayBuffer(capacity, 2, SHAPES, DTYPES, seed=0, compute_reward=Rewards(), strategy=strategy, **kwargs)
    buffer.start_episodes(goal_obs([[0, 0], [0, 0]]))
    for step in range(1, 5):
        done = np.array([step == 3, False])
        buffer.add(np.zeros(2), -np.ones(2), goal_obs([[step, 0], [0, 10 * step]]), done, done)
        if done.any():
            buffer.start_episodes(goal_obs([[0, 0], [0, 0]]), done)
    return buffer


def relabel(buffer: HerReplayBuffer, slots: list[int], env: int) -> dict:
    """The batch of ``slots`` of ``env``, every row relabeled."""
    slots, envs = np.array(slots), np.full(len(slots), env)
    batch = buffer.batch(slots, envs)
    buffer.relabel(batch, slots, envs, np.arange(len(slots)))
    return batch


def test_final_goals_are_the_last_achieved_goal_of_each_episode_with_their_rewards():
    buffer = known_buffer('final')
    batch = relabel(buffer, [0, 1, 2, 3], env=0)
    # slots 0-2: the first episode, which ended at x = 3; slot 3: the second, one step so far (x = 4)
    np.testing.assert_array_equal(batch['observations']['desired_goal'][:, 0], [3, 3, 3, 4])
    np.testing.assert_array_equal(batch['next_observations']['desired_goal'][:, 0], [3, 3, 3, 4])
    np.testing.assert_array_equal(batch['observations']['achieved_goal'][:, 0], [0, 1, 2, 0])
    np.testing.assert_array_equal(batch['rewards'], [-1, -1, 0, 0])  # reached after the last step only
    np.testing.assert_array_equal(batch['terminals'], [False, False, True, False])  # the real ones
    # env 1's episode still runs: its newest step (y = 40) stands for its end
    batch = relabel(buffer, [0, 3], env=1)
    np.testing.assert_array_equal(batch['observations']['desired_goal'][:, 1], [40, 40])
    np.testing.assert_array_equal(batch['rewards'], [-1, 0])


@pytest.mark.parametrize(
    'strategy, goals',
    [
        # per transition of env 0's first episode (slots 0, 1, 2): the goals that can relabel it
        ('future', [{1, 2, 3}, {2, 3}, {3}]),
        ('episode', [{1, 2, 3}, {1, 2, 3}, {1, 2, 3}]),
    ],
)
def test_future_and_episode_goals_come_from_the_steps_their_strategy_allows(strategy, goals):
    buffer = known_buffer(strategy)
    batch = relabel(buffer, [0, 1, 2] * 100, env=0)
    desired = batch['observations']['desired_goal'][:, 0].reshape(100, 3)
    assert [set(desired[:, index]) for index in range(3)] == goals
    next_achieved = batch['next_observations']['achieved_goal'][:, 0].reshape(100, 3)
    np.testing.assert_array_equal(batch['rewards'].reshape(100, 3), np.where(desired == next_achieved, 0, -1))
    # the running episode of env 1 so far: from slot 1 (y = 20) on, y = 20, 30 or 40
    batch = relabel(buffer, [1] * 100, env=1)
    running = {20, 30, 40} if strategy == 'future' else {10, 20, 30, 40}
    assert set(batch['observations']['desired_goal'][:, 1]) == running


def test_a_running_episode_grows_and_overwritten_steps_are_never_goals():
    buffer = known_buffer('episode', capacity=8)  # 4 slots per env: env 1's episode fills them all
    for step in range(5, 7):
        buffer.add(np.zeros(2), -np.ones(2), goal_obs([[step, 0], [0, 10 * step]]), np.zeros(2, bool))
    # env 1's steps 1 and 2 (y = 10, 20) were overwritten; 3 to 6 are kept, its episode still runs
    batch = relabel(buffer, [0, 1, 2, 3] * 50, env=1)
    assert set(batch['observations']['desired_goal'][:, 1]) == {30, 40, 50, 60}


def test_a_sample_relabels_all_but_one_row_in_five_with_one_call_of_compute_reward():
    buffer = known_buffer('final')
    batch = buffer.sample(10)
    assert buffer.compute_reward.calls == 1
    desired = batch['observations']['desired_goal']
    real = np.arange(10) % 5 == 0
    assert (desired[real] == 9).all() and (desired[~real] != 9).all(axis=1).any()
    np.testing.assert_array_equal(batch['rewards'][real], [-1, -1])
    np.testing.assert_array_equal(
        batch['rewards'][~real], bits_reward(batch['next_observations']['achieved_goal'][~real], desired[~real])
    )


def test_saving_and_loading_keep_the_episodes_and_the_samples(tmp_path):
    buffer = known_buffer('future')
    buffer.save(tmp_path / 'buffer.npz')
    restored = HerReplayBuffer(20, 2, SHAPES, DTYPES, seed=5, compute_reward=Rewards())
    restored.load(tmp_path / 'buffer.npz')
    for name in ('starts', 'ends', 'episode_start'):
        np.testing.assert_array_equal(getattr(restored, name), getattr(buffer, name), err_msg=name)
    np.testing.assert_array_equal(restored.ends[:4, 0], [2, 2, 2, -1])
    first, second = buffer.sample(32), restored.sample(32)
    for name in ('observations', 'next_observations'):
        np.testing.assert_array_equal(first[name]['desired_goal'], second[name]['desired_goal'])
    np.testing.assert_array_equal(first['rewards'], second['rewards'])


def test_cutting_episodes_ends_each_env_stream_where_it_is():
    buffer = known_buffer('final')
    buffer.cut_episodes()  # what a restart of the envs does: env 0 at x = 4, env 1 at y = 40
    np.testing.assert_array_equal(buffer.ends[:4], [[2, 3], [2, 3], [2, 3], [3, 3]])
    np.testing.assert_array_equal(buffer.episode_start, [4, 4])


def test_dqn_with_her_trains_on_bit_flipping_with_several_envs_and_records_success(tmp_path):
    agent = xagents.DQN.from_env(
        BITS, n_envs=2, seed=1, her=True, buffer_initial_size=64, output_dir=str(tmp_path / 'run'), quiet=True
    )
    assert isinstance(agent.buffer, HerReplayBuffer)
    agent.fit(max_steps=400)
    history = pq.read_table(tmp_path / 'run' / 'history.parquet').to_pydict()
    rewards, successes = np.array(history['episode_reward']), np.array(history['success'])
    assert len(successes) > 20 and set(successes) == {0.0, 1.0}
    np.testing.assert_array_equal(successes == 1, rewards > -np.array(history['episode_length']))
    assert 'success' not in saved_state(tmp_path / 'run' / 'latest')  # a history column, not state


@pytest.mark.integration
def test_the_command_line_trains_plays_resumes_with_the_buffer_and_exports(tmp_path, capsys):
    run = tmp_path / 'run'
    train = ['train', 'dqn', '--env', BITS, '--her', '--her-goals', '2', '--her-strategy', 'episode']
    train += ['--n-envs', '2', '--buffer-max-size', '2000', '--buffer-initial-size', '64', '--save-buffer']
    train += ['--seed', '1', '--quiet']
    assert main([*train, '--max-steps', '300', '--output-dir', str(run)]) == 0
    config = json.loads((run / 'config.json').read_text())['hyperparameters']
    assert (config['her'], config['her_goals'], config['her_strategy']) == (True, 2, 'episode')
    with np.load(run / 'replay-buffer.npz') as stored:
        saved = {name: stored[name] for name in ('starts', 'ends', 'episode_start', 'count')}
    assert main(['play', 'dqn', '--run', str(run), '--episodes', '1', '--video-dir', str(tmp_path / 'v')]) == 0
    assert len(list((tmp_path / 'v').glob('*.mp4'))) == 1
    options = dict(her=True, her_goals=2, her_strategy='episode', buffer_max_size=2000, seed=1, quiet=True)
    agent = xagents.DQN.from_env(BITS, n_envs=2, **options)
    agent.resume(run)
    assert agent.buffer.count == saved['count'] == 300 // 2
    for name in ('starts', 'ends'):
        np.testing.assert_array_equal(getattr(agent.buffer, name)[: agent.buffer.count], saved[name], err_msg=name)
    np.testing.assert_array_equal(agent.buffer.episode_start, saved['episode_start'])
    agent.envs.close()
    assert main(['train', 'dqn', '--resume', str(run), '--max-steps', '500', '--quiet']) == 0
    assert saved_state(run / 'latest')['steps'] >= 500
    loaded = xagents.load(run, 'latest')
    envs = loaded.env_recipe.make(8)
    observations, _ = envs.reset(seed=3)
    envs.close()
    actions = run_exported(export(loaded, tmp_path / 'policy.onnx', 'onnx'), 'onnx', observations)
    np.testing.assert_array_equal(actions, loaded.predict(observations))


def test_point_reach_moves_in_the_dimensions_asked_and_rewards_goals_within_the_radius():
    env = PointReach(dims=3, radius=0.05, spread=1.0, length=2)
    observation, _ = env.reset(seed=0)
    assert env.action_space.shape == (3,) and all(value.shape == (3,) for value in observation.values())
    env.point, env.goal = np.zeros(3, np.float32), np.array([0.14, 0.0, 0.0], np.float32)
    assert env.step(np.array([1.0, 0.0, 0.0]))[1:4] == (0.0, False, False)  # 0.04 away
    assert env.step(np.array([1.0, 0.0, 0.0]))[1:4] == (-1.0, False, True)  # 0.06 away, the last step
    achieved = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.049], [0.0, 0.051, 0.0]], np.float32)
    assert env.compute_reward(achieved, np.zeros((3, 3)), {}).tolist() == [0.0, 0.0, -1.0]


@pytest.mark.integration
@pytest.mark.parametrize('name', ['ddpg', 'td3', 'sac'])
def test_continuous_agents_train_with_her_on_a_point_reach_task(name):
    agent = xagents.agents[name].from_env(
        POINT, n_envs=2, seed=1, her=True, her_strategy='final', buffer_initial_size=64, buffer_batch_size=32
    )
    agent.fit(max_steps=160, quiet=True)
    assert isinstance(agent.buffer, HerReplayBuffer) and agent.buffer.strategy == 'final'
    assert agent.steps >= 160 and np.isfinite(list(agent.losses.values())).all()


def test_her_in_python_for_an_on_policy_agent_names_the_agents_that_take_it():
    with pytest.raises(
        TypeError, match=r'PPO got unknown hyperparameter\(s\): her \(hindsight experience replay is for DQN'
    ):
        xagents.PPO.from_env(BITS, her=True)


@pytest.mark.parametrize(
    'args, message',
    [
        (['dqn', '--env', 'CartPole-v1', '--no-presets'], 'CartPole-v1 has Box observations, missing observation'),
        (['dqn', '--env', 'xagents.tests.tiny_envs:DictPointer-v0'], 'missing observation achieved_goal desired_goal'),
        (['dqn', '--env', BITS, '--obs-keys', 'observation', 'desired_goal'], 'missing achieved_goal'),
        (['dqn', '--env', 'xagents.tests.tiny_envs:NoComputeReward-v0'], 'compute_reward(achieved_goal, desired_goal'),
        (['dqn', '--env', 'xagents.tests.tiny_envs:ScalarComputeReward-v0'], 'must take batches'),
        (['ppo', '--env', BITS], '--her (hindsight experience replay is for the off-policy agents: dqn, ddpg, td3'),
        (['acer', '--env', BITS], 'off-policy agents: dqn, ddpg, td3 and sac'),
        (['dqn', '--env', BITS, '--n-step', '3'], 'does not combine with --n-step > 1 or --prioritized'),
        (['dqn', '--env', BITS, '--prioritized'], 'does not combine with --n-step > 1 or --prioritized'),
        (['sac', '--env', POINT, '--normalize-reward'], 'does not combine with --normalize-reward'),
        (['dqn', '--env', BITS, '--her-goals', '0'], '--her-goals: must be > 0, got 0'),
        (['dqn', '--env', BITS, '--her-strategy', 'best'], "invalid choice: 'best' (choose from 'future', 'final'"),
    ],
)
def test_her_that_cannot_run_is_refused_in_one_line_before_a_run_folder(tmp_path, capsys, args, message):
    run = tmp_path / 'run'
    error = fails(capsys, 'train', *args, '--her', '--max-steps', '100', '--output-dir', str(run))
    assert message in error
    assert not run.exists()
