"""MultiDiscrete and MultiBinary actions (PPO, A2C, TRPO): the factorized distributions against
hand-computed numbers, learning on tiny envs, play with a video, resume, exports acting as
``predict``, and the agents that refuse them."""

import contextlib
import io
import json
import os
import re

import numpy as np
import pytest
import tensorflow as tf

import xagents
from xagents.commands.main import main
from xagents.export.formats import FORMATS, export
from xagents.nets.distributions import Bernoulli, MultiCategorical, host_act, log_softmax
from xagents.tests.test_custom_envs import history_steps
from xagents.tests.test_export import env_observations, run_exported

DIALS = 'xagents.tests.tiny_envs:Dials-v0'  # MultiDiscrete([3 2 4])
SWITCHES = 'xagents.tests.tiny_envs:Switches-v0'  # MultiBinary(4)
TRAIN = {'n_envs': 4, 'n_steps': 32, 'seed': 1, 'quiet': True}


# ------------------------------------------------------------------ the distributions
def test_multi_categorical_log_prob_entropy_kl_hand_computed():
    # Dimension 0: 3 equal logits (1/3 each); dimension 1: logits (log 3, 0), so (3/4, 1/4).
    distribution = MultiCategorical.over([3, 2])(tf.constant([[0.0, 0.0, 0.0, np.log(3.0), 0.0]], tf.float32))
    log_prob = distribution.log_prob(tf.constant([[2, 1]])).numpy()
    np.testing.assert_allclose(log_prob, [np.log(1 / 3) + np.log(1 / 4)], rtol=1e-6)
    entropy = np.log(3.0) - (0.75 * np.log(0.75) + 0.25 * np.log(0.25))
    np.testing.assert_allclose(distribution.entropy().numpy(), [entropy], rtol=1e-6)
    uniform = MultiCategorical.over([3, 2])(tf.zeros([1, 5]))
    kl = 0.0 + 0.75 * np.log(0.75 / 0.5) + 0.25 * np.log(0.25 / 0.5)  # dimension 0 is uniform in both
    np.testing.assert_allclose(distribution.kl(uniform).numpy(), [kl], rtol=1e-6)
    np.testing.assert_array_equal(distribution.mode().numpy(), [[0, 0]])


def test_multi_categorical_sums_per_dimension_log_softmax():
    nvec = (3, 2, 4)
    logits = np.random.default_rng(0).normal(size=(6, 9)).astype(np.float32)
    other = np.random.default_rng(1).normal(size=(6, 9)).astype(np.float32)
    actions = np.array([[0, 1, 3], [2, 0, 0], [1, 1, 2], [2, 1, 1], [0, 0, 0], [1, 0, 3]])
    parts, other_parts = np.split(logits, [3, 5], axis=1), np.split(other, [3, 5], axis=1)
    log_prob = entropy = kl = 0.0
    for dimension in range(3):  # naive: each dimension's categorical on its own, then summed
        p, q = log_softmax(parts[dimension]), log_softmax(other_parts[dimension])
        log_prob = log_prob + p[np.arange(6), actions[:, dimension]]
        entropy = entropy - (np.exp(p) * p).sum(1)
        kl = kl + (np.exp(p) * (p - q)).sum(1)
    distribution, other_distribution = MultiCategorical.over(nvec)(logits), MultiCategorical.over(nvec)(other)
    np.testing.assert_allclose(distribution.log_prob(actions).numpy(), log_prob, rtol=1e-5)
    np.testing.assert_allclose(distribution.entropy().numpy(), entropy, rtol=1e-5)
    np.testing.assert_allclose(distribution.kl(other_distribution).numpy(), kl, rtol=1e-5)
    greedy = np.stack([part.argmax(1) for part in parts], axis=1)
    np.testing.assert_array_equal(distribution.mode().numpy(), greedy)


