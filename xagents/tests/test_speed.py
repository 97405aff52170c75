"""The fast paths give the same numbers as the plain ones: NumPy acting, XLA updates, batched DQN steps."""

import numpy as np
import pytest
import tensorflow as tf

from xagents import DQN, PPO, SAC, TD3, TRPO, agents
from xagents.nets.distributions import Categorical, DiagGaussian, host_act
from xagents.nets.host import HostModel

CASES = [
    ('ppo', 'CartPole-v1'),
    ('ppo', 'Pendulum-v1'),
    ('a2c', 'CartPole-v1'),
    ('trpo', 'Pendulum-v1'),
    ('acer', 'CartPole-v1'),
    ('dqn', 'CartPole-v1'),
    ('td3', 'Pendulum-v1'),
    ('sac', 'Pendulum-v1'),
]


def observations(agent):
    return agent.envs.reset(seed=0)[0].astype(np.float32)


@pytest.mark.parametrize('name,env', CASES)
def test_host_models_give_the_keras_outputs(name, env):
    agent = agents[name].from_env(env, n_envs=3, seed=0, quiet=True)
    inputs = observations(agent)
    for role, model in agent.models.items():
        if model.inputs[0].shape[-1] != inputs.shape[-1]:
            continue  # a critic of observations and actions
        host = agent.host(role)
        assert host is not None, role
        expected = model(inputs)
        expected = expected if isinstance(expected, (list, tuple)) else [expected]
        outputs = host(inputs)
        assert len(outputs) == len(expected)
        for output, value in zip(outputs, expected):
            np.testing.assert_allclose(output, value.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('name,env', [case for case in CASES if case[0] not in ('dqn', 'td3', 'sac')])
def test_host_acting_matches_the_compiled_policy(name, env):
    agent = agents[name].from_env(env, n_envs=3, seed=0, quiet=True)
    inputs = observations(agent)
    host = agent.act(inputs, deterministic=True)
    agent.config.host_inference = False
    agent.hosts.clear()
    compiled = agent.act(inputs, deterministic=True)
    for mine, theirs in zip(host, compiled):
        assert mine.dtype == theirs.dtype
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('agent_class,env', [(DQN, 'CartPole-v1'), (TD3, 'Pendulum-v1'), (SAC, 'Pendulum-v1')])
def test_host_greedy_actions_match(agent_class, env):
    agent = agent_class.from_env(env, n_envs=3, seed=0, quiet=True, **({'dueling': True} if agent_class is DQN else {}))
    inputs = observations(agent)
    host = agent.policy(inputs, deterministic=True)
    agent.config.host_inference = False
    agent.hosts.clear()
    np.testing.assert_allclose(host, agent.policy(inputs, deterministic=True), rtol=1e-5, atol=1e-6)


def test_host_log_probs_are_those_of_the_distributions():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(5, 4)).astype(np.float32)
    actions, log_probs = host_act(Categorical, [logits], rng, deterministic=False)
    np.testing.assert_allclose(log_probs, Categorical(logits).log_prob(actions).numpy(), rtol=1e-5)
    assert host_act(Categorical, [logits], rng, deterministic=True)[0].tolist() == logits.argmax(1).tolist()
    mean, log_std = rng.normal(size=(5, 2)).astype(np.float32), np.full((5, 2), -0.5, np.float32)
    actions, log_probs = host_act(DiagGaussian, [mean, log_std], rng, deterministic=False)
    np.testing.assert_allclose(log_probs, DiagGaussian(mean, log_std).log_prob(actions).numpy(), rtol=1e-5)
    np.testing.assert_array_equal(host_act(DiagGaussian, [mean, log_std], rng, deterministic=True)[0], mean)


def test_categorical_host_sampling_follows_the_probabilities():
    rng = np.random.default_rng(1)
    logits = np.log(np.array([[0.1, 0.2, 0.7]] * 20_000, np.float32))
    actions, _ = host_act(Categorical, [logits], rng, deterministic=False)
    np.testing.assert_allclose(np.bincount(actions, minlength=3) / len(actions), [0.1, 0.2, 0.7], atol=0.015)


def test_host_models_read_new_weights_after_an_update():
    agent = PPO.from_env('CartPole-v1', n_envs=2, n_steps=8, mini_batches=1, seed=0, quiet=True)
    agent.reset_envs()
    inputs = observations(agent)
    before = agent.host('model')(inputs)[0].copy()
    agent.train_iteration()
    after = agent.host('model')(inputs)[0]
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, agent.model(inputs)[0].numpy(), rtol=1e-5, atol=1e-6)


def test_a_convolutional_model_stays_in_tensorflow_without_xla():
    agent = PPO.from_env(
        'PongNoFrameskip-v4', preprocess=True, n_envs=1, n_steps=4, mini_batches=1, quiet=True, jit_compile=True
    )
    assert HostModel.of(agent.model) is None
    assert not agent._train.function._jit_compile
    assert PPO.from_env('CartPole-v1', quiet=True, jit_compile=True)._train.function._jit_compile
    assert agent.host('model') is None
    assert agent.policy(agent.envs.reset(seed=0)[0], deterministic=False).shape == (1,)


