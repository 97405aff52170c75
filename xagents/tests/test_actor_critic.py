"""A2C, TRPO and ACER end to end: learning a little, trust regions, saving, resuming, Atari."""

import importlib

import numpy as np
import pytest

from xagents import ACER, TRPO, agents
from xagents.core.config import preset_values
from xagents.tests.helpers import save_best

NAMES = ['a2c', 'trpo', 'acer']


def make(name, tmp_path, env='CartPole-v1', seed=0, **overrides):
    presets = importlib.import_module(f'xagents.{name}.config').PRESETS.get(env, {})
    values = {**preset_values(presets), **overrides}
    n_envs = values.pop('n_envs', 2)
    return agents[name].from_env(env, n_envs=n_envs, seed=seed, quiet=True, output_dir=str(tmp_path), **values)


def recent_mean(agent, episodes=20):
    return float(np.mean(agent.run.history.column('episode_reward')[-episodes:]))


@pytest.mark.parametrize('name', NAMES)
def test_learns_cartpole_a_little(tmp_path, name):
    agent = make(name, tmp_path)
    agent.fit(max_steps=25_000)
    # A random policy averages about 22 and a wrong sign in the policy loss drives it lower.
    assert recent_mean(agent) > 60


@pytest.mark.parametrize('name', NAMES)
def test_save_load_gives_identical_deterministic_actions(tmp_path, name):
    agent = make(name, tmp_path / 'a')
    agent.fit(max_steps=2_000)
    save_best(agent)
    observations = np.random.default_rng(0).normal(size=(32, 4)).astype(np.float32)
    expected = agent.policy(observations, deterministic=True)
    fresh = make(name, tmp_path / 'b', seed=5)
    fresh.load_weights(agent.run.best)
    np.testing.assert_array_equal(fresh.policy(observations, deterministic=True), expected)
    for role, model in agent.models.items():
        for mine, theirs in zip(model.get_weights(), fresh.models[role].get_weights()):
            np.testing.assert_array_equal(mine, theirs)


@pytest.mark.parametrize('name', NAMES)
def test_resume_continues_counters_and_weights(tmp_path, name):
    agent = make(name, tmp_path)
    agent.fit(max_steps=3_000)
    steps, episodes = agent.steps, agent.episodes
    resumed = make(name, tmp_path / 'other', seed=None)  # a drawn seed gives way to the run's
    resumed.resume(tmp_path)
    assert (resumed.steps, resumed.episodes) == (steps, episodes)
    for role, model in agent.models.items():
        assert resumed.models[role].optimizer.iterations.numpy() == model.optimizer.iterations.numpy()
        for mine, theirs in zip(model.get_weights(), resumed.models[role].get_weights()):
            np.testing.assert_array_equal(mine, theirs)
    resumed.fit(max_steps=steps + 2_000)
    assert resumed.steps >= steps + 2_000
    assert len(resumed.run.history.column('step')) == resumed.episodes


@pytest.mark.parametrize('env', ['CartPole-v1', 'Pendulum-v1'])
def test_trpo_update_stays_inside_the_trust_region(tmp_path, env):
    agent = make('trpo', tmp_path, env=env, n_envs=2, n_steps=256, max_kl=0.005)
    agent.reset_envs()
    for _ in range(3):
        rollout = agent.collect_rollout()
        observations = rollout['observations'].reshape(-1, *rollout['observations'].shape[2:])
        before = agent.make_distribution(agent.actor_outputs(observations))
        losses = agent.update(rollout)
        after = agent.make_distribution(agent.actor_outputs(observations))
        kl = float(np.mean(before.kl(after).numpy()))
        assert kl <= agent.config.max_kl * (1 + 1e-4)
        np.testing.assert_allclose(kl, losses['kl'], rtol=1e-3, atol=1e-7)
        assert losses['step_fraction'] == 0.0 or losses['surrogate_gain'] > 0


def test_acer_trust_region_and_averaged_model(tmp_path):
    agent = make('acer', tmp_path, n_envs=2, trust_region=True, n_steps=10, buffer_initial_size=20)
    start = [weight.copy() for weight in agent.average_model.get_weights()]
    agent.fit(max_steps=1_000)
    assert isinstance(agent, ACER) and agent.buffer.count > 1 and np.isfinite(agent.losses['loss'])
    model, average = agent.model.get_weights(), agent.average_model.get_weights()
    # The average moved from its start towards the model, but lags behind it.
    assert any(not np.array_equal(a, s) for a, s in zip(average, start))
    assert any(not np.allclose(a, m) for a, m in zip(average, model))


def test_acer_replays_whole_segments(tmp_path):
    agent = make('acer', tmp_path, n_envs=3, n_steps=5, buffer_max_size=60, buffer_initial_size=15)
    agent.fit(max_steps=300)
    assert agent.buffer.size == 4 and agent.buffer.count == 20
    batch = agent.buffer.sample()
    assert batch['observations'].shape == (6, 3, 4) and batch['behaviour_probs'].shape == (5, 3, 2)
    np.testing.assert_allclose(batch['behaviour_probs'].sum(-1), 1.0, rtol=1e-5)


@pytest.mark.parametrize('name', ['a2c', 'trpo'])
def test_continuous_actions(tmp_path, name):
    agent = make(name, tmp_path, env='Pendulum-v1', n_envs=2, n_steps=64)
    agent.fit(max_steps=1_000)
    observations = np.zeros((5, 3), np.float32)
    actions = agent.policy(observations, deterministic=False)
    assert actions.shape == (5, 1) and actions.dtype == np.float32
    np.testing.assert_array_equal(
        agent.policy(observations, deterministic=True), agent.policy(observations, deterministic=True)
    )


# TRPO's (~14 s) and ACER's (~12 s) cases run with the integration tests.
@pytest.mark.parametrize(
    'name', [pytest.param(n, marks=pytest.mark.integration) if n in ('trpo', 'acer') else n for n in NAMES]
)
def test_atari_smoke_run_plays_back_its_checkpoint(tmp_path, name):
    agent = make(name, tmp_path / 'run', env='PongNoFrameskip-v4', n_envs=2, preprocess=True, n_steps=16)
    agent.fit(max_steps=600)
    assert agent.observations.shape == (2, 84, 84, 4) and agent.observations.dtype == np.uint8
    assert agent.episodes == 0  # no Pong game ends in 600 steps: no best checkpoint yet
    frames = np.random.default_rng(0).integers(0, 255, (3, 84, 84, 4), dtype=np.uint8)
    player = make(name, tmp_path / 'play', env='PongNoFrameskip-v4', n_envs=1, preprocess=True, n_steps=16)
    player.load_weights([tmp_path / 'run'])  # falls back to the run's latest checkpoint
    np.testing.assert_array_equal(player.policy(frames, deterministic=True), agent.policy(frames, deterministic=True))
    save_best(agent)
    player = make(name, tmp_path / 'play2', env='PongNoFrameskip-v4', n_envs=1, preprocess=True, n_steps=16)
    player.load_weights(agent.run.best)
    np.testing.assert_array_equal(player.policy(frames, deterministic=True), agent.policy(frames, deterministic=True))
    episodes = player.play(episodes=1, max_steps=100, render=False)
    assert len(episodes) == 1 and episodes[0]['length'] == 100


def test_trpo_has_separate_actor_and_critic(tmp_path):
    agent = make('trpo', tmp_path)
    assert isinstance(agent, TRPO) and set(agent.models) == {'actor', 'critic'}
    assert len(agent.actor.outputs) == 1 and agent.critic.outputs[0].shape[-1] == 1
