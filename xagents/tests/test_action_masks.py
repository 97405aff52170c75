"""Action masks (sb3-contrib's convention): the masked distributions against hand-computed numbers,
agents that never take a masked action (the strict Keypad raises on one, so every step is checked)
in training and in play, MultiDiscrete masks, masks from ``info``, ``predict`` with masks, and the
refusals (with Dict observations: ``test_dict_masks.py``)."""

import contextlib
import io
import os
import re

import numpy as np
import pytest
import tensorflow as tf

import xagents
from xagents import A2C, DQN, PPO, TRPO
from xagents.commands.main import main
from xagents.core.masking import MASKED_LOGIT, masked_logits, uniform_legal
from xagents.export import FORMATS
from xagents.nets.distributions import Categorical, MultiCategorical, host_act
from xagents.tests.test_custom_envs import history_steps
from xagents.tests.test_export import run_exported

CORRIDOR = 'xagents.tests.tiny_envs:Corridor-v0'
KEYPAD = 'xagents.tests.tiny_envs:Keypad-v0'  # Discrete(6), one or two legal keys a step
STRICT = {'strict': True}  # an illegal key raises
TRAIN = {
    PPO: {'n_steps': 32},
    A2C: {'n_steps': 8},
    TRPO: {'n_steps': 32},
    DQN: {'buffer_initial_size': 64, 'epsilon_decay_steps': 1000},
}


# ------------------------------------------------------------------ the masked distributions
def test_masked_categorical_log_prob_entropy_kl_hand_computed():
    # Logits (0, 5, log 3, 0) with key 1 masked: probabilities (1/5, 0, 3/5, 1/5) over the others.
    logits = tf.constant([[0.0, 5.0, np.log(3.0), 0.0]], tf.float32)
    masks = tf.constant([[True, False, True, True]])
    distribution = Categorical(masked_logits(logits, masks))
    probabilities = np.array([0.2, 0.6, 0.2])
    np.testing.assert_allclose(distribution.log_prob(tf.constant([2])).numpy(), [np.log(0.6)], rtol=1e-6)
    np.testing.assert_allclose(distribution.log_prob(tf.constant([0])).numpy(), [np.log(0.2)], rtol=1e-6)
    entropy = -(probabilities * np.log(probabilities)).sum()
    np.testing.assert_allclose(distribution.entropy().numpy(), [entropy], rtol=1e-6)
    assert distribution.mode().numpy()[0] == 2  # not the masked key 1, the likeliest of all
    uniform = Categorical(masked_logits(tf.zeros([1, 4]), masks))
    kl = (probabilities * np.log(probabilities * 3)).sum()
    np.testing.assert_allclose(distribution.kl(uniform).numpy(), [kl], rtol=1e-5)
    # Gradients reach the legal logits only and stay finite.
    with tf.GradientTape() as tape:
        tape.watch(logits)
        entropy_value = Categorical(masked_logits(logits, masks)).entropy()
    gradient = tape.gradient(entropy_value, logits).numpy()
    assert np.isfinite(gradient).all() and gradient[0, 1] == 0.0


def test_masked_multi_categorical_hand_computed():
    # nvec (2, 3): dimension 0 has value 1 masked (certain 0); dimension 1 logits (0, 0, log 2) with 0 masked.
    logits = tf.constant([[1.0, 9.0, 0.0, 0.0, np.log(2.0)]], tf.float32)
    masks = tf.constant([[True, False, False, True, True]])
    distribution = MultiCategorical.over([2, 3])(masked_logits(logits, masks))
    np.testing.assert_allclose(distribution.log_prob(tf.constant([[0, 2]])).numpy(), [np.log(2 / 3)], rtol=1e-6)
    entropy = -(1 / 3 * np.log(1 / 3) + 2 / 3 * np.log(2 / 3))  # dimension 0 is certain: 0
    np.testing.assert_allclose(distribution.entropy().numpy(), [entropy], rtol=1e-6)
    np.testing.assert_array_equal(distribution.mode().numpy(), [[0, 2]])
    # NumPy acting on the host: the same log-probabilities, never a masked value over many draws.
    masked = np.where(masks.numpy(), logits.numpy(), np.float32(MASKED_LOGIT))
    many = np.repeat(masked, 2000, axis=0)
    actions, log_probs = host_act(MultiCategorical.over([2, 3]), [many], np.random.default_rng(0), deterministic=False)
    assert (actions[:, 0] == 0).all() and (actions[:, 1] != 0).all()
    expected = np.where(actions[:, 1] == 2, np.log(2 / 3), np.log(1 / 3))
    np.testing.assert_allclose(log_probs, expected, rtol=1e-5)


