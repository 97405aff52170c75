import numpy as np
import pytest
import tensorflow as tf

from xagents.acer.agent import truncated_importance_objective, trust_region_gradient
from xagents.nets.distributions import Categorical, DiagGaussian
from xagents.rl_math import (
    assign_flat,
    conjugate_gradient,
    flat_concat,
    generalized_advantages,
    line_search,
    polyak_update,
    q_targets,
    retrace_targets,
    smoothed_target_actions,
)


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


def test_discounted_returns_hand_computed():
    # The n-step returns A2C and PPO with lam=1 train on: GAE with lambda 1 plus the values (here 0).
    rewards = np.array([[1.0], [2.0], [3.0]], np.float32)
    dones = np.array([[0.0], [1.0], [0.0]], np.float32)
    values = np.zeros_like(rewards)
    returns = generalized_advantages(rewards, values, dones, np.array([10.0], np.float32), 0.5, 1.0) + values
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


def naive_retrace(rewards, dones, q_taken, values, rho_bar, bootstrap, gamma):
    steps, envs = rewards.shape
    targets = np.zeros((steps, envs))
    for env in range(envs):
        for t in range(steps):
            # Expand Q^ret_t forwards: r_t + gamma * (V_{t+1} + rho_{t+1} * (Q^ret_{t+1} - Q_{t+1})) ...
            total, discount = 0.0, 1.0
            for k in range(t, steps):
                total += discount * rewards[k, env]
                if dones[k, env]:
                    break
                if k == steps - 1:
                    total += discount * gamma * bootstrap[env]
                    break
                total += discount * gamma * (values[k + 1, env] - rho_bar[k + 1, env] * q_taken[k + 1, env])
                discount *= gamma * rho_bar[k + 1, env]
            targets[t, env] = total
    return targets


def test_retrace_hand_computed():
    def retrace(dones):
        return retrace_targets(
            np.array([[1.0], [2.0]], np.float32),
            np.array(dones, np.float32)[:, None],
            np.array([[0.5], [1.5]], np.float32),
            np.array([[0.4], [1.0]], np.float32),
            np.array([[0.3], [0.6]], np.float32),
            np.array([3.0], np.float32),
            0.9,
        ).numpy()[:, 0]

    # Q1 = 2 + 0.9 * 3 = 4.7; carried: 0.6 * (4.7 - 1.5) + 1.0 = 2.92; Q0 = 1 + 0.9 * 2.92.
    np.testing.assert_allclose(retrace([0, 0]), [3.628, 4.7], rtol=1e-6)
    np.testing.assert_allclose(retrace([1, 0]), [1.0, 4.7], rtol=1e-6)
    # Episode ends at step 1: Q1 = 2; Q0 = 1 + 0.9 * (0.6 * (2 - 1.5) + 1.0).
    np.testing.assert_allclose(retrace([0, 1]), [2.17, 2.0], rtol=1e-6)


def test_retrace_matches_naive_expansion(rollout):
    rewards, values, dones, bootstrap = rollout
    rng = np.random.default_rng(1)
    q_taken = rng.normal(size=rewards.shape).astype(np.float32)
    rho_bar = np.minimum(1.0, rng.exponential(size=rewards.shape)).astype(np.float32)
    expected = naive_retrace(rewards, dones, q_taken, values, rho_bar, bootstrap, 0.95)
    actual = retrace_targets(rewards, dones, q_taken, values, rho_bar, bootstrap, 0.95).numpy()
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5)


def test_truncated_importance_objective_hand_computed():
    # rho = [0.5/0.9, 5]; V = 2; with c = 1 the taken action keeps rho = 0.556 and only
    # action 1 gets the bias correction, weighted 1 - 1/5 = 0.8.
    objective = truncated_importance_objective(
        tf.constant([[0.5, 0.5]]),
        tf.constant([[0.9, 0.1]]),
        tf.constant([0]),
        tf.constant([[1.0, 3.0]]),
        tf.constant([4.0]),
        1.0,
    )
    expected = (0.5 / 0.9) * np.log(0.5) * 2.0 + 0.8 * 0.5 * np.log(0.5) * 1.0
    np.testing.assert_allclose(objective.numpy(), [expected], rtol=1e-4)


def test_truncated_importance_objective_matches_naive_loop():
    rng = np.random.default_rng(2)
    batch, actions, c = 16, 4, 2.0
    probs = rng.dirichlet(np.ones(actions), batch).astype(np.float32)
    behaviour = rng.dirichlet(np.ones(actions), batch).astype(np.float32)
    taken = rng.integers(0, actions, batch)
    q_values = rng.normal(size=(batch, actions)).astype(np.float32)
    q_retrace = rng.normal(size=batch).astype(np.float32)
    expected = []
    for p, mu, a, q, target in zip(probs, behaviour, taken, q_values, q_retrace):
        value = float(np.dot(p, q))
        rho = p / mu
        total = min(c, rho[a]) * np.log(p[a]) * (target - value)
        for b in range(actions):
            total += max(0.0, 1 - c / rho[b]) * p[b] * np.log(p[b]) * (q[b] - value)
        expected.append(total)
    actual = truncated_importance_objective(probs, behaviour, taken, q_values, q_retrace, c).numpy()
    np.testing.assert_allclose(actual, expected, rtol=1e-3, atol=1e-5)


