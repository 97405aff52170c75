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
