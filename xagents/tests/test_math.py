import numpy as np
import pytest
import tensorflow as tf

from xagents.utils.distributions import Categorical, DiagGaussian
from xagents.utils.rl_math import discounted_returns, generalized_advantages, q_targets


def naive_gae(rewards, values, dones, last_values, gamma, lam):
    steps, envs = rewards.shape
    advantages = np.zeros((steps, envs))
    for env in range(envs):
        for t in range(steps):
            total, weight = 0.0, 1.0
            for k in range(t, steps):
                next_value = last_values[env] if k == steps - 1 else values[k + 1, env]
                delta = rewards[k, env] + gamma * next_value * (1 - dones[k, env]) - values[k, env]
                total += weight * delta
                if dones[k, env]:
                    break
                weight *= gamma * lam
            advantages[t, env] = total
    return advantages


def naive_returns(rewards, dones, last_values, gamma):
    steps, envs = rewards.shape
    returns = np.zeros((steps, envs))
    for env in range(envs):
        for t in range(steps):
            total, discount, bootstrap = 0.0, 1.0, True
            for k in range(t, steps):
                total += discount * rewards[k, env]
                discount *= gamma
                if dones[k, env]:
                    bootstrap = False
                    break
            returns[t, env] = total + (discount * last_values[env] if bootstrap else 0.0)
    return returns


@pytest.fixture
def rollout():
    rng = np.random.default_rng(0)
    steps, envs = 7, 3
    return (
        rng.normal(size=(steps, envs)).astype(np.float32),
        rng.normal(size=(steps, envs)).astype(np.float32),
        (rng.random((steps, envs)) < 0.25).astype(np.float32),
        rng.normal(size=envs).astype(np.float32),
    )


def test_gae_matches_naive_loop(rollout):
    rewards, values, dones, last_values = rollout
    expected = naive_gae(rewards, values, dones, last_values, 0.97, 0.9)
    np.testing.assert_allclose(
        generalized_advantages(rewards, values, dones, last_values, 0.97, 0.9), expected, rtol=1e-5, atol=1e-5
    )


def test_gae_with_lambda_one_is_return_minus_value(rollout):
    rewards, values, dones, last_values = rollout
    advantages = generalized_advantages(rewards, values, dones, last_values, 0.9, 1.0)
    np.testing.assert_allclose(
        advantages + values, naive_returns(rewards, dones, last_values, 0.9), rtol=1e-5, atol=1e-5
    )


def test_discounted_returns_match_naive_loop(rollout):
    rewards, _, dones, last_values = rollout
    np.testing.assert_allclose(
        discounted_returns(rewards, dones, last_values, 0.95),
        naive_returns(rewards, dones, last_values, 0.95),
        rtol=1e-5,
        atol=1e-5,
    )


def test_discounted_returns_hand_computed():
    rewards = np.array([[1.0], [2.0], [3.0]], np.float32)
    dones = np.array([[0.0], [1.0], [0.0]], np.float32)
    returns = discounted_returns(rewards, dones, np.array([10.0], np.float32), 0.5)
    # step 2: 3 + 0.5 * 10 = 8; step 1 ends the episode: 2; step 0: 1 + 0.5 * 2 = 2
    np.testing.assert_allclose(returns[:, 0], [2.0, 2.0, 8.0])


def test_dqn_targets_hand_computed():
    rewards = tf.constant([1.0, 0.0, -1.0])
    terminals = tf.constant([False, True, False])
    next_target_q = tf.constant([[1.0, 3.0], [5.0, 2.0], [0.5, -2.0]])
    targets = q_targets(rewards, terminals, next_target_q, 0.9)
    # max of target q: 3, (terminal), 0.5
    np.testing.assert_allclose(targets.numpy(), [1.0 + 0.9 * 3.0, 0.0, -1.0 + 0.9 * 0.5])


def test_double_dqn_targets_use_online_argmax():
    rewards = tf.constant([1.0, 2.0])
    terminals = tf.constant([False, False])
    next_target_q = tf.constant([[1.0, 3.0], [4.0, 2.0]])
    next_online_q = tf.constant([[9.0, 0.0], [0.0, 9.0]])  # online picks action 0, then 1
    targets = q_targets(rewards, terminals, next_target_q, 0.5, next_online_q)
    np.testing.assert_allclose(targets.numpy(), [1.0 + 0.5 * 1.0, 2.0 + 0.5 * 2.0])


def test_categorical_log_prob_entropy_kl():
    logits = tf.constant([[0.0, np.log(3.0)]])
    dist = Categorical(logits)
    np.testing.assert_allclose(dist.log_prob(tf.constant([1])).numpy(), [np.log(0.75)], rtol=1e-6)
    np.testing.assert_allclose(dist.entropy().numpy(), [-(0.25 * np.log(0.25) + 0.75 * np.log(0.75))], rtol=1e-6)
    other = Categorical(tf.constant([[0.0, 0.0]]))
    np.testing.assert_allclose(dist.kl(other).numpy(), [0.25 * np.log(0.5) + 0.75 * np.log(1.5)], rtol=1e-6)


def test_categorical_sampling_frequencies():
    dist = Categorical(tf.math.log(tf.constant([[0.2, 0.5, 0.3]] * 20000)))
    samples = dist.sample(tf.random.Generator.from_seed(0)).numpy()
    np.testing.assert_allclose(np.bincount(samples, minlength=3) / len(samples), [0.2, 0.5, 0.3], atol=0.015)


def test_gaussian_log_prob_entropy_kl():
    dist = DiagGaussian(tf.constant([[0.0, 1.0]]), tf.math.log(tf.constant([[1.0, 2.0]])))
    x = np.array([[0.5, 0.0]])
    expected = sum(
        -0.5 * ((x[0, i] - m) / s) ** 2 - np.log(s) - 0.5 * np.log(2 * np.pi)
        for i, (m, s) in enumerate([(0, 1), (1, 2)])
    )
    np.testing.assert_allclose(dist.log_prob(tf.constant(x, tf.float32)).numpy(), [expected], rtol=1e-5)
    np.testing.assert_allclose(dist.entropy().numpy(), [np.log(2) + np.log(2 * np.pi * np.e)], rtol=1e-5)
    other = DiagGaussian(tf.constant([[1.0, 1.0]]), tf.constant([[0.0, 0.0]]))
    kl = 0.5 * (1 + 1 - 1) + (0 - np.log(2) + 0.5 * (4 + 0 - 1))
    np.testing.assert_allclose(dist.kl(other).numpy(), [kl], rtol=1e-5)
