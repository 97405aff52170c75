"""Agents end to end on CartPole / Pendulum: learning a little, saving, loading, resuming."""

import json

import numpy as np
import pytest

from xagents import DQN, PPO
from xagents.core.config import preset_values
from xagents.dqn.config import PRESETS as DQN_PRESETS
from xagents.ppo.config import PRESETS as PPO_PRESETS
from xagents.tests.helpers import save_best


def preset(presets, env, **overrides):
    values = {**preset_values(presets[env]), **overrides}
    return values.pop('n_envs'), values


def make_ppo(tmp_path, seed=0, **overrides):
    n_envs, values = preset(PPO_PRESETS, 'CartPole-v1', **overrides)
    return PPO.from_env('CartPole-v1', n_envs=n_envs, seed=seed, quiet=True, output_dir=str(tmp_path), **values)


def make_dqn(tmp_path, seed=0, **overrides):
    n_envs, values = preset(DQN_PRESETS, 'CartPole-v1', **overrides)
    return DQN.from_env('CartPole-v1', n_envs=n_envs, seed=seed, quiet=True, output_dir=str(tmp_path), **values)


def recent_mean(agent, episodes=20):
    return float(np.mean(agent.run.history.column('episode_reward')[-episodes:]))


def test_ppo_learns_cartpole_a_little(tmp_path):
    agent = make_ppo(tmp_path)
    agent.fit(max_steps=20_000)
    # A random policy averages about 22; a wrong loss sign drives it lower, not to 100+.
    assert recent_mean(agent) > 80


def test_dqn_learns_cartpole_a_little(tmp_path):
    agent = make_dqn(tmp_path)
    agent.fit(max_steps=12_000)
    assert recent_mean(agent) > 40


@pytest.mark.integration  # ~10 s (40k steps); PPO's continuous actions stay in the default run in test_export
def test_ppo_continuous_actions_improve_on_pendulum(tmp_path):
    n_envs, values = preset(PPO_PRESETS, 'Pendulum-v1', n_steps=256, mini_batches=16)
    agent = PPO.from_env('Pendulum-v1', n_envs=n_envs, seed=0, quiet=True, output_dir=str(tmp_path), **values)
    agent.fit(max_steps=40_000)
    rewards = agent.run.history.column('episode_reward')
    assert np.mean(rewards[-20:]) > np.mean(rewards[:20]) + 150


@pytest.mark.parametrize('make', [make_ppo, make_dqn], ids=['ppo', 'dqn'])
def test_save_load_gives_identical_deterministic_actions(tmp_path, make):
    agent = make(tmp_path / 'a', normalize_obs=True)
    agent.fit(max_steps=2_000)
    save_best(agent)
    observations = np.random.default_rng(0).normal(size=(32, 4)).astype(np.float32)
    expected = agent.policy(agent.normalize_observations(observations), deterministic=True)
    fresh = make(tmp_path / 'b', seed=5, normalize_obs=True)
    assert not np.array_equal(fresh.obs_normalizer.stats.mean, agent.obs_normalizer.stats.mean)
    fresh.load_weights(agent.run.best)
    np.testing.assert_array_equal(fresh.obs_normalizer.stats.mean, agent.obs_normalizer.stats.mean)
    np.testing.assert_array_equal(
        fresh.policy(fresh.normalize_observations(observations), deterministic=True), expected
    )


