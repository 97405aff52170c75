"""A Dict nested in a Dict observation: its keys flattened to ``outer.inner`` (one level of nesting)
through the envs, ``--obs-keys``, ``predict`` (the env's own nested observation) and the exports;
a Dict nested twice is refused naming the key."""

import gymnasium as gym
import numpy as np
import pytest

import xagents
import xagents.tests.stack_envs  # noqa: F401  (registers Clock-v0)
from xagents.envs.recipe import create_envs
from xagents.export.formats import FORMATS, export
from xagents.tests.test_export import run_exported
from xagents.tests.test_image_envs import fails

CLOCK = 'xagents.tests.stack_envs:Clock-v0'


def test_nested_keys_become_outer_dot_inner_keys_of_the_envs():
    envs = create_envs(CLOCK, 2, env_kwargs={'keys': True, 'nest': 1}, obs_keys=['outer.vector', 'outer.parity'])
    assert sorted(envs.single_observation_space.spaces) == ['outer.parity', 'outer.vector']
    envs.reset(seed=0)
    observations, *_ = envs.step(np.array([0, 0]))
    np.testing.assert_array_equal(observations['outer.vector'], [[1, 101], [1, 101]])
    np.testing.assert_array_equal(observations['outer.parity'], [[1, 0], [1, 0]])
    envs.close()


def nested_agent_and_observations():
    agent = xagents.PPO.from_env(
        CLOCK, env_kwargs={'keys': True, 'nest': 1}, n_envs=2, n_steps=8, mini_batches=2, seed=0
    )
    assert sorted(agent.observation_space.spaces) == ['outer.image', 'outer.parity', 'outer.vector']
    nested, _ = gym.make('Clock-v0', keys=True, nest=1).reset(seed=0)
    return agent, nested, {f'outer.{key}': value for key, value in nested['outer'].items()}


def test_predict_takes_the_envs_own_nested_observation_or_the_flattened_one():
    agent, nested, flat = nested_agent_and_observations()
    assert agent.predict(nested) == agent.predict(flat)
    np.testing.assert_array_equal(
        agent.predict({'outer': {key: value[None] for key, value in nested['outer'].items()}}), [agent.predict(flat)]
    )


@pytest.mark.integration
def test_every_export_takes_the_flattened_keys_as_named_inputs(tmp_path):
    agent, _, flat = nested_agent_and_observations()
    batch = {key: np.stack([value * (step % 2) for step in range(8)]) for key, value in flat.items()}
    batch['outer.vector'] = np.arange(16, dtype=np.float32).reshape(8, 2) * 7
    expected = agent.predict(batch)
    for format in FORMATS:
        actions = run_exported(export(agent, tmp_path / f'policy.{format}', format), format, batch)
        np.testing.assert_array_equal(actions, expected, err_msg=format)


def test_a_dict_nested_twice_is_refused_naming_the_key(tmp_path, capsys):
    run = tmp_path / 'run'
    args = ['--env-kwargs', 'keys:True', 'nest:2', '--max-steps', '64', '--output-dir', str(run)]
    error = fails(capsys, 'train', 'ppo', '--env', CLOCK, *args)
    assert "observation key 'outer.inner' is a Dict in a Dict: xagents flattens one level of nesting" in error
    assert not run.exists()
