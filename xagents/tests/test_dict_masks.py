"""Action masks with Dict observations: agents that never take a masked action (the strict DictKeypad
raises on one, so every step is checked) acting on the host and in TensorFlow, in training, evaluation
and play; ``predict`` with masks; DQN's next-state masks beside the buffer's arrays per key; the
command line with video and resume; exports with one input per key and ``action_mask``."""

import numpy as np
import pytest

import xagents
from xagents import A2C, DQN, PPO, TRPO
from xagents.export import FORMATS
from xagents.export.formats import export
from xagents.tests.test_action_masks import STRICT, TRAIN, cli_trains_plays_with_video_and_resumes, run_cli
from xagents.tests.test_export import run_exported

DICT_KEYPAD = 'xagents.tests.tiny_envs:DictKeypad-v0'  # keys 'legal' (a Box) and 'step' (a Discrete)


def keypad_batch(count: int, seed: int) -> tuple[dict, np.ndarray]:
    """``count`` DictKeypad observations and masks: masks of one or more legal keys, the 'legal' key
    showing other keys (a policy that reads it alone would pick masked keys)."""
    rng = np.random.default_rng(seed)
    masks = np.eye(6, dtype=bool)[rng.integers(0, 6, count)] | (rng.random((count, 6)) < 0.3)
    observations = {'legal': rng.random((count, 6)).astype(np.float32), 'step': rng.integers(0, 21, count)}
    return observations, masks


@pytest.mark.parametrize(
    'agent_class, host',
    [
        (PPO, True),
        pytest.param(PPO, False, marks=pytest.mark.integration),
        (A2C, True),
        (TRPO, True),
        (DQN, True),
        pytest.param(DQN, False, marks=pytest.mark.integration),
    ],
    ids=['ppo', 'ppo-tf', 'a2c', 'trpo', 'dqn', 'dqn-tf'],
)
def test_masked_dict_agent_never_takes_a_masked_action(agent_class, host):
    # 2,000 training steps, then greedy, sampled and random play: the strict env raises on a masked key.
    options = {'env_kwargs': STRICT, 'quiet': True, 'host_inference': host, **TRAIN[agent_class]}
    agent = agent_class.from_env(DICT_KEYPAD, n_envs=4, seed=1, **options)
    assert agent.masks is not None and list(agent.observation_space.spaces) == ['legal', 'step']
    assert all((agent.host(role) is not None) is host for role in agent.model_roles)
    agent.fit(max_steps=2000)
    assert agent.steps >= 2000 and agent.mean_reward == 20.0  # every episode ran to its end
    for options in ({'deterministic': True}, {'deterministic': False}, {'random': True}):
        assert [result['reward'] for result in agent.play(episodes=4, **options)] == [20.0] * 4
    # predict: one observation or a batch, always among the legal keys (host and TensorFlow alike).
    observations, masks = keypad_batch(256, seed=2)
    for deterministic in (True, False):
        actions = agent.predict(observations, deterministic, action_masks=masks)
        assert actions.shape == (256,) and masks[np.arange(256), actions].all()
    one = {key: value[5] for key, value in observations.items()}
    assert agent.predict(one, action_masks=masks[5]) == agent.predict(observations, action_masks=masks)[5]


def test_dqn_stores_next_masks_beside_the_arrays_of_each_key():
    agent = DQN.from_env(DICT_KEYPAD, n_envs=2, seed=3, quiet=True, buffer_initial_size=64, double=True)
    agent.fit(max_steps=200)
    batch = agent.sample()
    assert batch['next_masks'].shape == (32, 6) and batch['next_masks'].dtype == bool
    assert {key: value.dtype for key, value in batch['next_observations'].items()} == {
        'legal': np.float32,
        'step': np.int64,
    }
    # The next masks are those of the next observations (DictKeypad shows its legal keys under 'legal'),
    # all legal after an episode's end (its final state's masks went with the reset).
    shown = (batch['next_masks'] == (batch['next_observations']['legal'] > 0)).all(1)
    assert (shown | batch['next_masks'].all(1)).all() and shown.sum() > 24
    next_masks = keypad_batch(32, seed=4)[1]
    batch = {**batch, 'next_masks': next_masks, 'terminals': np.zeros(32, bool)}
    q_before = agent.model(batch['observations']).numpy()[np.arange(32), batch['actions']]
    next_target = agent.target_model(batch['next_observations']).numpy()
    chooser = agent.model(batch['next_observations']).numpy()  # double DQN
    best = np.where(next_masks, chooser, -np.inf).argmax(1)
    expected = batch['rewards'] + batch['discounts'] * next_target[np.arange(32), best]
    _, td_errors = agent._train(batch)
    np.testing.assert_allclose(td_errors.numpy() + q_before, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('agent_class', [PPO, pytest.param(DQN, marks=pytest.mark.integration)])
def test_exports_take_one_input_per_key_and_the_masks_and_act_as_predict(tmp_path, agent_class):
    agent = agent_class.from_env(DICT_KEYPAD, n_envs=2, seed=5, quiet=True, normalize_obs=True, **TRAIN[agent_class])
    agent.fit(max_steps=128)
    observations, masks = keypad_batch(64, seed=6)
    agent.obs_normalizer.normalizers['legal'].stats.update(observations['legal'] * 3.0 + 0.5)
    expected = agent.predict(observations, action_masks=masks)
    assert masks[np.arange(64), expected].all()
    for format in FORMATS:
        path = export(agent, tmp_path / f'policy.{format}', format)
        actions = run_exported(path, format, {**observations, 'action_mask': masks})
        np.testing.assert_array_equal(actions, expected, err_msg=format)


@pytest.mark.integration  # about 12 s: the Keypad's command-line test covers the same path by default
def test_cli_trains_dqn_plays_with_video_resumes_with_its_buffer_and_exports_masked(tmp_path):
    # The strict DictKeypad raises on a masked key: training, its evaluations, play and the resumed run.
    strict = ['--env', DICT_KEYPAD, '--env-kwargs', 'strict:True', '--buffer-initial-size', '64', '--save-buffer']
    sizes = ['--max-steps', '300', '--n-envs', '2', '--eval-interval', '150', '--eval-episodes', '2']
    run = cli_trains_plays_with_video_and_resumes(tmp_path, 'dqn', [*strict, *sizes], 600)
    loaded = xagents.load(run)
    assert loaded.masks is not None
    observations, masks = keypad_batch(32, seed=7)
    code, stderr = run_cli('export', '--run', run, '--format', 'onnx', '--output', str(tmp_path / 'policy.onnx'))
    assert code == 0, stderr
    np.testing.assert_array_equal(
        run_exported(tmp_path / 'policy.onnx', 'onnx', {**observations, 'action_mask': masks}),
        loaded.predict(observations, action_masks=masks),
    )