def test_atari_frames_come_channels_last_and_contiguous():
    """The frame stacks the models take, exactly ALE's, in one contiguous array (no strided copy per call)."""
    from xagents.envs.recipe import create_envs

    envs = create_envs('PongNoFrameskip-v4', 2, preprocess=True)
    observations = envs.reset(seed=0)[0]
    raw = envs.native.reset(seed=0)[0]  # ale-py's vector env under the pipeline: (n, stack, h, w)
    np.testing.assert_array_equal(observations, np.moveaxis(raw, 1, -1))
    assert observations.flags['C_CONTIGUOUS']
    for _ in range(3):
        observations = envs.step(np.zeros(2, np.int64))[0]
        assert observations.shape == (2, 84, 84, 4) and observations.flags['C_CONTIGUOUS']
    envs.close()


def test_trpo_with_host_inference_off_acts_in_tensorflow():
    agent = TRPO.from_env('CartPole-v1', n_envs=2, seed=0, quiet=True, host_inference=False)
    assert agent.host('actor') is None
    assert agent.policy(observations(agent), deterministic=False).shape == (2,)


def test_an_xla_ppo_update_gives_the_plain_update():
    weights = {}
    for jit in (False, True):
        agent = PPO.from_env(
            'CartPole-v1', n_envs=2, n_steps=16, mini_batches=1, ppo_epochs=1, seed=0, quiet=True, jit_compile=jit
        )
        agent.reset_envs()
        agent.train_iteration()
        weights[jit] = agent.model.get_weights()
    for plain, xla in zip(weights[False], weights[True]):
        np.testing.assert_allclose(plain, xla, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize('jit', [False, True])
def test_ppo_epochs_visit_every_transition_once_each(jit):
    """The compiled update (XLA and plain) splits each epoch's shuffle into minibatches."""
    agent = PPO.from_env(
        'CartPole-v1', n_envs=2, n_steps=8, mini_batches=4, ppo_epochs=3, seed=0, quiet=True, jit_compile=jit
    )
    visits = tf.Variable(tf.zeros(16))

    def count(observations, *_):
        indices = tf.cast(observations[:, :1], tf.int32)  # each transition's index is its first feature
        visits.scatter_nd_add(indices, tf.ones(tf.shape(indices)[0]))
        loss = 0.0 * tf.add_n([tf.reduce_sum(variable) for variable in agent.model.trainable_variables])
        return loss, {name: loss for name in ('loss', 'policy_loss', 'value_loss', 'entropy')}

    agent.compute_losses = count
    observations = tf.tile(tf.range(16, dtype=tf.float32)[:, None], [1, 4])
    zeros = tf.zeros(16)
    agent._train(observations, tf.zeros(16, tf.int64), zeros, zeros, zeros, zeros)
    np.testing.assert_array_equal(visits.numpy(), np.full(16, 3.0))


def test_batched_dqn_steps_with_xla_give_the_plain_steps():
    results = {}
    for jit in (False, True):
        agent = DQN.from_env('CartPole-v1', n_envs=2, seed=0, quiet=True, jit_compile=jit, buffer_batch_size=8)
        agent.reset_envs()
        for _ in range(20):
            agent.collect(agent.random_actions())
        batches = agent.sample_batches(3)
        losses, _ = agent._train_batches(batches, agent.observations)
        results[jit] = (float(losses['loss']), agent.model.get_weights())
    assert results[False][0] == pytest.approx(results[True][0], rel=1e-4)
    for plain, xla in zip(results[False][1], results[True][1]):
        np.testing.assert_allclose(plain, xla, rtol=1e-4, atol=1e-6)


def test_td3_trains_with_xla(tmp_path):
    agent = TD3.from_env(
        'Pendulum-v1',
        seed=0,
        quiet=True,
        jit_compile=True,
        buffer_initial_size=64,
        train_frequency=2,
        gradient_steps=2,
        output_dir=str(tmp_path / 'run'),
    )
    agent.fit(max_steps=70)
    assert np.isfinite(agent.losses['critic_loss'])


def test_concrete_calls_trace_once_per_signature_and_give_the_functions_results():
    from xagents.nets.compiled import ConcreteCalls

    def step(batch, scale):
        return {'sum': tf.reduce_sum(batch['x']) * scale, 'count': tf.shape(batch['y'])[0]}

    calls = ConcreteCalls(step)
    out = calls({'x': np.ones((3, 2), np.float32), 'y': np.zeros(5)}, 2.0)
    assert float(out['sum']) == 12.0 and int(out['count']) == 5
    calls({'x': tf.ones((3, 2)), 'y': np.zeros(5)}, np.float32(3.0))  # a tensor or an array: one signature
    assert len(calls.concrete) == 1
    out = calls({'x': np.ones((4, 2), np.float32), 'y': np.zeros(5)}, 2.0)  # a new shape: a new trace
    assert len(calls.concrete) == 2 and float(out['sum']) == 16.0
    with tf.GradientTape():  # a tape that could record: the concrete function's own call, the same results
        out = calls({'x': np.ones((4, 2), np.float32), 'y': np.zeros(5)}, 2.0)
    assert len(calls.concrete) == 2 and float(out['sum']) == 16.0 and int(out['count']) == 5
