"""TD3, DDPG, SAC and the DQN extensions end to end: learning a little, checkpoints, buffers that resume."""

import numpy as np
import pytest

from xagents import DDPG, DQN, SAC, TD3
from xagents.core.config import preset_values
from xagents.dqn.config import PRESETS as DQN_PRESETS
from xagents.tests.helpers import save_best

FAST = dict(buffer_initial_size=500, buffer_batch_size=64, train_frequency=50, gradient_steps=50, quiet=True)


def make(agent_class, tmp_path, seed=0, **overrides):
    return agent_class.from_env('Pendulum-v1', seed=seed, output_dir=str(tmp_path), **{**FAST, **overrides})


# TD3's (~14 s) and DDPG's (~20 s) checks run with the integration tests; the default run keeps SAC's.
@pytest.mark.parametrize(
    'agent_class, options, steps',
    # SAC at its Pendulum preset's learning rate, on fewer steps (it improves by 800 by 4,000 steps).
    [
        pytest.param(TD3, {}, 6_000, marks=pytest.mark.integration),
        pytest.param(DDPG, {}, 6_000, marks=pytest.mark.integration),
        (SAC, {'lr': 1e-3}, 4_000),
    ],
    ids=['td3', 'ddpg', 'sac'],
)
def test_learns_pendulum_a_little(tmp_path, agent_class, options, steps):
    agent = make(agent_class, tmp_path, gamma=0.98, **options)
    agent.fit(max_steps=steps)
    rewards = agent.run.history.column('episode_reward')
    # Random actions score about -1200; a critic or actor loss of the wrong sign does not improve on that.
    assert np.mean(rewards[-5:]) > np.mean(rewards[:5]) + 300


def test_td3_and_sac_have_twin_critics_and_ddpg_one():
    td3, ddpg = TD3.from_env('Pendulum-v1', quiet=True), DDPG.from_env('Pendulum-v1', quiet=True)
    assert len(td3.critics) == len(td3.target_critics) == 2 and len(ddpg.critics) == 1
    sac = SAC.from_env('HalfCheetah-v5', quiet=True)
    assert len(sac.critics) == len(sac.target_critics) == 2 and sac.target_entropy == -6.0
    assert sac.actor.output_shape[-1] == 12  # a mean and a log-std per action dimension
    assert (ddpg.config.policy_delay, ddpg.config.policy_noise_coef, ddpg.config.twin_critics) == (1, 0.0, False)
    twin = td3.critics[1]
    assert [w.shape for w in twin.get_weights()] == [w.shape for w in td3.critic.get_weights()]
    assert not np.array_equal(twin.get_weights()[0], td3.critic.get_weights()[0])
    with pytest.raises(TypeError):
        DDPG.from_env('Pendulum-v1', policy_delay=2)


def test_td3_checkpoints_cover_all_three_networks(tmp_path):
    agent = make(TD3, tmp_path / 'a')
    agent.fit(max_steps=1_000)
    save_best(agent)
    fresh = make(TD3, tmp_path / 'b', seed=4)
    fresh.load_weights(agent.run.best)
    for mine, theirs in zip([agent.actor, *agent.critics], [fresh.actor, *fresh.critics]):
        for first, second in zip(mine.get_weights(), theirs.get_weights()):
            np.testing.assert_array_equal(first, second)
    observations = np.random.default_rng(0).normal(size=(16, 3)).astype(np.float32)
    np.testing.assert_array_equal(
        fresh.policy(observations, deterministic=True), agent.policy(observations, deterministic=True)
    )


# SAC's (~12 s) with the integration tests: TD3's covers the shared core, the math tests its temperature.
@pytest.mark.parametrize(
    'agent_class', [TD3, pytest.param(SAC, marks=pytest.mark.integration), DQN], ids=['td3', 'sac', 'dqn-per']
)
def test_resume_continues_with_the_same_buffer_and_counters(tmp_path, agent_class):
    if agent_class is DQN:
        options = {
            **preset_values(DQN_PRESETS['CartPole-v1']),
            'dueling': True,
            'n_step': 3,
            'prioritized': True,
            'quiet': True,
        }
        n_envs = options.pop('n_envs')

        def build(folder, seed=0):
            return DQN.from_env(
                'CartPole-v1', n_envs=n_envs, seed=seed, output_dir=str(folder), save_buffer=True, **options
            )
    else:

        def build(folder, seed=0):
            return make(agent_class, folder, seed=seed, save_buffer=True)

    agent = build(tmp_path)
    agent.fit(max_steps=2_000)
    resumed = build(tmp_path / 'other', seed=None)  # a drawn seed gives way to the run's
    resumed.resume(tmp_path)
    assert (resumed.steps, resumed.episodes, resumed.iterations) == (agent.steps, agent.episodes, agent.iterations)
    for name, array in agent.buffer.arrays().items():
        np.testing.assert_array_equal(resumed.buffer.arrays()[name], array, err_msg=name)
    model = agent.models[agent.model_roles[0]]
    resumed_model = resumed.models[resumed.model_roles[0]]
    assert int(resumed_model.optimizer.iterations.numpy()) == int(model.optimizer.iterations.numpy()) > 0
    if agent_class is SAC:  # the learned temperature and its optimizer
        assert resumed.log_ent_coef.numpy() == agent.log_ent_coef.numpy() != 0.0
        assert resumed.ent_coef_optimizer.iterations.numpy() == agent.ent_coef_optimizer.iterations.numpy() > 0
    count = resumed.buffer.count
    resumed.fit(max_steps=agent.steps + 500)
    # Training went on from the restored buffer (no refill from scratch) and the counters.
    assert resumed.buffer.count == count + (resumed.steps - agent.steps) // resumed.n_envs
    assert resumed.run.history.column('step') == sorted(resumed.run.history.column('step'))