def test_trust_region_gradient_bounds_the_kl_direction():
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(3), 64).astype(np.float32)
    average = rng.dirichlet(np.ones(3), 64).astype(np.float32)
    gradient = rng.normal(scale=5.0, size=(64, 3)).astype(np.float32)
    delta = 1.0
    projected = trust_region_gradient(gradient, probs, average, delta).numpy()
    k = -average / (probs + 1e-6)
    before, after = np.sum(k * gradient, -1), np.sum(k * projected, -1)
    assert (before > delta).any() and (before <= delta).any()
    np.testing.assert_array_less(after, delta + 1e-3)
    inside = before <= delta
    np.testing.assert_allclose(projected[inside], gradient[inside])


def test_conjugate_gradient_solves_spd_system():
    rng = np.random.default_rng(4)
    basis = rng.normal(size=(8, 8))
    matrix = basis @ basis.T + 8 * np.eye(8)
    b = rng.normal(size=8)
    solution = conjugate_gradient(lambda v: tf.linalg.matvec(tf.constant(matrix), v), tf.constant(b), 8, 1e-20)
    np.testing.assert_allclose(solution.numpy(), np.linalg.solve(matrix, b), rtol=1e-6, atol=1e-9)


def test_conjugate_gradient_stops_at_tolerance():
    calls = []

    def matvec(vector):
        calls.append(1)
        return 2.0 * vector

    solution = conjugate_gradient(matvec, tf.constant([1.0, 2.0], tf.float64), 10, 1e-10)
    # A = 2I is solved in one step; the residual is then zero, so no second product.
    np.testing.assert_allclose(solution.numpy(), [0.5, 1.0])
    assert len(calls) == 1


def test_line_search_never_accepts_a_step_beyond_max_kl():
    rng = np.random.default_rng(5)
    for _ in range(200):
        curvature, slope = rng.exponential(0.05), rng.normal()
        trials = []

        def evaluate(fraction, curvature=curvature, slope=slope, trials=trials):
            kl = curvature * fraction**2
            trials.append((fraction, kl))
            return slope * fraction - 0.1 * fraction**2, kl

        fraction = line_search(evaluate, 0.01, 10)
        if fraction:
            assert curvature * fraction**2 <= 0.01 and slope * fraction - 0.1 * fraction**2 > 0
            # The first acceptable fraction is taken: every larger one broke a condition.
            assert all(kl > 0.01 or slope * f - 0.1 * f**2 <= 0 for f, kl in trials[:-1])
        else:
            assert len(trials) == 10


def test_line_search_halves_until_inside_the_bound():
    assert line_search(lambda fraction: (fraction, 0.04 * fraction**2), 0.01, 10) == 0.5
    assert line_search(lambda fraction: (-1.0, 0.0), 0.01, 3) == 0.0


def test_flat_parameters_round_trip():
    variables = [tf.Variable(np.zeros((2, 3))), tf.Variable(np.zeros(4))]
    flat = tf.constant(np.arange(10, dtype=np.float64))
    assign_flat(variables, flat)
    np.testing.assert_array_equal(flat_concat(variables).numpy(), np.arange(10))
    np.testing.assert_array_equal(variables[0].numpy(), np.arange(6).reshape(2, 3))


def test_polyak_update_moves_targets_a_fraction_tau():
    target, source = tf.Variable([1.0, -2.0]), tf.Variable([3.0, 2.0])
    polyak_update([target], [source], 0.25)
    np.testing.assert_allclose(target.numpy(), [1.5, -1.0])
    polyak_update([target], [source], 1.0)
    np.testing.assert_allclose(target.numpy(), [3.0, 2.0])


def test_td3_target_smoothing_clips_noise_then_actions():
    actions = tf.constant([[0.0, 0.9, -0.8]])
    noise = tf.constant([[0.7, 0.3, -0.1]])
    # noise clipped to 0.5 -> [0.5, 0.3, -0.1]; then actions kept in [-1, 1]
    np.testing.assert_allclose(smoothed_target_actions(actions, noise, 0.5).numpy(), [[0.5, 1.0, -0.9]], rtol=1e-6)


def test_q_targets_take_per_sample_n_step_discounts():
    rewards, terminals = tf.constant([1.0, 2.0]), tf.constant([False, False])
    next_target_q = tf.constant([[1.0, 3.0], [4.0, 2.0]])
    targets = q_targets(rewards, terminals, next_target_q, tf.constant([0.9**3, 0.9]))
    np.testing.assert_allclose(targets.numpy(), [1.0 + 0.729 * 3.0, 2.0 + 0.9 * 4.0], rtol=1e-6)