def test_uniform_legal_draws_only_legal_actions_uniformly():
    masks = np.array([[False, True, False, True]] * 4000 + [[False, False, True, False]] * 10)
    actions = uniform_legal(masks, np.random.default_rng(0))
    assert masks[np.arange(len(masks)), actions].all()
    assert abs((actions[:4000] == 1).mean() - 0.5) < 0.03


# ------------------------------------------------------------------ agents never take a masked action
@pytest.mark.parametrize('agent_class', [PPO, A2C, TRPO, DQN])
def test_masked_agent_never_takes_a_masked_action_training_and_playing(agent_class):
    # The strict Keypad raises on an illegal key: 2,000 training steps, then greedy, sampled and random
    # play, each step checked by the env itself.
    agent = agent_class.from_env(KEYPAD, n_envs=4, seed=1, env_kwargs=STRICT, quiet=True, **TRAIN[agent_class])
    assert agent.masks is not None and not agent.masks.from_info
    agent.fit(max_steps=2000)
    assert agent.steps >= 2000 and agent.mean_reward == 20.0  # every episode ran to its end
    for options in ({'deterministic': True}, {'deterministic': False}, {'random': True}):
        results = agent.play(episodes=8, **options)
        assert [result['reward'] for result in results] == [20.0] * 8


@pytest.mark.parametrize('agent_class', [PPO, DQN])
def test_tensorflow_acting_and_masks_in_info(agent_class):
    # --no-host-inference acts in TensorFlow (the compiled calls with masks); InfoKeypad gives info['action_mask'].
    env = 'xagents.tests.tiny_envs:InfoKeypad-v0'
    options = {'env_kwargs': STRICT, 'quiet': True, 'host_inference': False, **TRAIN[agent_class]}
    agent = agent_class.from_env(env, n_envs=4, seed=2, **options)
    assert agent.masks.from_info
    agent.fit(max_steps=1000)
    assert agent.play(episodes=4, deterministic=False)[0]['reward'] == 20.0


def test_multi_discrete_masks_are_kept_per_dimension():
    agent = PPO.from_env(
        'xagents.tests.tiny_envs:DialKeypad-v0', n_envs=4, seed=3, env_kwargs=STRICT, quiet=True, n_steps=32
    )
    agent.fit(max_steps=1500)
    assert agent.mean_reward == 20.0
    assert [result['reward'] for result in agent.play(episodes=4, random=True)] == [20.0] * 4


def test_unmasked_play_loses_where_masked_play_wins():
    masked = PPO.from_env(KEYPAD, n_envs=2, seed=4, quiet=True)
    unmasked = PPO.from_env(KEYPAD, n_envs=2, seed=4, quiet=True, mask_actions=False)
    assert unmasked.masks is None
    masked_rewards = [result['reward'] for result in masked.play(episodes=20, random=True)]
    unmasked_rewards = [result['reward'] for result in unmasked.play(episodes=20, random=True)]
    assert np.mean(masked_rewards) == 20.0 and np.mean(unmasked_rewards) < 0


