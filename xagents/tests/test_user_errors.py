"""What a user's module, file or call can do wrong is one line naming it (exit 2 through the CLI,
a clear exception in Python), with nothing written: env modules and functions that raise, values
the flags refuse given in Python, and callbacks that are not callbacks."""

import json
import shutil
import sys

import pytest

import xagents
from xagents.commands.main import main
from xagents.run.checkpoints import saved_state
from xagents.tests.test_cli import run_cli

TINY = 'xagents.tests.tiny_envs'


def train_fails(capsys, run, *args) -> str:
    """The one line of a train command that must fail with exit 2 and leave no run folder."""
    with pytest.raises(SystemExit) as exit_info:
        main(['train', 'ppo', *args, '--max-steps', '100', '--output-dir', str(run)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith('xagents: error: '), err
    assert not run.exists()
    return err


@pytest.fixture
def env_modules(tmp_path, monkeypatch):
    """Env modules of a user's own that raise on import, importable from ``tmp_path``."""
    folder = tmp_path / 'modules'
    folder.mkdir()
    (folder / 'syntax_envs.py').write_text('import gymnasium\ndef broken(:\n    pass\n')
    (folder / 'simulator_envs.py').write_text("raise RuntimeError('the simulator is not installed')\n")
    monkeypatch.syspath_prepend(str(folder))
    yield folder
    for name in ('syntax_envs', 'simulator_envs'):
        sys.modules.pop(name, None)


@pytest.mark.parametrize(
    'env, message',
    [
        ('syntax_envs:Env-v0', '--env syntax_envs:Env-v0: importing syntax_envs raised SyntaxError: invalid syntax'),
        (
            'simulator_envs:Env-v0',
            '--env simulator_envs:Env-v0: importing simulator_envs raised RuntimeError: the simulator is not installed',
        ),
    ],
)
def test_an_env_module_that_raises_on_import_is_one_line(tmp_path, capsys, env_modules, env, message):
    assert message in train_fails(capsys, tmp_path / 'run', '--env', env)


@pytest.mark.parametrize(
    'args, message',
    [
        (
            [f'{TINY}:NoSimulator-v0'],
            f'{TINY}:NoSimulator-v0 raised RuntimeError while making the env: the simulator is not installed',
        ),
        ([f'{TINY}:ResetDivides-v0'], f'{TINY}:ResetDivides-v0 raised ZeroDivisionError in reset(): division by zero'),
        (
            [f'{TINY}:Corridor-v0', '--env-kwargs', 'pole:1'],
            f"{TINY}:Corridor-v0 raised TypeError while making the env (env kwargs {{'pole': 1}}): ",
        ),
        (
            [f'{TINY}:StepFailsLater-v0', '--env-kwargs', 'fail_after:0'],
            f'{TINY}:StepFailsLater-v0 raised OSError in step(): the simulator lost its connection',
        ),
        ([f'{TINY}:make_broken'], f'{TINY}:make_broken raised ZeroDivisionError while making the env: division by'),
    ],
)
def test_an_env_that_raises_when_made_reset_or_stepped_is_one_line_before_any_file(tmp_path, capsys, args, message):
    assert message in train_fails(capsys, tmp_path / 'run', '--env', *args)


def test_an_env_function_that_raises_is_a_value_error_in_python(tmp_path):
    from xagents.tests.tiny_envs import make_broken

    with pytest.raises(ValueError, match='make_broken raised ZeroDivisionError while making the env'):
        xagents.PPO.from_env(make_broken, output_dir=tmp_path / 'run')
    with pytest.raises(ValueError, match=r'ResetDivides-v0 raised ZeroDivisionError in reset\(\)'):
        xagents.PPO.from_env(f'{TINY}:ResetDivides-v0', output_dir=tmp_path / 'run')
    assert not (tmp_path / 'run').exists()


def test_an_env_step_that_raises_mid_training_is_one_line_and_the_run_stays_as_last_saved(tmp_path):
    """The real command: exit 2, one line, and the latest checkpoint as saved before the error."""
    command = f'train ppo --env {TINY}:StepFailsLater-v0 --env-kwargs fail_after:200 --n-steps 32 --mini-batches 4'
    result = run_cli(tmp_path, *command.split(), '--max-steps', '5000', '--output-dir', 'run', '--quiet')
    assert result.returncode == 2, result.stderr
    assert result.stderr.count('\n') == 1 and 'Traceback' not in result.stderr, result.stderr
    assert 'StepFailsLater-v0 raised OSError in step(): the simulator lost its connection' in result.stderr
    assert 'the run is kept as last saved (step 0) in run' in result.stderr
    assert saved_state(tmp_path / 'run' / 'latest')['steps'] == 0  # not the steps of the failed iteration


@pytest.mark.parametrize(
    'keywords, message',
    [
        ({'n_steps': 0}, '--n-steps: must be > 0, got 0'),
        ({'n_steps': -64}, '--n-steps: must be > 0, got -64'),
        ({'n_steps': 'many'}, "--n-steps: expected int, got 'many'"),
        ({'n_steps': 2.5}, '--n-steps: expected int, got 2.5'),
        ({'gamma': 'high'}, "--gamma: expected float, got 'high'"),
        ({'grad_norm': float('inf')}, '--grad-norm: expected a finite number, got inf'),
        ({'opt_epsilon': 0}, '--opt-epsilon: must be > 0, got 0'),
        ({'eval_episodes': 0}, '--eval-episodes: must be > 0, got 0'),  # a training option
        ({'save_interval': -1.0}, '--save-interval: must be > 0, got -1.0'),
    ],
)
def test_from_env_refuses_what_the_flags_refuse_before_any_run_folder(tmp_path, keywords, message):
    with pytest.raises(ValueError) as error:
        xagents.PPO.from_env('CartPole-v1', output_dir=tmp_path / 'run', **keywords)
    assert str(error.value) == message
    assert not (tmp_path / 'run').exists()


def test_the_cli_and_python_give_the_same_message(tmp_path, capsys):
    err = train_fails(capsys, tmp_path / 'run', '--env', 'CartPole-v1', '--n-steps', '0')
    with pytest.raises(ValueError) as error:
        xagents.PPO.from_env('CartPole-v1', n_steps=0)
    assert str(error.value) in err


def test_an_integral_float_is_taken_for_an_int():
    assert xagents.DQN.Config(buffer_max_size=1e5).buffer_max_size == 100_000


@pytest.fixture(scope='module')
def agent(tmp_path_factory):
    return xagents.PPO.from_env('CartPole-v1', n_steps=16, mini_batches=4, quiet=True)


@pytest.mark.parametrize(
    'keywords, error, message',
    [
        ({'max_steps': -5}, ValueError, '--max-steps: must be > 0, got -5'),
        ({'max_steps': 0}, ValueError, '--max-steps: must be > 0, got 0'),
        ({'max_steps': 'lots'}, ValueError, "--max-steps: expected int, got 'lots'"),
        ({'target_reward': 'high'}, ValueError, "--target-reward: expected float, got 'high'"),
        ({'max_steps': 10, 'callbacks': [object()]}, TypeError, 'callbacks= takes xagents.train.Callback objects'),
        (
            {'max_steps': 10, 'callbacks': [xagents.train.Callback]},
            TypeError,
            '(the class: pass Callback())',
        ),
    ],
)
def test_fit_refuses_bad_arguments_before_any_run_folder(tmp_path, agent, keywords, error, message):
    with pytest.raises(error) as raised:
        agent.fit(output_dir=tmp_path / 'run', **keywords)
    assert message in str(raised.value)
    assert not (tmp_path / 'run').exists()


@pytest.fixture(scope='module')
def trained_run(tmp_path_factory):
    """A finished tiny PPO run, copied by each test that damages it."""
    run = tmp_path_factory.mktemp('trained') / 'run'
    args = ['train', 'ppo', '--env', 'CartPole-v1', '--n-envs', '2', '--n-steps', '16', '--mini-batches', '4']
    assert main([*args, '--max-steps', '600', '--seed', '0', '--quiet', '--output-dir', str(run)]) == 0
    return run


@pytest.fixture
def run_copy(trained_run, tmp_path):
    copy = tmp_path / 'run'
    shutil.copytree(trained_run, copy)
    return copy


def command_fails(capsys, *args) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith('xagents: error: '), err
    return err


def test_a_run_whose_latest_folder_is_gone_says_so_and_what_still_works(run_copy, tmp_path, capsys):
    shutil.rmtree(run_copy / 'latest')
    before = sorted(path.name for path in run_copy.iterdir())
    err = command_fails(capsys, 'train', 'ppo', '--resume', str(run_copy), '--max-steps', '1000')
    assert f'{run_copy} has no latest checkpoint (latest/ is missing): it cannot be resumed' in err
    assert f'its best checkpoint still plays and exports (xagents play --run {run_copy})' in err
    output = tmp_path / 'policy.onnx'
    err = command_fails(
        capsys, 'export', '--run', str(run_copy), '--checkpoint', 'latest', '--format', 'onnx', '--output', str(output)
    )
    assert 'has no latest checkpoint (latest/ is missing): its best checkpoint still loads and exports' in err
    with pytest.raises(ValueError) as error:
        xagents.load(run_copy, checkpoint='latest')
    assert 'latest/ is missing' in str(error.value)
    assert main(['play', 'ppo', '--run', str(run_copy), '--quiet']) == 0  # the best checkpoint plays
    assert sorted(path.name for path in run_copy.iterdir()) == before and not output.exists()


def test_a_run_with_no_checkpoint_left_says_what_is_left(run_copy, capsys):
    best = run_copy / json.loads((run_copy / 'config.json').read_text())['checkpoints'][0]
    shutil.rmtree(run_copy / 'latest')
    shutil.rmtree(best)
    before = sorted(path.name for path in run_copy.iterdir())
    output = run_copy.parent / 'policy.onnx'
    export = ['export', '--run', str(run_copy), '--format', 'onnx', '--output', str(output)]
    for command in (['play', 'ppo', '--run', str(run_copy)], export):
        err = command_fails(capsys, *command)
        assert f'{run_copy} has no checkpoint to load (neither {best.name}/ nor latest/ holds one)' in err
        assert 'only its history is left (xagents plot)' in err
    with pytest.raises(ValueError, match='has no checkpoint to load'):
        xagents.load(run_copy)
    assert sorted(path.name for path in run_copy.iterdir()) == before and not output.exists()


CONFIG_EDITS = [
    ('a missing key', lambda config: config.pop('hyperparameters'), 'no "hyperparameters": the run cannot be rebuilt'),
    ('a list where an object goes', lambda config: config.update(env_kwargs=['length', 7]), '"env_kwargs" must be an'),
    ('an unknown agent', lambda config: config.update(agent='rainbow'), '"agent" is "rainbow", expected one of: a2c'),
    ('a non-string env', lambda config: config.update(env=5), '"env" must be a string, got 5'),
    ('a count of envs as text', lambda config: config.update(n_envs='4'), '"n_envs" must be a number of envs'),
    (
        'a hyperparameter of the wrong type',
        lambda config: config['hyperparameters'].update(n_steps='many'),
        'in "hyperparameters", --n-steps: expected int, got \'many\'',
    ),
    (
        'an unknown hyperparameter',
        lambda config: config['hyperparameters'].update(learning_rate=0.01),
        '"hyperparameters" has an unknown key \'learning_rate\'',
    ),
    (
        'a training option of the wrong type',
        lambda config: config['hyperparameters'].update(save_interval=[30]),
        'in "hyperparameters", --save-interval: expected float, got [30]',
    ),
]


@pytest.mark.parametrize('what, edit, message', CONFIG_EDITS, ids=[case[0] for case in CONFIG_EDITS])
def test_a_hand_edited_config_is_the_same_line_in_every_command(run_copy, tmp_path, capsys, what, edit, message):
    path = run_copy / 'config.json'
    config = json.loads(path.read_text())
    edit(config)
    path.write_text(json.dumps(config))
    before = sorted(str(file) for file in run_copy.rglob('*'))
    line = f'xagents: error: {path}: '
    commands = [
        ['play', 'ppo', '--run', str(run_copy)],
        ['train', 'ppo', '--resume', str(run_copy), '--max-steps', '2000'],
        ['export', '--run', str(run_copy), '--format', 'onnx', '--output', str(tmp_path / 'policy.onnx')],
    ]
    for command in commands:
        err = command_fails(capsys, *command)
        assert err.startswith(line) and message in err, (command, err)
    with pytest.raises(ValueError) as error:
        xagents.load(run_copy)
    assert f'xagents: error: {error.value}\n' == err
    assert sorted(str(file) for file in run_copy.rglob('*')) == before and path.read_text() == json.dumps(config)


@pytest.mark.parametrize(
    'output, message',
    [
        ('/proc/curve.png', 'cannot write --output /proc/curve.png: No such file or directory'),
        ('{tmp}/nowhere/curve.png', 'folder for --output does not exist: {tmp}/nowhere'),
        ('{tmp}/folder.png', '--output must be a .png file, {tmp}/folder.png is a folder'),
    ],
)
def test_plot_checks_its_output_before_drawing(trained_run, tmp_path, capsys, output, message):
    (tmp_path / 'folder.png').mkdir()
    before = sorted(tmp_path.rglob('*'))
    output, message = output.format(tmp=tmp_path), message.format(tmp=tmp_path)
    assert message in command_fails(capsys, 'plot', str(trained_run / 'history.parquet'), '--output', output)
    assert sorted(tmp_path.rglob('*')) == before


def test_plot_refuses_an_empty_history(trained_run, tmp_path, capsys):
    import pyarrow.parquet as pq

    empty = tmp_path / 'empty.parquet'
    pq.write_table(pq.read_table(trained_run / 'history.parquet').slice(0, 0), empty)
    err = command_fails(capsys, 'plot', str(empty), '--output', str(tmp_path / 'curve.png'))
    assert f'{empty} has no episodes yet: nothing to plot' in err
    assert not (tmp_path / 'curve.png').exists()
    from xagents.run.curves import plot_history

    with pytest.raises(ValueError, match='has no episodes yet'):
        plot_history([empty])


def test_the_real_command_on_a_foreign_config_is_one_line_before_tensorflow(run_copy):
    path = run_copy / 'config.json'
    path.write_text(json.dumps({**json.loads(path.read_text()), 'agent': 'rainbow'}))
    result = run_cli(run_copy.parent, 'play', 'ppo', '--run', 'run', timeout=120)
    assert result.returncode == 2 and result.stderr.count('\n') == 1, result.stderr
    assert result.stderr == 'xagents: error: run/config.json: "agent" is "rainbow", expected one of: ' + (
        'a2c, acer, ddpg, dqn, ppo, sac, td3, trpo\n'
    )