def test_dqn_with_every_extension_learns_cartpole_a_little(tmp_path):
    values = {
        **preset_values(DQN_PRESETS['CartPole-v1']),
        'double': True,
        'dueling': True,
        'n_step': 3,
        'prioritized': True,
    }
    n_envs = values.pop('n_envs')
    agent = DQN.from_env('CartPole-v1', n_envs=n_envs, seed=0, quiet=True, output_dir=str(tmp_path), **values)
    agent.fit(max_steps=12_000)
    assert float(np.mean(agent.run.history.column('episode_reward')[-20:])) > 40
    assert agent.buffer.max_priority > 1.0  # priorities came from TD errors


def test_td3_trains_on_float64_observations(tmp_path):
    """MuJoCo observations are float64; the buffer keeps them as float32, what the critic's concat needs."""
    agent = TD3.from_env(
        'HalfCheetah-v5',
        buffer_initial_size=64,
        buffer_batch_size=32,
        train_frequency=50,
        gradient_steps=2,
        quiet=True,
        output_dir=str(tmp_path),
    )
    agent.fit(max_steps=200)
    assert agent.sample()['observations'].dtype == np.float32
    assert np.isfinite(list(agent.losses.values())).all()


@pytest.mark.parametrize(
    'name, env', [('dqn', 'CartPole-v1'), ('td3', 'Pendulum-v1'), ('ddpg', 'Pendulum-v1'), ('sac', 'Pendulum-v1')]
)
def test_the_greedy_actions_an_update_computes_are_those_of_its_new_weights(name, env):
    """The update's graph returns the next greedy actions; acting takes them instead of a call of its own."""
    import xagents

    options = {'n_envs': 2, 'seed': 0, 'quiet': True, 'buffer_initial_size': 64, 'buffer_batch_size': 8}
    options['train_frequency'] = 1  # an update on the first iteration
    agent = xagents.agents[name].from_env(env, **options)
    agent.reset_envs()
    agent.warm_up(lambda *_: None)
    agent.iterate()
    kept = agent.kept_greedy(agent.observations)
    assert kept is not None and agent.kept_greedy(agent.observations.copy()) is None  # other observations
    from_kept = agent.policy(agent.observations, deterministic=True)
    agent.greedy_kept = None
    np.testing.assert_allclose(from_kept, agent.policy(agent.observations, deterministic=True), rtol=1e-5, atol=1e-5)
    agent.weights_changed()  # new weights (loaded, or set by hand): the kept actions are stale
    assert agent.kept_greedy(agent.observations) is None


def test_dqn_epsilon_and_beta_anneal_over_shares_of_the_run_unless_given_in_steps():
    corridor = 'xagents.tests.tiny_envs:Corridor-v0'  # no preset: the defaults
    agent = DQN.from_env(corridor, quiet=True, prioritized=True)
    assert agent.epsilon_decay_steps == 150_000  # no budget (no max_steps): 0.2's fixed length
    agent.budget = 20_000
    assert agent.epsilon_decay_steps == 2_000  # --exploration-fraction 0.1, as SB3's exploration_fraction
    agent.steps = 1_000
    assert agent.epsilon == pytest.approx(1.0 + 0.5 * (0.02 - 1.0))
    assert agent.per_beta == pytest.approx(0.4 + 0.6 * 1_000 / 20_000)  # beta reaches 1 at the end of the run
    agent.steps = 2_000
    assert agent.epsilon == pytest.approx(0.02)
    fixed = DQN.from_env(corridor, quiet=True, epsilon_decay_steps=500, per_beta_steps=1_000)
    fixed.budget, fixed.steps = 20_000, 250
    assert fixed.epsilon_decay_steps == 500 and fixed.epsilon == pytest.approx(1.0 + 0.5 * (0.02 - 1.0))
    assert fixed.per_beta == pytest.approx(0.4 + 0.6 * 0.25)
    with pytest.raises(ValueError, match='--exploration-fraction'):
        DQN.from_env(corridor, quiet=True, exploration_fraction=0.0)


def test_fit_gives_the_agent_its_max_steps_as_the_budget(tmp_path):
    agent = DQN.from_env('xagents.tests.tiny_envs:Corridor-v0', quiet=True, output_dir=str(tmp_path))
    agent.fit(max_steps=400)
    assert agent.budget == 400 and agent.epsilon_decay_steps == 40 and agent.epsilon == pytest.approx(0.02)