# ------------------------------------------------------------------ predict
def test_predict_takes_masks_for_one_observation_or_a_batch():
    agent = DQN.from_env(KEYPAD, n_envs=2, seed=5, quiet=True)
    rng = np.random.default_rng(0)
    observations = rng.random((64, 6)).astype(np.float32)
    masks = rng.random((64, 6)) < 0.3
    masks[np.arange(64), rng.integers(0, 6, 64)] = True
    actions = agent.predict(observations, action_masks=masks)
    assert masks[np.arange(64), actions].all()
    q_values = agent.model(observations).numpy()
    np.testing.assert_array_equal(actions, np.where(masks, q_values, -np.inf).argmax(1))
    assert agent.predict(observations[0], action_masks=masks[0]) == actions[0]
    ppo = PPO.from_env('xagents.tests.tiny_envs:DialKeypad-v0', n_envs=2, seed=5, quiet=True)
    dial_masks = np.zeros((64, 7), bool)
    dial_masks[np.arange(64), rng.integers(0, 3, 64)] = True
    dial_masks[np.arange(64), 3 + rng.integers(0, 4, 64)] = True
    for deterministic in (True, False):
        dials = ppo.predict(rng.random((64, 7)).astype(np.float32), deterministic, action_masks=dial_masks)
        assert dial_masks[np.arange(64), dials[:, 0]].all() and dial_masks[np.arange(64), 3 + dials[:, 1]].all()
    wrong = {
        r'has shape \(2, 5\); expected \(2, 6\) for 2 observations': (observations[:2], np.ones((2, 5), bool)),
        r'has shape \(6,\); expected \(2, 6\) for 2 observations': (observations[:2], np.ones(6, bool)),
        r'has shape \(5,\); expected \(6,\) \(or a batch \(n, 6\)': (observations[0], np.ones(5, bool)),
        'are float32; expected booleans': (observations[0], np.ones(6, np.float32)),
    }
    for error, (given, masks) in wrong.items():
        with pytest.raises(ValueError, match='^action_masks given to predict ' + error):
            agent.predict(given, action_masks=masks)
    with pytest.raises(ValueError, match='^predict was given an action mask with no legal action'):
        agent.predict(observations[0], action_masks=np.zeros(6, bool))


@pytest.mark.parametrize(('env', 'options'), [(KEYPAD, {'mask_actions': False}), (CORRIDOR, {})])
def test_predict_refuses_masks_for_an_agent_that_acts_without_them(env, options):
    agent = PPO.from_env(env, quiet=True, **options)
    observation = agent.observation_space.sample()
    for masks in (np.ones(agent.action_space.n, bool), np.ones(9, bool)):
        with pytest.raises(ValueError, match='this PPO acts without action masks .* predict takes no action_masks'):
            agent.predict(observation, action_masks=masks)


def test_loaded_agent_predicts_with_masks(tmp_path):
    agent = PPO.from_env(KEYPAD, n_envs=2, seed=6, n_steps=32, output_dir=str(tmp_path / 'run'), quiet=True)
    agent.fit(max_steps=256)
    loaded = xagents.load(tmp_path / 'run')
    assert loaded.masks is not None
    observations = np.random.default_rng(1).random((16, 6)).astype(np.float32)
    masks = np.eye(6, dtype=bool)[np.arange(16) % 6]
    np.testing.assert_array_equal(loaded.predict(observations, action_masks=masks), np.arange(16) % 6)


# ------------------------------------------------------------------ refusals
def run_cli(*args) -> tuple[int, str]:
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(list(args))
        except SystemExit as exit:
            code = exit.code
    return code, stderr.getvalue()