@pytest.mark.parametrize('make', [make_ppo, make_dqn], ids=['ppo', 'dqn'])
def test_resume_continues_counters_and_history(tmp_path, make):
    agent = make(tmp_path)
    agent.fit(max_steps=3_000)
    steps, episodes = agent.steps, agent.episodes
    optimizer_steps = int(agent.model.optimizer.iterations.numpy())
    resumed = make(tmp_path / 'other', seed=None)  # a drawn seed gives way to the run's
    resumed.resume(tmp_path)
    assert (resumed.steps, resumed.episodes) == (steps, episodes)
    assert int(resumed.model.optimizer.iterations.numpy()) == optimizer_steps
    for mine, theirs in zip(agent.model.get_weights(), resumed.model.get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    resumed.fit(max_steps=steps + 2_000)
    assert resumed.steps >= steps + 2_000
    table_steps = resumed.run.history.column('step')
    assert table_steps == sorted(table_steps) and len(table_steps) == resumed.episodes
    assert json.loads((tmp_path / 'config.json').read_text())['agent'] == type(agent).__name__.lower()


def test_dqn_resume_restores_epsilon_schedule(tmp_path):
    agent = make_dqn(tmp_path)
    agent.fit(max_steps=3_000)
    resumed = make_dqn(tmp_path / 'other')
    resumed.resume(tmp_path)
    assert resumed.epsilon == agent.epsilon < 1.0


def test_same_seed_repeats_a_run_exactly(tmp_path):
    runs = []
    for name in ('a', 'b'):
        agent = make_ppo(tmp_path / name, seed=3)
        agent.fit(max_steps=3_000)
        runs.append(
            (agent.run.history.column('episode_reward'), agent.losses, [w.copy() for w in agent.model.get_weights()])
        )
    assert runs[0][0] == runs[1][0]
    assert runs[0][1] == runs[1][1]
    for first, second in zip(runs[0][2], runs[1][2]):
        np.testing.assert_array_equal(first, second)


def test_parallel_evaluation_plays_each_env_its_share(tmp_path):
    agent = make_ppo(tmp_path)
    episodes = agent.play(episodes=5, max_envs=2, seed=0)
    assert len(episodes) == 5
    assert all(set(episode) == {'reward', 'length', 'seconds'} for episode in episodes)
    assert all(episode['length'] == episode['reward'] > 0 for episode in episodes)
    in_turn = agent.play(episodes=2, max_steps=500, seed=0)  # max_steps: one env, episodes in turn
    assert len(in_turn) == 2


def test_dqn_rejects_continuous_actions():
    with pytest.raises(ValueError, match='discrete action space'):
        DQN.from_env('Pendulum-v1')


def test_unknown_hyperparameter_is_an_error(tmp_path):
    with pytest.raises(TypeError, match='unknown hyperparameter'):
        make_ppo(tmp_path, learning_rate=0.1)


def test_atari_preprocessing_shapes_and_dtypes(tmp_path):
    agent = DQN.from_env(
        'PongNoFrameskip-v4',
        n_envs=2,
        preprocess=True,
        seed=0,
        quiet=True,
        output_dir=str(tmp_path),
        buffer_max_size=400,
        buffer_initial_size=64,
        buffer_batch_size=8,
    )
    assert agent.observation_space.shape == (84, 84, 4) and agent.observation_space.dtype == np.uint8
    assert agent.config.clip_rewards and agent.config.life_loss_terminal
    agent.fit(max_steps=200)
    assert agent.buffer.frames.dtype == np.uint8 and agent.buffer.frames.shape[2:] == (84, 84)
    batch = agent.sample()
    assert batch['observations'].shape == (8, 84, 84, 4) and batch['observations'].dtype == np.uint8


def test_tensorboard_scalars_read_back(tmp_path):
    import tensorflow as tf

    agent = make_ppo(tmp_path, tensorboard=True, log_frequency=5)
    agent.fit(max_steps=3_000)
    scalars = {}
    for path in (tmp_path / 'tensorboard').glob('events.out.tfevents.*'):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                scalars.setdefault(value.tag, []).append((event.step, float(tf.make_ndarray(value.tensor))))
    rewards = [value for _, value in scalars['episode/reward']]
    np.testing.assert_allclose(rewards, agent.run.history.column('episode_reward'), rtol=1e-6)
    assert [step for step, _ in scalars['episode/length']] == agent.run.history.column('step')
    assert {'time/steps_per_second', 'train/learning_rate', 'train/policy_loss'} <= set(scalars)
    # The preset's lin_1e-3: logged as it falls from 1e-3 towards 0 at --max-steps.
    rates = [value for _, value in scalars['train/learning_rate']]
    assert len(rates) > 2 and rates == sorted(rates, reverse=True)
    # Each is the schedule at the start of an iteration of 8 envs x 32 steps: 1e-3 (1 - 256 k / 3000).
    iterations = [(1 - rate / 1e-3) * 3000 / 256 for rate in rates]
    np.testing.assert_allclose(iterations, np.round(iterations), atol=1e-3)
