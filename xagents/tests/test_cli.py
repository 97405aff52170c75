"""The command line: help tables, one-line errors with exit code 2, and real subprocess runs."""

import dataclasses
import importlib
import json
import os
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

import xagents
from xagents.commands.main import main
from xagents.core.schema import field_type, flag_name

XAGENTS = [sys.executable, '-m', 'xagents']


def run_cli(cwd, *args, timeout=300):
    """Run the real `xagents` entry point in ``cwd``."""
    env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2'}
    return subprocess.run([*XAGENTS, *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)


def test_usage_lists_commands_and_agents(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    for word in ('train', 'play', 'tune', 'plot', 'ppo', 'dqn', xagents.__version__):
        assert word in out


@pytest.mark.parametrize('agent', list(xagents.AGENTS))
def test_agent_help_table_matches_config(capsys, agent):
    assert main(['train', agent]) == 0
    out = capsys.readouterr().out
    module = __import__(f'xagents.{agent}.config', fromlist=['_'])
    for field in dataclasses.fields(module.CONFIG):
        if not field.metadata:  # fixed settings, such as DDPG's single critic, are not flags
            assert flag_name(field.name) + ' ' not in out
            continue
        line = next(line for line in out.splitlines() if line.strip().startswith(flag_name(field.name) + ' '))
        if field_type(field) is not bool and field.default is not None:
            assert str(field.default) in line
        if field.metadata['tune']:
            assert field.metadata['tune'] in line


@pytest.mark.parametrize('agent', list(xagents.AGENTS))
def test_constructor_defaults_come_from_the_flag_definitions(agent):
    agent_class = xagents.agents[agent]
    module = __import__(f'xagents.{agent}.config', fromlist=['_'])
    assert agent_class.Config is module.CONFIG
    assert agent_class.model_roles == module.MODEL_ROLES


@pytest.mark.parametrize(
    'args, message',
    [
        (['dance'], 'unknown command'),
        (['train', 'nope', '--env', 'CartPole-v1'], 'unknown agent'),
        (
            ['train', 'ppo', '--env', 'CartPole-v1', '--max-steps', '10', '--learning-rat', '1'],
            'unrecognized arguments',
        ),
        (['train', 'ppo', '--max-steps', '10'], 'required: --env'),
        (
            ['train', 'ppo', '--env', 'CartPole-v1', '--no-presets'],
            '--target-reward or --max-steps',
        ),  # no preset budget
        (['train', 'ppo', '--env', 'CartPole-v1', '--max-steps', '10', '--n-envs', '0'], 'must be > 0'),
        (['train', 'ppo', '--env', 'CartPole-v1', '--max-steps', '10', '--lr', 'abc'], 'expected a number or lin_'),
        (['train', 'ppo', '--env', 'NoSuchEnv-v0', '--max-steps', '10'], 'unknown environment'),
        (['train', '--env', 'CartPole-v1'], 'needs an agent first'),
        (['tune', 'ppo', '--env', 'CartPole-v1', '--study', 's'], 'tune needs --trial-steps N'),
        (
            ['tune', 'ddpg', '--env', 'Pendulum-v1', '--study', 's', '--trial-steps', '9', '--actor-model', 'a.cfg'],
            'give every model file or none: --actor-model --critic-model',
        ),
        (['train', 'ddpg', '--env', 'Pendulum-v1', '--max-steps', '10', '--policy-delay', '2'], 'unrecognized'),
        (['play', 'ppo', '--env', 'CartPole-v1', '--random', '--deterministic', '--stochastic'], 'exclude each other'),
        (['play', 'ppo', '--env', 'CartPole-v1', '--random', '--video-interval', '5'], 'unrecognized'),
        (['train', 'ppo', '--env', 'CartPole-v1', '--max-steps', '10', '--eval-interval', '0'], 'must be > 0'),
    ],
)
def test_usage_errors_in_process(capsys, args, message):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count('\n') == 1


# A few through the real binary by default (~8 s each: a process that imports TensorFlow); the in-process
# table checks the rest of the messages, these all run with the integration tests.
@pytest.mark.parametrize(
    'args, message',
    [
        pytest.param(
            ['train', 'dqn', '--env', 'Pendulum-v1', '--max-steps', '10'],
            'discrete action space',
            marks=pytest.mark.integration,
        ),
        pytest.param(
            ['train', 'acer', '--env', 'Pendulum-v1', '--max-steps', '10'],
            'discrete action space',
            marks=pytest.mark.integration,
        ),
        pytest.param(
            ['train', 'td3', '--env', 'CartPole-v1', '--max-steps', '10'],
            'continuous (Box) action space',
            marks=pytest.mark.integration,
        ),
        pytest.param(
            ['play', 'ppo', '--env', 'CartPole-v1', '--random', '--output', '.'],
            '--output must be a file',
            marks=pytest.mark.integration,
        ),
        pytest.param(
            ['play', 'ppo', '--env', 'CartPole-v1', '--random', '--video-dir', '/proc/version'],
            'File exists',
            marks=pytest.mark.integration,
        ),
        pytest.param(
            ['train', 'dqn', '--env', 'CartPole-v1', '--max-steps', '10', '--per-alpha', '2'],
            'per-alpha must be in',
            marks=pytest.mark.integration,
        ),
        pytest.param(
            ['train', 'trpo', '--env', 'CartPole-v1', '--max-steps', '10', '--checkpoints', 'a.tf'],
            'needs 2 path',
            marks=pytest.mark.integration,
        ),
        pytest.param(
            ['train', 'ppo', '--env', 'CartPole-v1', '--max-steps', '10', '--gamma', '1.5'],
            'gamma must be in (0, 1]',
            marks=pytest.mark.integration,
        ),
        (['play', 'ppo', '--env', 'CartPole-v1', '--weights', 'missing.tf'], 'weights not found'),
        pytest.param(
            ['train', 'ppo', '--env', 'CartPole-v1', '--max-steps', '10', '--model', 'missing.cfg'],
            'model file not found',
            marks=pytest.mark.integration,
        ),
        pytest.param(
            ['train', 'ppo', '--env', 'CartPole-v1', '--max-steps', '10', '--resume', '.'],
            'not an xagents run directory',
            marks=pytest.mark.integration,
        ),
        pytest.param(
            ['train', 'ppo', '--env', 'CartPole-v1', '--max-steps', '10', '--checkpoints', 'a.tf', 'b.tf'],
            'needs 1 path',
            marks=pytest.mark.integration,
        ),
    ],
)
def test_errors_through_the_real_entry_point(tmp_path, args, message):
    result = run_cli(tmp_path, *args, timeout=120)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert result.stderr.count('\n') == 1, result.stderr
    assert 'Traceback' not in result.stderr


@pytest.mark.integration  # a subprocess
def test_output_piped_into_a_reader_that_stops_ends_quietly(tmp_path):
    """``xagents play ... | head -1``: the reader goes, the next print meets a broken pipe, and the
    command ends without an error line (it said ``xagents: error: [Errno 32] Broken pipe``)."""
    env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2'}
    command = [*XAGENTS, 'play', 'ppo', '--env', 'CartPole-v1', '--random', '--episodes', '40']
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path, env=env)
    process.stdout.readline()  # head -1
    process.stdout.close()
    stderr = process.communicate(timeout=120)[1].decode()
    assert process.returncode == 1 and 'error' not in stderr and 'Traceback' not in stderr, stderr


def test_a_broken_pipe_is_not_turned_into_a_command_error(monkeypatch, capfd):
    entry = importlib.import_module('xagents.commands.main')
    from xagents.commands.failing import run_guarded

    def broken():
        raise BrokenPipeError(32, 'Broken pipe')

    with pytest.raises(BrokenPipeError):
        run_guarded(broken)
    monkeypatch.setattr(entry, 'command_line', lambda argv: run_guarded(broken))
    monkeypatch.setattr(entry.os, 'dup2', lambda *fds: None)  # pytest's own stdout stays
    assert entry.main(['export']) == 1 and capfd.readouterr().err == ''


@pytest.mark.integration  # subprocesses: the default run stays under 10 minutes on 2 cores
def test_train_play_plot_subprocess(tmp_path):
    train = run_cli(
        tmp_path,
        *'train ppo --env CartPole-v1 --max-steps 4000 --checkpoints ppo.tf --history-checkpoint h.parquet'.split(),
        *'--seed 1 --log-frequency 20'.split(),
    )
    assert train.returncode == 0, train.stderr
    assert 'Maximum steps exceeded' in train.stdout and 'mean reward' in train.stdout
    assert pq.read_table(tmp_path / 'h.parquet').num_rows > 50
    play = run_cli(
        tmp_path,
        *'play ppo --env CartPole-v1 --weights ppo.tf --video-dir video --render --episodes 8'.split(),
    )
    assert play.returncode == 0, play.stderr
    assert 'episode 8: reward' in play.stdout and 'over 8 episode(s)' in play.stdout
    assert sorted(os.listdir(tmp_path / 'video')) == [f'CartPole-v1-episode-{k}.mp4' for k in range(8)]
    from xagents.tests.test_monitoring import video_codec

    assert {video_codec(path) for path in (tmp_path / 'video').iterdir()} == {'h264'}
    plot = run_cli(tmp_path, 'plot', 'h.parquet', '--output', 'p.png', timeout=120)
    assert plot.returncode == 0, plot.stderr
    assert (tmp_path / 'p.png').read_bytes()[:4] == b'\x89PNG'


@pytest.mark.integration  # ~11 s of subprocesses
def test_two_model_agent_trains_and_plays_from_its_run_directory(tmp_path):
    train = run_cli(tmp_path, *'train trpo --env CartPole-v1 --max-steps 2048 --output-dir run --seed 0'.split())
    assert train.returncode == 0, train.stderr
    assert {'best-actor', 'best-critic', 'latest', 'config.json'} <= set(os.listdir(tmp_path / 'run'))
    play = run_cli(tmp_path, *'play trpo --run run --episodes 2'.split())
    assert play.returncode == 0, play.stderr
    assert 'over 2 episode(s)' in play.stdout


@pytest.mark.integration  # ~18 s of subprocesses each
@pytest.mark.parametrize('agent', ['td3', 'sac'])
def test_off_policy_run_resumes_with_its_buffer_and_plays(tmp_path, agent):
    quick = '--buffer-initial-size 200 --train-frequency 20 --gradient-steps 5 --seed 0 --save-buffer'.split()
    first = run_cli(tmp_path, *f'train {agent} --env Pendulum-v1 --max-steps 400 --output-dir run'.split(), *quick)
    assert first.returncode == 0, first.stderr
    assert (tmp_path / 'run' / 'replay-buffer.npz').is_file()
    second = run_cli(tmp_path, *f'train {agent} --env Pendulum-v1 --max-steps 800 --resume run'.split(), *quick)
    assert second.returncode == 0, second.stderr
    assert 'Resuming run at step 400' in second.stdout and 'Replay buffer restored: 400 transitions' in second.stdout
    play = run_cli(tmp_path, *f'play {agent} --run run --episodes 1'.split())
    assert play.returncode == 0, play.stderr
    assert 'over 1 episode(s)' in play.stdout


@pytest.mark.integration  # subprocesses: the default run stays under 10 minutes on 2 cores
def test_dueling_dqn_plays_from_its_run_directory(tmp_path):
    """The preset's dueling head changes the model's outputs: play --run must build the same model."""
    train = run_cli(tmp_path, *'train dqn --env CartPole-v1 --max-steps 1500 --output-dir run --seed 0'.split())
    assert train.returncode == 0, train.stderr
    play = run_cli(tmp_path, *'play dqn --run run --episodes 1'.split())
    assert play.returncode == 0, play.stderr
    assert 'over 1 episode(s)' in play.stdout


def test_random_baseline_evaluation_written_as_json(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main('play ppo --env CartPole-v1 --random --episodes 8 --seed 0 --output out/r.json'.split()) == 0
    out = capsys.readouterr().out
    assert 'episode 8: reward' in out and 'over 8 episode(s)' in out
    import json

    result = json.loads((tmp_path / 'out' / 'r.json').read_text())
    assert result['policy'] == 'random' and result['episodes'] == len(result['per_episode']) == 8
    rewards = [episode['reward'] for episode in result['per_episode']]
    assert result['mean_reward'] == pytest.approx(np.mean(rewards))
    assert all(episode['length'] == episode['reward'] for episode in result['per_episode'])  # CartPole: 1 per step
    assert 10 < result['mean_reward'] < 60  # a random CartPole policy averages about 22


def test_preset_switch_can_be_turned_off():
    from xagents.commands.agent_flags import hyperparameters
    from xagents.commands.main import command_parser

    module = __import__('xagents.dqn.config', fromlist=['_'])
    args = command_parser('train', module).parse_args('--env CartPole-v1 --no-dueling'.split())
    assert hyperparameters(module, args, module.PRESETS['CartPole-v1'])['dueling'] is False
    args = command_parser('train', module).parse_args('--env CartPole-v1'.split())
    assert hyperparameters(module, args, module.PRESETS['CartPole-v1'])['dueling'] is True


def test_play_takes_the_training_flags_of_0_2_but_none_that_records_or_evaluates():
    from xagents.commands.main import command_parser

    module = __import__('xagents.ppo.config', fromlist=['_'])
    parser = command_parser('play', module)
    args = parser.parse_args('--env CartPole-v1 --quiet --save-interval 5 --log-frequency 3'.split())
    assert (args.quiet, args.save_interval, args.log_frequency) == (True, 5.0, 3)
    for flag in ('--eval-interval 5', '--tensorboard', '--video-interval 2', '--output-dir d'):
        with pytest.raises(SystemExit):
            parser.parse_args(['--env', 'CartPole-v1', *flag.split()])


def test_plot_of_a_non_history_file_is_a_clear_error(tmp_path, capsys):
    (tmp_path / 'x.parquet').write_text('not parquet')
    with pytest.raises(SystemExit) as exit_info:
        main(['plot', str(tmp_path / 'x.parquet'), '--output', str(tmp_path / 'p.png')])
    assert exit_info.value.code == 2
    assert 'not a readable parquet file' in capsys.readouterr().err


def test_errors_from_compiled_code_show_their_message_line():
    from xagents.core.errors import error_line

    error = TypeError('in user code:\n\n    File "agent.py", line 1, in step  *\n\n    TypeError: dtypes differ\n')
    assert error_line(error) == 'TypeError: dtypes differ'
    assert error_line(ValueError('--lr must be > 0\nmore')) == '--lr must be > 0'
    assert error_line(ValueError()) == 'ValueError'
    long = error_line(ValueError('space ' + 'Box(0, 255) ' * 60 + 'flatten or wrap it'))
    assert long.endswith('Box(0, 255) ...') and 500 < len(long) <= 604  # cut between words, not in one


def test_hints_know_the_flag_names_of_rl_zoo_and_cleanrl(capsys):
    with pytest.raises(SystemExit):
        main(['train', 'DQN', '--env', 'CartPole-v1', '--n-timesteps', '5', '--save-freq', '3', '-f', 'x'])
    assert '(did you mean --max-steps, --save-interval (in seconds), --output-dir?)' in capsys.readouterr().err
    for agent, hint in (('dqn', '--buffer-batch-size'), ('ppo', '--mini-batches (a count: rollout size / batch size)')):
        with pytest.raises(SystemExit):
            main(['train', agent, '--env', 'CartPole-v1', '--batch-size', '3', '--eval-freq', '3', '-i', 'w'])
        assert f'(did you mean {hint}, --eval-interval, --weights?)' in capsys.readouterr().err


def test_agent_names_are_case_insensitive_and_help_fits_the_terminal(capsys, monkeypatch):
    monkeypatch.setenv('COLUMNS', '80')
    for command in ('train', 'play', 'tune'):
        assert main([command, 'PPO']) == 0
        lines = capsys.readouterr().out.splitlines()
        assert '  --clip-range' in '\n'.join(lines)
        assert max(map(len, lines)) <= 80
    assert main(['export']) == 0
    assert max(map(len, capsys.readouterr().out.splitlines())) <= 80


def test_the_old_clip_norm_flag_and_keyword_still_set_clip_range(capsys):
    """PPO's ratio clip range was called clip_norm until it took SB3's name: the old names still work."""
    from xagents.commands.agent_flags import hyperparameters
    from xagents.commands.main import command_parser

    module = __import__('xagents.ppo.config', fromlist=['_'])
    parser = command_parser('train', module)
    for flag in ('--clip-range', '--clip-norm'):
        args = parser.parse_args(['--env', 'CartPole-v1', flag, 'lin_0.1'])
        assert args.clip_range == 'lin_0.1' and 'clip_norm' not in vars(args)
    assert main(['train', 'ppo']) == 0
    assert '--clip-norm' not in capsys.readouterr().out  # hidden from the help
    with pytest.raises(SystemExit):
        main(['train', 'ppo', '--env', 'CartPole-v1', '--max-steps', '9', '--clip-rang', '0.1'])
    assert '(did you mean --clip-range?)' in capsys.readouterr().err
    assert hyperparameters(module, args, {'clip_norm': 0.3}) == {'clip_range': 'lin_0.1'}  # a tune preset of before
    assert hyperparameters(module, parser.parse_args(['--env', 'E']), {'clip_norm': 0.3}) == {'clip_range': 0.3}
    with pytest.warns(DeprecationWarning, match='clip_norm is deprecated: use clip_range'):
        agent = xagents.PPO.from_env('CartPole-v1', n_steps=16, mini_batches=1, clip_norm='lin_0.1', quiet=True)
    assert agent.config.clip_range == 'lin_0.1' and agent.schedules == ['clip_range']
    assert float(agent.graph_values['clip_range'].numpy()) == pytest.approx(0.1)
    with pytest.warns(DeprecationWarning, match='clip_norm is deprecated'):
        direct = xagents.PPO(agent.envs, agent.model, n_steps=16, mini_batches=1, clip_norm=0.3)
    assert direct.config.clip_range == 0.3
    with pytest.raises(TypeError, match='clip_norm is the old name of clip_range: give one of them'):
        xagents.PPO.from_env('CartPole-v1', clip_norm=0.1, clip_range=0.2)


@pytest.mark.integration  # ~9 s: three short trainings and a play
def test_a_run_saved_with_clip_norm_resumes_loads_and_plays(tmp_path, monkeypatch, capsys):
    """A config.json of before the rename (``clip_norm`` in its hyperparameters) still works everywhere."""
    monkeypatch.chdir(tmp_path)
    train = 'train ppo --env CartPole-v1 --n-steps 16 --mini-batches 1 --quiet --output-dir run'.split()
    assert main([*train, '--max-steps', '64', '--clip-range', '0.15']) == 0
    path = tmp_path / 'run' / 'config.json'
    config = json.loads(path.read_text())
    config['hyperparameters']['clip_norm'] = config['hyperparameters'].pop('clip_range')
    path.write_text(json.dumps(config))
    assert xagents.load('run', 'latest').config.clip_range == 0.15
    assert main('play ppo --run run --episodes 1 --max-steps 20'.split()) == 0
    assert 'over 1 episode(s)' in capsys.readouterr().out
    # (past the first run's 128 steps: 8 envs of 16; a budget it has reached trains nothing, saving nothing)
    assert main([*train[:-2], '--max-steps', '256', '--resume', 'run']) == 0
    saved = json.loads(path.read_text())['hyperparameters']
    assert saved['clip_range'] == 0.15 and 'clip_norm' not in saved
    # A preset xagents tune wrote then: its schedule held at its first value without --max-steps.
    (tmp_path / 'best.json').write_text(json.dumps({'hyperparameters': {'clip_norm': 'lin_0.1'}}))
    loud = [argument for argument in train[:-1] if argument != '--quiet']
    assert main([*loud, 'preset-run', '--preset', 'best.json', '--target-reward', '1']) == 0
    assert 'clip_range=lin_0.1 (held at 0.1: no --max-steps)' in capsys.readouterr().out
    assert json.loads((tmp_path / 'preset-run' / 'config.json').read_text())['hyperparameters']['clip_range'] == 0.1


def test_quiet_training_prints_nothing_new_or_resumed(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train = ['train', 'ppo', '--env', 'CartPole-v1', '--n-steps', '16', '--quiet', '--output-dir', 'run']
    assert main([*train, '--max-steps', '128']) == 0  # with the CartPole-v1 preset
    assert main(['train', 'ppo', '--resume', 'run', '--max-steps', '256', '--quiet']) == 0
    assert capsys.readouterr().out == ''