def test_bernoulli_log_prob_entropy_kl_hand_computed():
    distribution = Bernoulli(tf.constant([[0.0, np.log(3.0)]], tf.float32))  # p(1) = 1/2 and 3/4
    np.testing.assert_allclose(distribution.log_prob(tf.constant([[1, 0]])).numpy(), [np.log(0.125)], rtol=1e-6)
    entropy = np.log(2.0) - (0.75 * np.log(0.75) + 0.25 * np.log(0.25))
    np.testing.assert_allclose(distribution.entropy().numpy(), [entropy], rtol=1e-6)
    other = Bernoulli(tf.constant([[np.log(3.0), 0.0]], tf.float32))  # 3/4 and 1/2
    kl = 0.5 * np.log(0.5 / 0.75) + 0.5 * np.log(0.5 / 0.25) + 0.75 * np.log(0.75 / 0.5) + 0.25 * np.log(0.25 / 0.5)
    np.testing.assert_allclose(distribution.kl(other).numpy(), [kl], rtol=1e-6)
    np.testing.assert_array_equal(distribution.mode().numpy(), [[0, 1]])  # a tie (p = 1/2) is a 0
    greedy, _ = host_act(Bernoulli, [np.array([[0.0, np.log(3.0)]], np.float32)], None, deterministic=True)
    np.testing.assert_array_equal(greedy, [[0, 1]])  # in NumPy too


def test_host_acting_takes_the_same_greedy_actions_with_the_same_log_probs_as_tensorflow():
    rng = np.random.default_rng(0)
    for distribution, logits in (
        (MultiCategorical.over([3, 2, 4]), rng.normal(size=(200, 9)).astype(np.float32)),
        (Bernoulli, rng.normal(size=(200, 4)).astype(np.float32)),
    ):
        in_graph = distribution(tf.constant(logits))
        for deterministic in (True, False):
            actions, log_probs = host_act(distribution, [logits], rng, deterministic=deterministic)
            assert actions.dtype == np.int32 and log_probs.dtype == np.float32
            np.testing.assert_allclose(log_probs, in_graph.log_prob(actions).numpy(), rtol=1e-5, atol=1e-6)
            if deterministic:
                np.testing.assert_array_equal(actions, in_graph.mode().numpy())


def test_sampling_frequencies_in_numpy_and_tensorflow():
    probs = [0.2, 0.5, 0.3, 0.9, 0.1]  # a MultiDiscrete([3 2]) row
    logits = np.log(np.array([probs] * 20000, np.float32))
    bits = np.tile(np.array([[0.0, np.log(3.0)]], np.float32), (20000, 1))  # p(1) = 1/2, 3/4
    generator = tf.random.Generator.from_seed(0)
    for distribution, inputs, expected in (
        (MultiCategorical.over([3, 2]), logits, [[0.2, 0.5, 0.3], [0.9, 0.1]]),
        (Bernoulli, bits, [[0.5, 0.5], [0.25, 0.75]]),
    ):
        tf_actions = distribution(tf.constant(inputs)).sample(generator).numpy()
        host_actions, _ = host_act(distribution, [inputs], np.random.default_rng(0), deterministic=False)
        for actions in (tf_actions, host_actions):
            for dimension, frequencies in enumerate(expected):
                counts = np.bincount(actions[:, dimension], minlength=len(frequencies)) / len(actions)
                np.testing.assert_allclose(counts, frequencies, atol=0.015)


# ------------------------------------------------------------------ agents
def greedy_score(agent, **kwargs) -> float:
    with contextlib.redirect_stdout(io.StringIO()):
        return float(np.mean([result['reward'] for result in agent.play(episodes=20, seed=5, **kwargs)]))


@pytest.mark.parametrize(
    'name, env, learned',
    [
        ('ppo', DIALS, 7.0),
        ('a2c', DIALS, 7.0),
        ('trpo', DIALS, 7.0),
        ('ppo', SWITCHES, 7.5),
        ('a2c', SWITCHES, 6.0),
        ('trpo', SWITCHES, 7.5),
    ],
)
def test_each_agent_learns_on_multi_action_envs(name, env, learned):
    """Dials: random 3.5 a 10-step episode, best 10; Switches: random 5, best 10 (untrained: 2.3)."""
    agent = xagents.agents[name].from_env(env, **TRAIN)
    before = greedy_score(agent)
    assert greedy_score(agent, random=True) < 5.5
    agent.fit(max_steps=3000)
    after = greedy_score(agent)
    assert after >= learned and after > before + 1.0, (before, after)
    agent.observation_space.seed(0)
    observations = np.stack([agent.observation_space.sample() for _ in range(5)])
    space = agent.action_space
    actions = agent.predict(observations)
    assert actions.shape == (5, *space.shape) and actions.dtype == space.dtype
    assert all(space.contains(action) for action in actions)
    single = agent.predict(observations[0])
    assert single.shape == space.shape and single.dtype == space.dtype
    np.testing.assert_array_equal(single, actions[0])
    # the TensorFlow acting path (convolutional models, --no-host-inference) takes the same greedy actions
    inputs = agent.normalize_observations(observations.astype(np.float32))
    np.testing.assert_array_equal(agent._act(inputs, np.array(True))[0].numpy(), actions)