@pytest.mark.parametrize(
    'agent, env, flags, message',
    [
        ('ppo', 'CartPole-v1', ['--mask-actions'], 'CartPole-v1 gives no action masks'),
        ('acer', KEYPAD, [], 'gives action masks, which ACER does not take'),
        ('ppo', 'xagents.tests.tiny_envs:BadMasks-v0', [], r'shape \(6,\) int64: expected a boolean array of 6'),
        ('dqn', 'xagents.tests.tiny_envs:NoLegalKey-v0', [], 'no legal action'),
        ('ppo', 'xagents.tests.tiny_envs:MaskedSwitches-v0', [], 'masks for MultiBinary'),
    ],
)
def test_refusals_are_one_line_before_any_run_folder(tmp_path, agent, env, flags, message):
    output = tmp_path / 'run'
    code, stderr = run_cli('train', agent, '--env', env, '--max-steps', '100', '--output-dir', str(output), *flags)
    assert code == 2
    errors = [line for line in stderr.splitlines() if line.startswith('xagents: error:')]
    assert len(errors) == 1 and re.search(message, errors[0]), stderr
    assert 'Traceback' not in stderr and not os.path.exists(output)


@pytest.mark.parametrize('env', ['MaskedSwitches-v0', 'DictKeypad-v0'])
def test_no_mask_actions_trains_without_masks(tmp_path, env):
    code, stderr = run_cli(
        'train', 'ppo', '--env', f'xagents.tests.tiny_envs:{env}', '--no-mask-actions',
        '--max-steps', '64', '--n-envs', '2', '--n-steps', '16', '--output-dir', str(tmp_path / 'run'),
    )  # fmt: skip
    assert code == 0, stderr


# ------------------------------------------------------------------ exports
@pytest.mark.parametrize(
    'env, units',
    [
        pytest.param(KEYPAD, 6, id='discrete'),
        pytest.param('xagents.tests.tiny_envs:DialKeypad-v0', 7, id='multi_discrete', marks=pytest.mark.integration),
    ],
)
def test_exports_take_action_masks_and_act_as_predict(tmp_path, env, units):
    agent = PPO.from_env(env, n_envs=2, seed=7, n_steps=32, output_dir=str(tmp_path / 'run'), quiet=True)
    agent.fit(max_steps=128)
    rng = np.random.default_rng(2)
    observations = rng.random((64, units)).astype(np.float32)
    nvec = agent.masks.nvec or (units,)
    # At least one legal value per dimension (the eye rows), more at random.
    parts = [np.eye(n, dtype=bool)[rng.integers(0, n, 64)] | (rng.random((64, n)) < 0.4) for n in nvec]
    masks = np.concatenate(parts, 1)
    expected = agent.predict(observations, action_masks=masks)
    for format in FORMATS:
        output = str(tmp_path / format)
        code, stderr = run_cli('export', '--run', str(tmp_path / 'run'), '--format', format, '--output', output)
        assert code == 0, stderr
        np.testing.assert_array_equal(
            run_exported(tmp_path / format, format, {'observation': observations, 'action_mask': masks}), expected
        )


def cli_trains_plays_with_video_and_resumes(tmp_path, agent: str, flags: list[str], resumed_steps: int) -> str:
    """``train agent *flags`` (with ``--max-steps`` in ``flags``), play it at random, sampled and with
    video, then resume it to ``resumed_steps``; the run folder."""
    run = str(tmp_path / 'run')
    code, stderr = run_cli('train', agent, *flags, '--seed', '0', '--output-dir', run)
    assert code == 0, stderr
    for options in (['--random'], ['--stochastic'], ['--video-dir', str(tmp_path / 'video')]):
        code, stderr = run_cli('play', agent, '--run', run, '--episodes', '2', *options)
        assert code == 0, stderr
    assert len(list((tmp_path / 'video').glob('*.mp4'))) == 2
    code, stderr = run_cli('train', agent, '--resume', run, '--max-steps', str(resumed_steps))
    assert code == 0, stderr
    steps = history_steps(tmp_path / 'run')
    # Episodes of the resumed part, up to its last steps (episodes of 20 steps).
    assert steps[-1] > resumed_steps - 100 and steps == sorted(steps)
    return run


