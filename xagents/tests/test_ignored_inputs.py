"""Nothing a user gives is silently dropped or ignored: preset keys, logged scalars, the seed,
two flags that set one thing, flags given with --resume."""

import json

import pytest

from xagents.commands.main import main
from xagents.tests.test_cli import run_cli

TRAIN = 'train ppo --env CartPole-v1 --n-envs 2 --n-steps 16 --mini-batches 1 --max-steps 64 --quiet'.split()


def error_of(capsys, argv: list[str]) -> str:
    """The one line ``xagents`` prints when it refuses ``argv`` (exit code 2)."""
    with pytest.raises(SystemExit) as raised:
        main(argv)
    assert raised.value.code == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1, err
    return err.strip()


# ------------------------------------------------------------------ presets
@pytest.mark.parametrize(
    'content, message',
    [
        ({'learning_rate': 0.001}, "p.json: unknown preset key 'learning_rate' for ppo (did you mean lr?)"),
        ({'hyperparameters': {'n_stepz': 8}}, "p.json: unknown preset key 'n_stepz' for ppo (did you mean n_steps?)"),
        ({'buffer_max_size': 8}, "p.json: unknown preset key 'buffer_max_size' for ppo"),
        ({'tensorboard': True}, 'p.json: tensorboard cannot be in a preset'),
        ({'output_dir': 'x'}, 'give --output-dir on the command line'),
        ({'max_steps': 10}, 'p.json: max_steps cannot be in a preset'),
        ({'env': 'Pendulum-v1'}, 'p.json: env cannot be in a preset'),
    ],
)
def test_a_preset_key_xagents_does_not_take_is_an_error(tmp_path, capsys, content, message):
    (tmp_path / 'p.json').write_text(json.dumps(content))
    assert message in error_of(capsys, [*TRAIN, '--preset', 'p.json', '--output-dir', 'run'])
    assert not (tmp_path / 'run').exists()


def test_a_preset_takes_what_xagents_tune_writes(tmp_path, capsys):
    """Hyperparameters (an old name too), environment options and the loop options a tuning trial takes."""
    preset = {'clip_norm': 0.15, 'n_envs': 1, 'lam': 0.9, 'plateau_reduce_patience': 4, 'log_frequency': 3}
    (tmp_path / 'p.json').write_text(json.dumps({'agent': 'ppo', 'hyperparameters': preset}))
    assert main([*TRAIN, '--preset', 'p.json', '--output-dir', 'run']) == 0
    config = json.loads((tmp_path / 'run' / 'config.json').read_text())
    saved = config['hyperparameters']
    assert (saved['clip_range'], saved['lam'], saved['plateau_reduce_patience']) == (0.15, 0.9, 4)
    assert saved['log_frequency'] == 3


def test_an_unknown_preset_key_through_the_command(tmp_path):
    (tmp_path / 'p.json').write_text(json.dumps({'learning_rate': 0.001}))
    result = run_cli(tmp_path, *TRAIN, '--preset', 'p.json')
    assert result.returncode == 2
    assert result.stderr == "xagents: error: p.json: unknown preset key 'learning_rate' for ppo (did you mean lr?)\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ['p.json']


# ------------------------------------------------------------------ two flags that set one thing
BOTH = {
    'dqn': (
        {'epsilon_decay_steps': 500, 'exploration_fraction': 0.5},
        '--epsilon-decay-steps and --exploration-fraction both set how long epsilon decays: give one of them',
    ),
    'sac': (
        {'ent_coef': 0.1, 'init_ent_coef': 0.5},
        '--ent-coef and --init-ent-coef both set the entropy temperature (fixed, or where the learned one starts)',
    ),
    'sac ': ({'ent_coef': 0.1, 'target_entropy': -2.0}, '--ent-coef and --target-entropy both set'),
}
ENVS = {'dqn': 'xagents.tests.tiny_envs:Corridor-v0', 'sac': 'Pendulum-v1'}


@pytest.mark.parametrize('agent', list(BOTH))
def test_two_ways_of_setting_one_thing_are_refused_together_in_python(agent):
    import xagents

    values, message = BOTH[agent]
    with pytest.raises(ValueError) as raised:
        xagents.agents[agent.strip()].from_env(ENVS[agent.strip()], quiet=True, **values)
    assert message in str(raised.value)