@pytest.mark.integration  # ~6 s: the command line end to end
def test_a_multi_discrete_run_from_the_cli_plays_with_a_video_resumes_and_exports(tmp_path, capsys):
    run = tmp_path / 'run'
    train = ['--max-steps', '3000', '--n-envs', '4', '--n-steps', '32', '--seed', '1', '--quiet']
    assert main(['train', 'ppo', '--env', DIALS, *train, '--normalize-obs', '--output-dir', str(run)]) == 0
    capsys.readouterr()
    played = tmp_path / 'played.json'
    args = ['play', 'ppo', '--run', str(run), '--episodes', '2', '--video-dir', str(tmp_path / 'v')]
    assert main([*args, '--output', str(played)]) == 0
    assert json.loads(played.read_text())['mean_reward'] >= 7.0  # random: 3.5
    assert sorted(os.listdir(tmp_path / 'v')) == ['Dials-v0-episode-0.mp4', 'Dials-v0-episode-1.mp4']
    before = max(history_steps(run))
    assert main(['train', 'ppo', '--resume', str(run), '--max-steps', '4000', '--quiet']) == 0
    assert max(history_steps(run)) > before
    agent = xagents.load(run)
    observations = env_observations(agent, 200)
    expected = agent.predict(observations)
    assert expected.shape == (200, 3) and expected.dtype == np.int64
    capsys.readouterr()
    signature = 'input "observation": float32 (n, 9); output "action": int64 (n, 3), per dimension in 0..2, 0..1, 0..3'
    for format in FORMATS:
        output = tmp_path / f'policy.{format}'
        assert main(['export', '--run', str(run), '--format', format, '--output', str(output)]) == 0
        assert signature in capsys.readouterr().out
        actions = run_exported(output, format, observations)
        assert actions.dtype == np.int64, format
        np.testing.assert_array_equal(actions, expected, err_msg=format)


@pytest.mark.parametrize('name', ['a2c', 'trpo'])
def test_a_multi_binary_policy_exports_as_predict_acts(tmp_path, name):
    agent = xagents.agents[name].from_env(SWITCHES, normalize_obs=True, seed=0, quiet=True)
    observations = env_observations(agent, 500)
    agent.obs_normalizer.stats.update(observations * 3.0 + 0.5)  # statistics of their own
    expected = agent.predict(observations)
    assert expected.shape == (500, 4) and expected.dtype == np.int8
    inputs = agent.normalize_observations(observations)
    logits = np.abs(agent.policy_distribution(tf.constant(inputs)).logits.numpy())
    ties = (logits < 1e-4 * logits.max()).any(1)  # a bit another runtime's rounding may set either way
    assert ties.mean() < 0.01
    for format in FORMATS:
        actions = run_exported(export(agent, tmp_path / f'policy.{format}', format), format, observations)
        assert actions.shape == (500, 4) and actions.dtype == np.int64, format
        np.testing.assert_array_equal(actions[~ties], expected[~ties], err_msg=format)


# ------------------------------------------------------------------ refusals
@pytest.mark.parametrize(
    'name, env, space',
    [
        ('dqn', DIALS, 'MultiDiscrete([3 2 4])'),
        ('acer', SWITCHES, 'MultiBinary(4)'),
        ('ddpg', DIALS, 'MultiDiscrete([3 2 4])'),
        ('td3', SWITCHES, 'MultiBinary(4)'),
        ('sac', DIALS, 'MultiDiscrete([3 2 4])'),
    ],
)
def test_other_agents_refuse_multi_actions_in_one_line_before_any_file(tmp_path, capsys, name, env, space):
    kind = space.split('(')[0]
    message = f'{env.split(":")[1]} has {space}; {kind} actions are taken by PPO, A2C and TRPO'
    run = tmp_path / 'run'
    with pytest.raises(SystemExit) as exit_info:
        main(['train', name, '--env', env, '--max-steps', '100', '--output-dir', str(run)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f'xagents: error: {name.upper()} needs a ') and message in err
    assert len(err.strip().splitlines()) == 1
    assert not run.exists()
    with pytest.raises(ValueError, match=re.escape(message)):
        xagents.agents[name].from_env(env, output_dir=run, quiet=True)
    assert not run.exists()
