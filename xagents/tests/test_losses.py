"""Every agent's losses against numbers worked out here in NumPy, in the style of TF-Agents' dqn_agent_test.

Each test builds an agent on tiny dense models from ``.cfg`` files written to ``tmp_path``,
sets every weight to fixed values (no random initialization counts), feeds a handful of
fixed transitions and compares the losses the agent reports with a NumPy recomputation:
the network outputs by ``x @ W + b`` and the activation, the losses by the papers'
formulas, loops written out where the agent vectorizes. Nothing expected comes from the
code under test. Gradient steps return the losses of the weights before the step, so the
expected numbers use the weights the test set.
"""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from xagents import A2C, ACER, DDPG, DQN, PPO, SAC, TD3, TRPO

EPS = 1e-6  # ACER's guard in ratios and logs


def close(actual, expected, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(np.asarray(actual, np.float64), expected, rtol=rtol, atol=atol)


# ---------------------------------------------------------------- models with fixed weights
def model_file(folder, name, *sections):
    """A ``.cfg`` with one ``[dense-N]`` section per dict of options."""
    text = ''.join(
        f'[dense-{index}]\n' + ''.join(f'{key}={value}\n' for key, value in options.items()) + '\n'
        for index, options in enumerate(sections)
    )
    path = folder / f'{name}.cfg'
    path.write_text(text)
    return str(path)


def hidden(units, activation='tanh', **options):
    return dict(units=units, activation=activation, **options)


OUTPUT = dict(output=1)


def fixed(shape, scale, shift):
    """Deterministic, varied values in [-scale, scale]: a sine of an arange."""
    size = int(np.prod(shape))
    return (scale * np.sin(1.3 * np.arange(size) + shift)).reshape(shape).astype(np.float32)


def params(shift, **kernels):
    """Kernel and bias per layer name, from kernel shapes; ``shift`` makes one network differ from another."""
    return {
        name: (fixed(shape, 0.8, shift + 2 * index), fixed(shape[1:], 0.3, shift + 2 * index + 1))
        for index, (name, shape) in enumerate(kernels.items())
    }


def load(model, weights, log_std=None):
    """Set every weight of ``model``: each Dense layer found by its kernel's shape (unique in these models)."""
    by_shape = {kernel.shape: (kernel, bias) for kernel, bias in weights.values()}
    assert len(by_shape) == len(weights), 'kernel shapes must tell the layers apart'
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert sorted(tuple(layer.kernel.shape) for layer in dense) == sorted(by_shape)
    for layer in dense:
        layer.set_weights(list(by_shape[tuple(layer.kernel.shape)]))
    others = [layer for layer in model.layers if layer.weights and not isinstance(layer, keras.layers.Dense)]
    assert len(others) == (log_std is not None), [layer.name for layer in others]
    if log_std is not None:
        others[0].set_weights([np.asarray(log_std, np.float32)])


def dense_weights(model):
    return {
        tuple(layer.kernel.shape): layer.get_weights()
        for layer in model.layers
        if isinstance(layer, keras.layers.Dense)
    }


def holds(model, weights):
    """Whether ``model``'s Dense layers hold exactly ``weights``."""
    current = dense_weights(model)
    return all(
        np.array_equal(current[kernel.shape][0], kernel) and np.array_equal(current[kernel.shape][1], bias)
        for kernel, bias in weights.values()
    )


def moved_towards(model, before, source, keep):
    """Check that each Dense weight of ``model`` is ``keep * before + (1 - keep) * source`` (polyak, EMA)."""
    after, current = dense_weights(model), dense_weights(source)
    assert sorted(after) == sorted(before) == sorted(current)
    for shape, weights in after.items():
        for new, old, now in zip(weights, before[shape], current[shape]):
            close(new, keep * old.astype(np.float64) + (1 - keep) * now.astype(np.float64))


def linear(x, weights, name):
    kernel, bias = weights[name]
    return np.asarray(x, np.float64) @ kernel.astype(np.float64) + bias.astype(np.float64)


def relu(x):
    return np.maximum(x, 0.0)


def log_softmax(logits):
    shifted = logits - logits.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def gaussian_log_prob(actions, mean, log_std):
    z = (actions - mean) / np.exp(log_std)
    return (-0.5 * z**2 - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)


def gaussian_entropy(log_std, batch):
    return np.full(batch, (log_std + 0.5 * math.log(2 * math.pi * math.e)).sum())


@pytest.fixture
def make(tmp_path):
    """``make(agent_class, env_id, model_files, **hyperparameters)``; closes the envs afterwards."""
    agents = []

    def build(agent_class, env_id, model_files, **hyperparameters):
        agent = agent_class.from_env(
            env_id,
            n_envs=2,
            seed=0,
            quiet=True,
            jit_compile=False,
            output_dir=str(tmp_path / f'run-{len(agents)}'),
            model_files=model_files,
            **hyperparameters,
        )
        agents.append(agent)
        return agent

    yield build
    for agent in agents:
        agent.envs.close()


def observations(batch, size, shift=0.0):
    return fixed((batch, size), 1.0, shift)


# ------------------------------------------------------------------------------- PPO
def actor_critic_setup(tmp_path, env_id):
    """Model files and weights: CartPole (4 obs, 2 actions) with a shared trunk, Pendulum (3 obs) with two towers."""
    if env_id == 'CartPole-v1':
        files = [model_file(tmp_path, 'shared', hidden(3, common=1), OUTPUT, OUTPUT)]
        weights = params(0.4, trunk=(4, 3), policy=(3, 2), value=(3, 1))

        def forward(x):
            trunk = np.tanh(linear(x, weights, 'trunk'))
            return linear(trunk, weights, 'policy'), linear(trunk, weights, 'value')[:, 0]

        return files, weights, None, forward
    files = [model_file(tmp_path, 'towers', hidden(3), OUTPUT, hidden(4), OUTPUT)]
    weights = params(1.1, policy_hidden=(3, 3), policy=(3, 1), value_hidden=(3, 4), value=(4, 1))
    log_std = np.array([-0.4], np.float32)

    def forward(x):
        mean = linear(np.tanh(linear(x, weights, 'policy_hidden')), weights, 'policy')
        return mean, linear(np.tanh(linear(x, weights, 'value_hidden')), weights, 'value')[:, 0]

    return files, weights, log_std, forward


def log_probs_and_entropy(policy_outputs, actions, log_std):
    """Log-probabilities of ``actions`` and entropies: categorical over logits, or Gaussian with ``log_std``."""
    if log_std is None:
        log_probs = log_softmax(policy_outputs)
        taken = np.array([log_probs[i, action] for i, action in enumerate(actions)])
        return taken, -(np.exp(log_probs) * log_probs).sum(-1)
    log_std = log_std.astype(np.float64)
    return gaussian_log_prob(actions, policy_outputs, log_std), gaussian_entropy(log_std, len(actions))


def discrete_or_continuous_actions(env_id, batch):
    if env_id == 'CartPole-v1':
        return np.array([0, 1, 1, 0, 1][:batch], np.int32)
    return fixed((batch, 1), 0.9, 2.0)


@pytest.mark.parametrize('value_clip', [None, 0.1], ids=['value-unclipped', 'value-clipped'])
@pytest.mark.parametrize('env_id', ['CartPole-v1', 'Pendulum-v1'], ids=['discrete', 'continuous'])
def test_ppo_losses(tmp_path, make, env_id, value_clip):
    files, weights, log_std, forward = actor_critic_setup(tmp_path, env_id)
    config = dict(clip_range=0.2, value_clip=value_clip, entropy_coef=0.05, value_loss_coef=0.7)
    agent = make(PPO, env_id, files, **config)
    load(agent.models['model'], weights, log_std)
    obs = observations(5, 4 if env_id == 'CartPole-v1' else 3)
    actions = discrete_or_continuous_actions(env_id, 5)
    policy_outputs, values = forward(obs)
    new_log_probs, entropies = log_probs_and_entropy(policy_outputs, actions, log_std)
    # Old log-probabilities chosen so that the ratios are exp(-shift): 1.49 with a positive advantage and 0.61
    # with a negative one (clipped to 1.2 and 0.8), 1.35 with a negative one (kept: the minimum), two inside.
    shifts = np.array([-0.4, 0.5, 0.02, -0.3, -0.05])
    old_log_probs = (new_log_probs + shifts).astype(np.float32)
    advantages = np.array([1.0, -0.5, 2.0, -1.5, 0.3], np.float32)
    returns = np.array([0.8, -0.3, 1.2, 0.1, -0.6], np.float32)
    old_values = (values + np.array([0.3, -0.05, 0.2, -0.4, 0.01])).astype(np.float32)

    normalized = (advantages - advantages.mean()) / (advantages.std() + 1e-8)  # population std, this minibatch
    surrogate, bounds_used = [], set()
    for new, old, advantage in zip(new_log_probs, old_log_probs, normalized):
        ratio = math.exp(new - old)
        clipped = min(max(ratio, 0.8), 1.2)
        surrogate.append(min(ratio * advantage, clipped * advantage))
        if clipped * advantage < ratio * advantage:
            bounds_used.add(clipped)
    assert bounds_used == {0.8, 1.2}  # the inputs reach both bounds of the clip
    policy_loss = -np.mean(surrogate)
    errors, clipped_errors_used = [], 0
    for value, old_value, target in zip(values, old_values, returns):
        error = (target - value) ** 2
        if value_clip is not None:
            clipped_value = old_value + min(max(value - old_value, -value_clip), value_clip)
            clipped_errors_used += (target - clipped_value) ** 2 > error
            error = max(error, (target - clipped_value) ** 2)
        errors.append(error)
    value_loss = 0.5 * np.mean(errors)
    entropy = entropies.mean()
    if value_clip is not None:
        assert 0 < clipped_errors_used < 5  # the clipped error counts for some samples, not all

    loss, metrics = agent.compute_losses(obs, actions, old_log_probs, advantages, returns, old_values)
    close(metrics['policy_loss'], policy_loss)
    close(metrics['value_loss'], value_loss)
    close(metrics['entropy'], entropy)
    close(metrics['loss'], policy_loss + 0.7 * value_loss - 0.05 * entropy)
    close(loss, metrics['loss'])


# ------------------------------------------------------------------------------- A2C
@pytest.mark.parametrize('env_id', ['CartPole-v1', 'Pendulum-v1'], ids=['discrete', 'continuous'])
def test_a2c_losses_of_one_train_step(tmp_path, make, env_id):
    files, weights, log_std, forward = actor_critic_setup(tmp_path, env_id)
    agent = make(A2C, env_id, files, entropy_coef=0.05, value_loss_coef=0.7)
    model = agent.models['model']
    load(model, weights, log_std)
    obs = observations(5, 4 if env_id == 'CartPole-v1' else 3, shift=0.7)
    actions = discrete_or_continuous_actions(env_id, 5)
    returns = np.array([1.5, -0.2, 0.4, 2.1, -1.0], np.float32)
    policy_outputs, values = forward(obs)
    log_probs, entropies = log_probs_and_entropy(policy_outputs, actions, log_std)
    policy_loss = -np.mean([log_prob * (ret - value) for log_prob, ret, value in zip(log_probs, returns, values)])
    value_loss = 0.5 * np.mean((returns - values) ** 2)
    entropy = entropies.mean()
    before = model.get_weights()

    losses = agent._train(tf.constant(obs), tf.constant(actions), tf.constant(returns))
    close(losses['policy_loss'], policy_loss)
    close(losses['value_loss'], value_loss)
    close(losses['entropy'], entropy)
    close(losses['loss'], policy_loss + 0.7 * value_loss - 0.05 * entropy)
    # The step was taken, after the losses were computed.
    assert any(not np.array_equal(old, new) for old, new in zip(before, model.get_weights()))


# ------------------------------------------------------------------------------- DQN
def huber(error, delta=1.0):
    error = abs(error)
    return 0.5 * error**2 if error <= delta else delta * (error - 0.5 * delta)


DQN_CASES = {
    'plain': dict(),
    'double': dict(double=True),
    'dueling': dict(dueling=True),
    'double-dueling-nstep-prioritized': dict(double=True, dueling=True, n_step=3, prioritized=True),
}


@pytest.mark.parametrize('case', list(DQN_CASES))
def test_dqn_gradient_step(tmp_path, make, case):
    options = DQN_CASES[case]
    dueling, double, weighted = options.get('dueling', False), options.get('double', False), 'prioritized' in options
    heads = 3 + dueling  # Acrobot: 6 observations, 3 actions; dueling adds the value unit
    files = [model_file(tmp_path, 'dqn', hidden(3), OUTPUT)]
    agent = make(DQN, 'Acrobot-v1', files, **options)
    online = params(0.3, hidden=(6, 3), out=(3, heads))
    target = params(2.9, hidden=(6, 3), out=(3, heads))
    load(agent.models['model'], online)
    load(agent.target_model, target)

    def q_values(weights, x):
        outputs = linear(np.tanh(linear(x, weights, 'hidden')), weights, 'out')
        if not dueling:
            return outputs
        value, advantage = outputs[:, :1], outputs[:, 1:]
        return value + advantage - advantage.mean(-1, keepdims=True)

    obs, next_obs = observations(5, 6, 0.2), observations(5, 6, 4.0)
    actions = np.array([0, 2, 1, 2, 0], np.int32)
    rewards = np.array([1.0, -0.5, 0.0, 2.5, 0.3], np.float32)
    terminals = np.array([False, False, True, False, False])
    gamma = 0.9
    discounts = np.array([gamma, gamma**2, gamma, gamma**3, gamma**2], np.float32)  # n-step sums of 1 to 3 rewards
    weights = np.array([0.2, 1.0, 0.5, 0.8, 0.35], np.float32) if weighted else None

    q, next_online, next_target = q_values(online, obs), q_values(online, next_obs), q_values(target, next_obs)
    targets, taken, losses = [], [], []
    for i in range(5):
        best = int(np.argmax(next_online[i])) if double else int(np.argmax(next_target[i]))
        bootstrap = 0.0 if terminals[i] else discounts[i] * next_target[i, best]
        targets.append(rewards[i] + bootstrap)
        taken.append(q[i, actions[i]])
        losses.append((1.0 if weights is None else weights[i]) * huber(targets[i] - taken[i]))
    td_errors = np.array(targets) - np.array(taken)
    # The inputs reach both branches of the Huber loss, and double DQN picks another action than plain DQN.
    assert (abs(td_errors) > 1).any() and (abs(td_errors) < 1).any()
    assert (next_online.argmax(-1) != next_target.argmax(-1)).any()

    arguments = dict(
        observations=obs,
        actions=actions,
        rewards=rewards,
        next_observations=next_obs,
        terminals=terminals,
        discounts=discounts,
    )
    if weighted:
        arguments['weights'] = weights
    result, errors = agent.gradient_step(**{name: tf.constant(value) for name, value in arguments.items()})
    close(result['loss'], np.mean(losses))
    close(result['q'], np.mean(taken))
    close(errors, td_errors)
    # The online network took the step; the target network is left alone.
    assert not holds(agent.models['model'], online) and holds(agent.target_model, target)


# -------------------------------------------------------------------------- TD3 / DDPG
def deterministic_setup(tmp_path, make, agent_class, **options):
    """Pendulum (3 obs, 1 action): actor 3-4-1 (relu, tanh), critics 4-3-1 (tanh) on [obs, action]."""
    files = [
        model_file(tmp_path, 'actor', hidden(4, 'relu'), dict(output=1, activation='tanh')),
        model_file(tmp_path, 'critic', hidden(3), OUTPUT),
    ]
    agent = make(agent_class, 'Pendulum-v1', files, **options)
    actor, target_actor = params(0.5, hidden=(3, 4), out=(4, 1)), params(3.3, hidden=(3, 4), out=(4, 1))
    # The target actor's larger output weights push its actions near the bounds, where the final clip acts.
    target_actor['out'] = (3 * target_actor['out'][0], target_actor['out'][1])
    critics = [params(1.7 + 0.9 * index, hidden=(4, 3), out=(3, 1)) for index in range(len(agent.critics))]
    targets = [params(6.1 + 1.3 * index, hidden=(4, 3), out=(3, 1)) for index in range(len(agent.critics))]
    load(agent.models['actor'], actor)
    load(agent.target_actor, target_actor)
    for model, weights in zip(agent.critics, critics):
        load(model, weights)
    for model, weights in zip(agent.target_critics, targets):
        load(model, weights)
    return agent, actor, target_actor, critics, targets


def actor_np(weights, x):
    return np.tanh(linear(relu(linear(x, weights, 'hidden')), weights, 'out'))


def critic_np(weights, x, actions):
    return linear(np.tanh(linear(np.concatenate([x, actions], -1), weights, 'hidden')), weights, 'out')[:, 0]


TD3_CASES = {
    'td3-no-noise': (TD3, dict(policy_noise_coef=0.0)),
    'td3-smoothing-noise': (TD3, dict(policy_noise_coef=0.5, noise_clip=0.3)),
    'ddpg': (DDPG, dict()),
}


@pytest.mark.parametrize('case', list(TD3_CASES))
def test_critic_step(tmp_path, make, case):
    agent_class, options = TD3_CASES[case]
    agent, _, target_actor, critics, targets = deterministic_setup(tmp_path, make, agent_class, **options)
    obs, next_obs = observations(4, 3, 0.1), observations(4, 3, 2.2)
    actions = fixed((4, 1), 0.9, 1.0)
    rewards = np.array([-1.0, 0.5, 2.0, -0.3], np.float32)
    terminals = np.array([False, True, False, False])
    discounts = np.array([0.99, 0.99, 0.9801, 0.99], np.float32)
    noise_coef = agent.config.policy_noise_coef
    if noise_coef:
        # The same draws as the agent's: a generator in the state of the agent's, before the step.
        twin = tf.random.Generator.from_state(agent.tf_rng.state.numpy(), agent.tf_rng.algorithm)
        noise = twin.normal([4, 1], stddev=noise_coef).numpy().astype(np.float64)
    else:
        noise = np.zeros((4, 1))
    clipped_noise = np.clip(noise, -agent.config.noise_clip, agent.config.noise_clip)
    target_actions = np.clip(actor_np(target_actor, next_obs) + clipped_noise, -1.0, 1.0)
    next_q = np.stack([critic_np(weights, next_obs, target_actions) for weights in targets])
    y = [rewards[i] + (0.0 if terminals[i] else discounts[i] * next_q[:, i].min()) for i in range(4)]
    losses = [np.mean((critic_np(weights, obs, actions) - y) ** 2) for weights in critics]
    if agent_class is TD3:
        # Each target critic gives the minimum for some sample that bootstraps.
        assert len(set(next_q.argmin(0)[~terminals])) == 2
    if noise_coef:
        assert (abs(noise) > agent.config.noise_clip).any()
        assert (abs(actor_np(target_actor, next_obs) + clipped_noise) > 1).any()

    loss = agent.critic_step(
        tf.constant(obs),
        tf.constant(actions),
        tf.constant(rewards),
        tf.constant(next_obs),
        tf.constant(terminals),
        tf.constant(discounts),
    )
    close(loss, np.mean(losses))


@pytest.mark.parametrize('agent_class', [TD3, DDPG], ids=['td3', 'ddpg'])
def test_actor_step(tmp_path, make, agent_class):
    tau = 0.3
    agent, actor, target_actor, critics, _ = deterministic_setup(tmp_path, make, agent_class, tau=tau)
    obs = observations(4, 3, 1.4)
    expected = -np.mean(critic_np(critics[0], obs, actor_np(actor, obs)))
    targets_before = [dense_weights(model) for model in [agent.target_actor, *agent.target_critics]]

    loss = agent.actor_step(tf.constant(obs))
    close(loss, expected)
    # Targets then move a fraction tau towards the networks (the actor after its step, the critics unchanged).
    assert not holds(agent.models['actor'], actor)
    assert all(holds(model, weights) for model, weights in zip(agent.critics, critics))
    sources = [agent.models['actor'], *agent.critics]
    for before, source, target in zip(targets_before, sources, [agent.target_actor, *agent.target_critics]):
        moved_towards(target, before, source, 1 - tau)


# -------------------------------------------------------------------------------- SAC
def sac_setup(tmp_path, make, **options):
    """Pendulum (3 obs, 1 action): actor 3-4-2 (relu; mean and log-std), critics 4-3-1 (tanh) on [obs, action]."""
    files = [
        model_file(tmp_path, 'actor', hidden(4, 'relu'), OUTPUT),
        model_file(tmp_path, 'critic', hidden(3), OUTPUT),
    ]
    agent = make(SAC, 'Pendulum-v1', files, **options)
    actor = params(0.5, hidden=(3, 4), out=(4, 2))
    critics = [params(1.7 + 0.9 * index, hidden=(4, 3), out=(3, 1)) for index in range(2)]
    targets = [params(6.1 + 1.3 * index, hidden=(4, 3), out=(3, 1)) for index in range(2)]
    load(agent.models['actor'], actor)
    for model, weights in zip(agent.critics, critics):
        load(model, weights)
    for model, weights in zip(agent.target_critics, targets):
        load(model, weights)
    return agent, actor, critics, targets


def sac_actor_np(weights, x, noise):
    """Squashed-Gaussian actions for standard-normal ``noise`` and their log-probabilities, written out."""
    outputs = linear(relu(linear(x, weights, 'hidden')), weights, 'out')
    mean, log_std = outputs[:, :1], np.clip(outputs[:, 1:], -20.0, 2.0)
    pre_tanh = mean + np.exp(log_std) * noise
    gaussian = -0.5 * noise**2 - log_std - 0.5 * np.log(2 * np.pi)
    return np.tanh(pre_tanh), np.sum(gaussian - np.log(1.0 - np.tanh(pre_tanh) ** 2), -1)


def agent_noise(agent, shape):
    """The standard-normal draws the agent's generator makes next, without advancing it."""
    twin = tf.random.Generator.from_state(agent.tf_rng.state.numpy(), agent.tf_rng.algorithm)
    return twin.normal(shape).numpy().astype(np.float64)


def test_sac_critic_step(tmp_path, make):
    agent, actor, critics, targets = sac_setup(tmp_path, make)
    obs, next_obs = observations(4, 3, 0.1), observations(4, 3, 2.2)
    actions = fixed((4, 1), 0.9, 1.0)
    rewards = np.array([-1.0, 0.5, 2.0, -0.3], np.float32)
    terminals = np.array([False, True, False, False])
    discounts = np.array([0.99, 0.99, 0.9801, 0.99], np.float32)
    ent_coef = 0.3
    next_actions, next_log_probs = sac_actor_np(actor, next_obs, agent_noise(agent, [4, 1]))
    next_q = np.stack([critic_np(weights, next_obs, next_actions) for weights in targets])
    assert len(set(next_q.argmin(0)[~terminals])) == 2  # each target critic is the smaller one somewhere
    y = [
        rewards[i] + (0.0 if terminals[i] else discounts[i] * (next_q[:, i].min() - ent_coef * next_log_probs[i]))
        for i in range(4)
    ]
    losses = [np.mean((critic_np(weights, obs, actions) - y) ** 2) for weights in critics]

    tensors = [tf.constant(value) for value in (obs, actions, rewards, next_obs, terminals, discounts)]
    loss = agent.critic_step(*tensors, ent_coef=tf.constant(ent_coef))
    close(loss, np.mean(losses), rtol=1e-5)
    assert all(not holds(model, weights) for model, weights in zip(agent.critics, critics))
    assert holds(agent.models['actor'], actor)


def test_sac_actor_step(tmp_path, make):
    agent, actor, critics, _ = sac_setup(tmp_path, make)
    obs, ent_coef = observations(5, 3, 1.4), 0.7
    actions, log_probs = sac_actor_np(actor, obs, agent_noise(agent, [5, 1]))
    q = np.stack([critic_np(weights, obs, actions) for weights in critics])
    assert len(set(q.argmin(0))) == 2

    loss, agent_log_probs = agent.actor_step(tf.constant(obs), tf.constant(ent_coef))
    close(loss, np.mean(ent_coef * log_probs - q.min(0)))
    close(agent_log_probs, log_probs, rtol=1e-5)
    assert not holds(agent.models['actor'], actor)
    assert all(holds(model, weights) for model, weights in zip(agent.critics, critics))


@pytest.mark.parametrize(
    'log_probs, direction',
    # Entropy -mean(log pi) of 1.13, above the target of -1: alpha falls; of -1.5, below it: alpha rises.
    [([-2.0, -1.5, 0.1], -1.0), ([1.3, 0.8, 2.4], 1.0)],
    ids=['above-target', 'below-target'],
)
def test_sac_temperature_step(tmp_path, make, log_probs, direction):
    agent, *_ = sac_setup(tmp_path, make, init_ent_coef=0.5, lr=0.01)
    assert agent.target_entropy == -1.0  # minus Pendulum's one action dimension
    gap = np.mean(log_probs) + agent.target_entropy
    loss = agent.temperature_step(tf.constant(log_probs, tf.float32))
    close(loss, -math.log(0.5) * gap)
    # Adam's first step moves by the learning rate, against the sign of the gradient -gap.
    close(agent.log_ent_coef.numpy() - math.log(0.5), direction * 0.01, rtol=1e-3)


def test_sac_squashed_gaussian_log_prob_hand_computed():
    from xagents.nets.distributions import SquashedGaussian, tanh_log_jacobian

    # u = 0.5 (mean 0.5, std 1, no noise): log N(0; 0, 1) = -0.918939; log(1 - tanh(0.5)^2) = -0.240229.
    close(tanh_log_jacobian(tf.constant([[0.5]])), [-0.240229], rtol=1e-5)

    class Constant:
        """A generator whose normal draws are all ``value``."""

        def __init__(self, value):
            self.value = value

        def normal(self, shape):
            return tf.fill(shape, self.value)

    squashed = lambda mean, log_std: SquashedGaussian(tf.constant([[mean]]), tf.constant([[log_std]]))
    actions, log_probs = squashed(0.5, 0.0).sample_with_log_prob(Constant(0.0))
    close(actions, [[np.tanh(0.5)]])
    close(log_probs, [-0.918939 + 0.240229], rtol=1e-5)
    # Noise 0.8 on a std of exp(0.3): u = 0.5 + 1.349859 * 0.8 = 1.579887, z = 0.8.
    actions, log_probs = squashed(0.5, 0.3).sample_with_log_prob(Constant(0.8))
    u = 0.5 + math.exp(0.3) * 0.8
    close(actions, [[math.tanh(u)]])
    close(log_probs, [-0.5 * 0.64 - 0.3 - 0.918939 - math.log(1 - math.tanh(u) ** 2)], rtol=1e-5)
    # Where tanh(u) rounds to 1 in float32 the correction stays finite and exact: 2 (log 2 - 12 - softplus(-24)).
    close(tanh_log_jacobian(tf.constant([[12.0, -12.0]])), [2 * 2 * (math.log(2) - 12 - math.log1p(math.exp(-24)))])


def test_sac_train_step_moves_targets_by_tau_and_keeps_a_fixed_temperature(tmp_path, make):
    tau = 0.2
    agent, *_ = sac_setup(tmp_path, make, tau=tau, ent_coef=0.05)
    before = [dense_weights(model) for model in agent.target_critics]
    batch = dict(
        observations=tf.constant(observations(4, 3, 0.3)),
        actions=tf.constant(fixed((4, 1), 0.5, 0.2)),
        rewards=tf.constant([1.0, 0.0, -1.0, 0.5]),
        next_observations=tf.constant(observations(4, 3, 1.1)),
        terminals=tf.constant([False, False, True, False]),
        discounts=tf.constant([0.99] * 4),
    )
    losses = agent.train_step(batch, {name: tf.constant(0.0) for name in agent.loss_names})
    close(losses['ent_coef'], 0.05)
    close(agent.log_ent_coef.numpy(), math.log(0.05))
    assert float(losses['ent_coef_loss']) == 0.0
    for target, old, critic in zip(agent.target_critics, before, agent.critics):
        moved_towards(target, old, critic, 1 - tau)


# ------------------------------------------------------------------------------- TRPO
@pytest.mark.parametrize('env_id', ['CartPole-v1', 'Pendulum-v1'], ids=['discrete', 'continuous'])
def test_trpo_surrogate_and_kl(tmp_path, make, env_id):
    discrete = env_id == 'CartPole-v1'
    size, units = (4, 2) if discrete else (3, 1)
    files = [model_file(tmp_path, 'actor', hidden(3), OUTPUT), model_file(tmp_path, 'critic', hidden(3), OUTPUT)]
    agent = make(TRPO, env_id, files, entropy_coef=0.1)
    actor = params(0.8, hidden=(size, 3), out=(3, units))
    log_std = None if discrete else np.array([0.25], np.float32)
    load(agent.models['actor'], actor, log_std)
    load(agent.models['critic'], params(4.0, hidden=(size, 3), out=(3, 1)))
    obs = observations(5, size, 0.9)
    actions = discrete_or_continuous_actions(env_id, 5)
    advantages = np.array([0.7, -1.2, 0.4, 1.5, -0.9], np.float32)
    new_outputs = linear(np.tanh(linear(obs, actor, 'hidden')), actor, 'out')
    old_outputs = [fixed((5, units), 0.6, 6.0)]
    if not discrete:
        old_outputs.append(np.full((5, 1), -0.3, np.float32))  # the old policy's log-std, per row
    old_log_std = None if discrete else old_outputs[1][0].astype(np.float64)
    new_log_probs, new_entropy = log_probs_and_entropy(new_outputs, actions, log_std)
    old_log_probs = log_probs_and_entropy(old_outputs[0].astype(np.float64), actions, old_log_std)[0]
    old_log_probs = old_log_probs.astype(np.float32)
    surrogate = np.mean(np.exp(new_log_probs - old_log_probs) * advantages) + 0.1 * new_entropy.mean()
    kls = []
    for i in range(5):
        if discrete:
            old, new = log_softmax(old_outputs[0][i].astype(np.float64)), log_softmax(new_outputs[i])
            kls.append(sum(math.exp(old[b]) * (old[b] - new[b]) for b in range(units)))
        else:
            old_std, new_std = math.exp(old_log_std[0]), math.exp(float(log_std[0]))
            difference = old_outputs[0][i, 0] - new_outputs[i, 0]
            kls.append(math.log(new_std / old_std) + (old_std**2 + difference**2) / (2 * new_std**2) - 0.5)

    inputs = [tf.constant(value) for value in (obs, actions, old_log_probs, advantages)]
    value, kl = agent._surrogate_and_kl(*inputs, [tf.constant(output) for output in old_outputs])
    close(value, surrogate)
    close(kl, np.mean(kls))
    close(agent.surrogate(*inputs)[0], surrogate)


# ------------------------------------------------------------------------------- ACER
def naive_retrace(rewards, dones, q_taken, values, truncated_ratios, bootstrap, gamma):
    """Q^ret_t = r_t + gamma (1 - done_t) [rho_{t+1} (Q^ret_{t+1} - Q_{t+1}) + V_{t+1}], V(s_T) after the last step."""
    steps, envs = rewards.shape
    targets = np.zeros((steps, envs))
    for env in range(envs):
        for t in reversed(range(steps)):
            if t == steps - 1:
                following = bootstrap[env]
            else:
                following = truncated_ratios[t + 1, env] * (targets[t + 1, env] - q_taken[t + 1, env])
                following += values[t + 1, env]
            targets[t, env] = rewards[t, env] + gamma * (1 - dones[t, env]) * following
    return targets


@pytest.mark.parametrize('trust_region', [False, True], ids=['plain', 'trust-region'])
def test_acer_losses_of_one_train_step(tmp_path, make, trust_region):
    steps, envs, n_actions, c, gamma, alpha = 3, 2, 3, 1.2, 0.9, 0.8
    files = [model_file(tmp_path, 'acer', hidden(3), OUTPUT, hidden(4), OUTPUT)]
    agent = make(
        ACER,
        'Acrobot-v1',
        files,
        n_steps=steps,
        gamma=gamma,
        importance_c=c,
        trust_region=trust_region,
        delta=0.5,
        ema_alpha=alpha,
        entropy_coef=0.05,
        value_loss_coef=0.7,
    )
    weights = params(0.6, policy_hidden=(6, 3), policy=(3, n_actions), q_hidden=(6, 4), q=(4, n_actions))
    average = params(3.6, policy_hidden=(6, 3), policy=(3, n_actions), q_hidden=(6, 4), q=(4, n_actions))
    load(agent.models['model'], weights)
    load(agent.average_model, average)

    obs = fixed((steps + 1, envs, 6), 1.0, 0.3)
    flat_obs = obs.reshape(-1, 6).astype(np.float64)
    logits = linear(np.tanh(linear(flat_obs, weights, 'policy_hidden')), weights, 'policy')
    q_all = linear(np.tanh(linear(flat_obs, weights, 'q_hidden')), weights, 'q')
    pi_all = np.exp(log_softmax(logits))
    v_all = (pi_all * q_all).sum(-1)
    batch = steps * envs
    pi, q = pi_all[:batch], q_all[:batch]
    actions = np.array([[0, 2], [1, 1], [2, 0]], np.int32)
    rewards = np.array([[1.0, -0.5], [0.2, 0.0], [-1.0, 2.0]], np.float32)
    dones = np.array([[0, 0], [1, 0], [0, 0]], np.float32)
    # Behaviour policies away from pi, so that rho spans both sides of 1 and of c.
    tilt = np.array([[3.0, 1.0, 0.3], [0.3, 3.0, 1.0], [1.0, 0.3, 3.0]])
    mu = pi * tilt[np.arange(batch) % 3]
    mu = (mu / mu.sum(-1, keepdims=True)).astype(np.float32)
    behaviour_probs = mu.reshape(steps, envs, n_actions)

    flat_actions = actions.reshape(-1)
    rho = pi / (mu + EPS)
    rho_taken = rho[np.arange(batch), flat_actions]
    q_taken = q[np.arange(batch), flat_actions]
    q_ret = naive_retrace(
        rewards,
        dones,
        q_taken.reshape(steps, envs),
        v_all[:batch].reshape(steps, envs),
        np.minimum(1.0, rho_taken).reshape(steps, envs),
        v_all[batch:],
        gamma,
    ).reshape(-1)
    objectives, entropies = [], []
    for i in range(batch):
        a, value = flat_actions[i], v_all[i]
        objective = min(c, rho_taken[i]) * math.log(pi[i, a] + EPS) * (q_ret[i] - value)
        for b in range(n_actions):
            weight = max(0.0, 1 - c / (rho[i, b] + EPS))
            objective += weight * pi[i, b] * (q[i, b] - value) * math.log(pi[i, b] + EPS)
        entropy = -sum(pi[i, b] * math.log(pi[i, b] + EPS) for b in range(n_actions))
        objectives.append(objective + 0.05 * entropy)
        entropies.append(entropy)
    value_loss = 0.5 * np.mean((q_ret - q_taken) ** 2)
    policy_loss = -np.mean(objectives)
    # The inputs reach the truncation (rho_a > c), the bias correction (some rho_b > c) and rho < 1.
    assert (rho_taken > c).any() and (rho_taken < 1).any() and (rho > c).sum() > (rho_taken > c).sum()

    before = dense_weights(agent.average_model)
    losses = agent._train(
        tf.constant(obs),
        tf.constant(actions),
        tf.constant(rewards),
        tf.constant(dones),
        tf.constant(behaviour_probs),
    )
    close(losses['value_loss'], value_loss)
    close(losses['policy_loss'], policy_loss)
    close(losses['entropy'], np.mean(entropies))
    close(losses['loss'], policy_loss + 0.7 * value_loss)
    # The average model moves towards the model after its step.
    assert not holds(agent.models['model'], weights)
    moved_towards(agent.average_model, before, agent.models['model'], alpha)