@pytest.mark.parametrize('agent', list(BOTH))
def test_two_ways_of_setting_one_thing_are_refused_together_on_the_command_line(tmp_path, capsys, agent):
    values, message = BOTH[agent]
    name = agent.strip()
    flags = [part for key, value in values.items() for part in ('--' + key.replace('_', '-'), str(value))]
    argv = ['train', name, '--env', ENVS[name], '--max-steps', '10', *flags, '--output-dir', 'run']
    assert message in error_of(capsys, argv)
    assert not (tmp_path / 'run').exists()


def test_a_flag_given_replaces_the_presets_other_way_of_setting_it():
    """DQN's CartPole preset sets --epsilon-decay-steps: --exploration-fraction given wins, without an error."""
    from xagents.commands.agent_flags import hyperparameters
    from xagents.commands.main import command_parser
    from xagents.dqn import config

    parser = command_parser('train', config)
    preset = config.PRESETS['CartPole-v1']
    args = parser.parse_args(['--env', 'CartPole-v1', '--exploration-fraction', '0.2'])
    values = hyperparameters(config, args, preset)
    assert values['exploration_fraction'] == 0.2 and 'epsilon_decay_steps' not in values
    assert values['n_step'] == preset['n_step']  # the rest of the preset stays
    args = parser.parse_args(['--env', 'CartPole-v1', '--epsilon-decay-steps', '300'])
    assert hyperparameters(config, args, {'exploration_fraction': 0.3})['epsilon_decay_steps'] == 300
    assert 'exploration_fraction' not in hyperparameters(config, args, {'exploration_fraction': 0.3})
    config.CONFIG(**hyperparameters(config, args, {'exploration_fraction': 0.3}))  # no conflict


def test_the_command_line_flag_wins_over_the_preset_in_a_run(tmp_path):
    argv = 'train dqn --env CartPole-v1 --max-steps 300 --quiet --output-dir run --exploration-fraction 0.2'
    assert main(argv.split()) == 0
    saved = json.loads((tmp_path / 'run' / 'config.json').read_text())['hyperparameters']
    assert (saved['exploration_fraction'], saved['epsilon_decay_steps']) == (0.2, None)
    assert saved['n_step'] == 3  # the preset's


def test_a_preset_file_with_both_ways_is_refused(tmp_path, capsys):
    (tmp_path / 'p.json').write_text(json.dumps({'epsilon_decay_steps': 500, 'exploration_fraction': 0.5}))
    argv = ['train', 'dqn', '--env', ENVS['dqn'], '--max-steps', '10', '--preset', 'p.json']
    assert BOTH['dqn'][1] in error_of(capsys, argv)


def test_a_run_saved_with_both_ways_loads_with_the_one_it_used(tmp_path, capsys):
    """Runs of before the check saved the fraction's default beside the steps given: the steps were used."""
    import xagents

    assert main(['train', 'dqn', '--env', ENVS['dqn'], '--max-steps', '60', '--quiet', '--output-dir', 'run']) == 0
    path = tmp_path / 'run' / 'config.json'
    config = json.loads(path.read_text())
    config['hyperparameters'].update(epsilon_decay_steps=500, exploration_fraction=0.1)
    path.write_text(json.dumps(config))
    loaded = xagents.load('run')
    assert (loaded.config.epsilon_decay_steps, loaded.config.exploration_fraction) == (500, None)
    assert main(['train', 'dqn', '--resume', 'run', '--max-steps', '120', '--quiet']) == 0
    assert main('play dqn --run run --episodes 1 --max-steps 20'.split()) == 0


def test_a_searched_field_replaces_the_presets_other_way_in_tuning():
    from xagents.dqn.config import DQNConfig
    from xagents.tune.space import Dimension, add_preset

    space = {'exploration_fraction': Dimension('exploration_fraction', 'range', low=0.05, high=0.3)}
    add_preset(space, {'epsilon_decay_steps': 10_000, 'n_step': 3}, DQNConfig)
    assert 'epsilon_decay_steps' not in space and space['n_step'].value == 3