@pytest.mark.integration  # ~4 s: the command line end to end
def test_cli_trains_plays_with_video_and_resumes_masked(tmp_path):
    # The strict Keypad raises on an illegal key: training, its evaluations, play and the resumed run.
    strict = ['--env', KEYPAD, '--env-kwargs', 'strict:True']
    sizes = ['--max-steps', '512', '--n-envs', '2', '--n-steps', '32', '--eval-interval', '256', '--eval-episodes', '2']
    cli_trains_plays_with_video_and_resumes(tmp_path, 'ppo', [*strict, *sizes], 1024)


@pytest.mark.parametrize('double', [False, True])
def test_dqn_targets_max_over_the_next_legal_actions(double):
    agent = DQN.from_env(KEYPAD, n_envs=2, seed=8, quiet=True, double=double, buffer_initial_size=64)
    agent.fit(max_steps=200)
    batch = agent.sample()
    assert batch['next_masks'].shape == (32, 6) and batch['next_masks'].dtype == bool
    rng = np.random.default_rng(3)
    next_masks = np.eye(6, dtype=bool)[rng.integers(0, 6, 32)] | (rng.random((32, 6)) < 0.3)
    batch = {**batch, 'next_masks': next_masks, 'terminals': np.zeros(32, bool)}
    q_before = agent.model(batch['observations']).numpy()[np.arange(32), batch['actions']]
    next_target = agent.target_model(batch['next_observations']).numpy()
    chooser = agent.model(batch['next_observations']).numpy() if double else next_target
    best = np.where(next_masks, chooser, -np.inf).argmax(1)
    expected = batch['rewards'] + batch['discounts'] * next_target[np.arange(32), best]
    _, td_errors = agent._train(batch)
    np.testing.assert_allclose(td_errors.numpy() + q_before, expected, rtol=1e-5, atol=1e-5)


def test_dqn_keeps_the_final_states_masks_after_a_truncation_where_info_gives_them(monkeypatch):
    """Keypad's episodes are cut at 20 steps: the state they end in has its own legal keys (in
    ``info['final_info']`` for InfoKeypad), which the bootstrap's max must use; an ``action_masks()``
    method's are gone with the reset (all actions then)."""
    from xagents.tests.tiny_envs import Keypad

    ended = []  # the legal keys of each state an episode ended in, in the order the envs reset
    reset = Keypad.reset

    def keeping_the_final_keys(self, seed=None, options=None):
        if self.steps:
            ended.append(self.legal.copy())
        return reset(self, seed=seed, options=options)

    monkeypatch.setattr(Keypad, 'reset', keeping_the_final_keys)
    for env, kept in (('xagents.tests.tiny_envs:InfoKeypad-v0', True), (KEYPAD, False)):
        ended.clear()
        agent = DQN.from_env(env, n_envs=2, seed=8, quiet=True, buffer_initial_size=100, buffer_batch_size=8)
        agent.fit(max_steps=100)
        slots = len(agent.buffer) // 2
        stored = agent.buffer.next_masks[:slots].reshape(-1, 6)[agent.buffer.dones[:slots].reshape(-1)]
        assert len(stored) == len(ended) >= 4  # 100 steps of 2 envs: episodes of 20 steps, all truncated
        assert np.array_equal(stored, np.array(ended)) if kept else stored.all()


def test_async_envs_are_asked_for_masks_without_breaking():
    # A failed call ends an async env's worker: the method is looked for before it is called.
    import gymnasium as gym

    from xagents.core.masking import has_mask_method
    from xagents.tests.tiny_envs import Corridor, InfoKeypad, Keypad

    for env_class, found in ((Corridor, False), (InfoKeypad, False), (Keypad, True)):
        envs = gym.vector.AsyncVectorEnv([env_class] * 2)
        assert has_mask_method(envs) is found
        envs.reset(seed=0)
        envs.step(np.zeros(2, np.int64))  # still running
        envs.close()
