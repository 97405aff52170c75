"""TensorFlow's threads (``--threads``): the ``auto`` rule, the flag, a setting the process cannot take, resume,
load and tune. This pytest process has fixed its threads already (at its first TensorFlow op); a fresh process
that sets them is the integration test at the end."""

import argparse
import json

import gymnasium as gym
import numpy as np
import pytest
import tensorflow as tf

from xagents import AGENTS, PPO, agents, load
from xagents.commands.agent_flags import agent_module
from xagents.commands.main import command_parser, main
from xagents.commands.resuming import check_resume_flags
from xagents.core.config import AgentConfig
from xagents.core.threads import AUTO, DEFAULT, thread_setting, threads_in_use
from xagents.nets.observations import convolutional
from xagents.tests.test_cli import run_cli
from xagents.tests.test_ignored_inputs import TRAIN, error_of
from xagents.tune.options import TuneError
from xagents.tune.report import train_flags
from xagents.tune.space import search_space

ON_POLICY = {'a2c', 'acer', 'ppo', 'trpo'}


def in_use() -> tuple[int, int]:
    """This process's threads, fixed by running an op first (as every test after the first finds them)."""
    tf.constant(1.0) + 1
    return threads_in_use()


def other_than(threads: tuple[int, int]) -> tuple[int, int]:
    return threads[0] + 1, threads[1]


@pytest.mark.parametrize('name', AGENTS)
def test_auto_gives_on_policy_dense_models_one_thread_and_the_rest_tensorflows_default(name):
    on_policy = agents[name].on_policy
    assert on_policy == (name in ON_POLICY)
    assert thread_setting(on_policy, convolutional=False) == ((1, 1) if on_policy else DEFAULT)
    assert thread_setting(on_policy, convolutional=True) == DEFAULT


def test_convolutional_networks_are_those_of_images_and_dict_keys_of_images():
    image = gym.spaces.Box(0, 255, (84, 84, 4), np.uint8)
    vector = gym.spaces.Box(-1, 1, (4,), np.float32)
    assert convolutional(image) and not convolutional(vector)
    assert convolutional(gym.spaces.Dict({'image': image, 'state': vector}))
    assert not convolutional(gym.spaces.Dict({'state': vector, 'step': gym.spaces.Discrete(3)}))


def test_the_flag_takes_auto_or_intra_and_inter_op_threads():
    parser = command_parser('train', agent_module('ppo'))
    assert parser.parse_args(['--env', 'CartPole-v1', '--threads', '1', '2']).threads == [1, 2]
    assert AgentConfig(threads=[1, 2]).threads == (1, 2)  # the flag's words, as JSON gives them
    assert AgentConfig(threads=['auto']).threads == AgentConfig().threads == AUTO
    assert AgentConfig(threads=(0, 0)).threads == (0, 0)
    for wrong in ([1], [1, 2, 3], ['auto', 1], 2, [1.5, 1], [True, 1]):
        with pytest.raises(ValueError, match='--threads takes auto or two numbers'):
            AgentConfig(threads=wrong)


@pytest.mark.parametrize(
    'words, message',
    [
        (['1', '2', '3'], '--threads takes auto or two numbers, the intra-op and inter-op threads'),
        (['x'], "argument --threads: expected auto or a whole number, got 'x'"),
        (['-1', '1'], 'a count of threads is 0'),
    ],
)
def test_a_wrong_threads_flag_is_one_line(capsys, words, message):
    assert message in error_of(capsys, [*TRAIN, '--output-dir', 'run', '--threads', *words])


def test_auto_keeps_the_threads_this_process_has_and_the_same_ones_given_are_taken():
    threads = in_use()
    assert PPO.from_env('CartPole-v1', quiet=True).threads == threads
    assert PPO.from_env('CartPole-v1', quiet=True, threads=threads).threads == threads


def test_threads_the_process_cannot_take_are_refused(tmp_path, capsys):
    intra, inter = other_than(in_use())
    with pytest.raises(ValueError, match=f'--threads {intra} {inter}: this process already runs TensorFlow with'):
        PPO.from_env('CartPole-v1', quiet=True, threads=(intra, inter))
    line = error_of(capsys, [*TRAIN, '--output-dir', 'run', '--threads', str(intra), str(inter)])
    assert line.startswith(f'xagents: error: --threads {intra} {inter}: this process already runs TensorFlow')
    assert not (tmp_path / 'run').exists()


def test_a_resume_may_change_the_threads_and_load_takes_none_from_the_run(tmp_path):
    """The threads are how a process computes, not what the run learns: a resume may give others, and
    ``load`` (a process that may have fixed its own) chooses them as ``auto`` does."""
    threads = in_use()
    assert main([*TRAIN, '--output-dir', 'run']) == 0
    config = json.loads((tmp_path / 'run' / 'config.json').read_text())
    assert config['hyperparameters']['threads'] == AUTO
    assert config['threads_used'] == {'intra_op': threads[0], 'inter_op': threads[1]}
    args = argparse.Namespace(env='CartPole-v1', resume='run', max_steps=96, threads=[3, 1])
    check_resume_flags(args, {'env', 'resume', 'max_steps', 'threads'}, config, agent_module('ppo'))
    config['hyperparameters']['threads'] = list(other_than(threads))  # as a fresh process could have run it
    (tmp_path / 'run' / 'config.json').write_text(json.dumps(config))
    assert load('run').threads == threads


def test_tune_fixes_the_threads_for_every_trial_and_its_train_command_gives_them():
    space = search_space([agent_module('ppo').CONFIG], {'threads': ['1', '1']})
    assert space['threads'].kind == 'fixed' and space['threads'].value == [1, 1]
    assert train_flags({'threads': [1, 1]}) == ['--threads', '1', '1']
    with pytest.raises(TuneError, match="--threads: expected auto or a whole number, got 'x'"):
        search_space([agent_module('ppo').CONFIG], {'threads': ['x']})


@pytest.mark.integration
def test_a_fresh_process_trains_with_the_threads_given(tmp_path):
    result = run_cli(tmp_path, 'train', 'ppo', '--env', 'CartPole-v1', '--max-steps', '512', '--threads', '1', '1')
    assert result.returncode == 0, result.stderr
    (run,) = (tmp_path / 'runs').iterdir()
    config = json.loads((run / 'config.json').read_text())
    assert config['hyperparameters']['threads'] == [1, 1]
    assert config['threads_used'] == {'intra_op': 1, 'inter_op': 1}
