"""xagents tune: the search space from flags, bad input, SQLite and PostgreSQL studies, failed trials."""

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from xagents.commands.main import main
from xagents.tests.test_cli import XAGENTS, run_cli
from xagents.tune.report import train_flags
from xagents.tune.space import Dimension, search_space

PPO_CLI = __import__('xagents.ppo.config', fromlist=['_'])
DQN_CLI = __import__('xagents.dqn.config', fromlist=['_'])
QUICK = '--trial-steps 600 --eval-episodes 2 --n-steps 16'.split()


def space(module, **given):
    from xagents.commands.environment import EnvOptions

    return search_space([EnvOptions, module.CONFIG], {name: list(values) for name, values in given.items()})


def test_one_value_fixes_two_give_a_range_several_are_choices():
    result = space(PPO_CLI, lr=['3e-4'], entropy_coef=['1e-4', '1e-1'], n_steps=['32', '128', '512'], n_envs=['4', '8'])
    assert result['lr'] == Dimension('lr', 'fixed', value=3e-4)
    assert result['entropy_coef'] == Dimension('entropy_coef', 'range', low=1e-4, high=0.1, log=True)
    assert result['n_steps'] == Dimension('n_steps', 'choices', choices=[32, 128, 512])
    assert result['n_envs'] == Dimension('n_envs', 'choices', choices=[4, 8])
    integer = space(DQN_CLI, target_sync_steps=['100', '2000'], dueling=[], double=['true', 'false'])
    assert integer['target_sync_steps'] == Dimension('target_sync_steps', 'range', low=100, high=2000, integer=True)
    assert integer['dueling'] == Dimension('dueling', 'fixed', value=True)
    assert integer['double'] == Dimension('double', 'choices', choices=[True, False])


def test_gamma_is_searched_as_one_minus_gamma_on_a_log_scale():
    import optuna

    dim = space(PPO_CLI, gamma=['0.9', '0.999'])['gamma']
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(0))
    from xagents.tune.space import suggest

    gammas = [suggest(study.ask(), {'gamma': dim})['gamma'] for _ in range(200)]
    assert all(0.9 <= gamma <= 0.999 for gamma in gammas)
    # Log-uniform in 1 - gamma: as many samples in [0.99, 0.999] as in [0.9, 0.99].
    assert 70 < sum(gamma > 0.99 for gamma in gammas) < 130
    assert study.trials[0].distributions['one_minus_gamma'].log


@pytest.mark.parametrize(
    'given, message',
    [
        ({'lr': ['1e-2', '1e-4']}, 'the range minimum 0.01 is above its maximum 0.0001'),
        ({'lr': ['1e-4', '1e-3', '1e-2']}, 'give one value or a range LOW HIGH, not 3 values'),
        ({'entropy_coef': ['0', '1e-2']}, 'log scale: its range must be above 0'),
        ({'reward_buffer_size': ['10', '100']}, '--reward-buffer-size is not tunable'),
        ({'n_steps': ['32', '32']}, 'values repeat'),
        ({'n_steps': ['-4']}, 'must be > 0'),
        ({'lr': ['fast']}, 'expected a number or lin_<number>'),
        ({'normalize_obs': ['maybe']}, 'takes true or false'),
        ({'lr': []}, 'needs a value'),
        ({'gamma': ['0.9', '1.0']}, 'must lie in (0, 1)'),
    ],
)
def test_bad_search_input_is_a_clear_error(given, message):
    from xagents.tune.options import TuneError

    with pytest.raises(TuneError, match=None) as error:
        space(PPO_CLI, **given)
    assert message in str(error.value)


@pytest.mark.parametrize(
    'args, message',
    [
        (['--lr', '1e-2', '1e-4'], 'the range minimum 0.01 is above its maximum 0.0001'),
        (['--learning-rate', '1e-3'], 'unrecognized arguments: --learning-rate'),
        (['--storage', 'postgresql://nobody@127.0.0.1:1/none'], 'cannot open the storage postgresql://'),
        (['--storage', 'nosuchdb://x'], 'cannot open the storage nosuchdb://x'),
        (['--n-trials', '0'], 'must be > 0'),
        (['--pruner', 'sometimes'], "invalid choice: 'sometimes'"),
        (['--n-steps', '32..128'], '--n-steps is categorical: list its choices'),
        (['--lam', '1.5'], '--lam must be in [0, 1], got 1.5'),
        (['--lam', '0.5', '1.5'], '--lam must be in [0, 1], got 1.5'),
        (['--model', 'missing.cfg'], 'model file not found: missing.cfg'),
        (['--sampler-seed', '-1'], '--sampler-seed must be in [0, 2**32)'),
        (['--storage', 'sqlite://'], 'in-memory database'),
        (['--study', ''], '--study needs a name'),
        (['--study', 'new', '--report'], "no study 'new'"),
        (['--output-dir', '/proc/version/x'], 'cannot create the output folder /proc/version/x'),
    ],
)
def test_bad_tune_command_lines_are_one_line_errors(tmp_path, capsys, args, message):
    base = ['tune', 'ppo', '--env', 'CartPole-v1', '--study', 's', '--output-dir', str(tmp_path / 'o'), *QUICK]
    with pytest.raises(SystemExit) as exit_info:
        main([*base, *args])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert message in error and error.count('\n') == 1, error


def test_train_flags_round_trip_through_the_train_parser():
    from xagents.commands.agent_flags import hyperparameters
    from xagents.commands.main import command_parser

    values = {'lr': 0.00031234567891, 'n_steps': 64, 'normalize_obs': True, 'value_clip': None, 'n_envs': 4}
    args = command_parser('train', PPO_CLI).parse_args(['--env', 'CartPole-v1', *train_flags(values)])
    assert args.n_envs == 4
    assert hyperparameters(PPO_CLI, args, {}) == {'lr': 0.00031234567891, 'n_steps': 64, 'normalize_obs': True}


@pytest.mark.parametrize('sampler', ['random', 'tpe'])
def test_a_sampler_seed_repeats_the_choices(sampler):
    import optuna

    from xagents.tune.space import suggest
    from xagents.tune.study import make_pruner, open_study

    given = space(PPO_CLI, lr=['1e-4', '1e-2'], n_steps=['16', '32', '64'], gamma=['0.9', '0.999'])

    def choices(seed):
        study = open_study(optuna.storages.InMemoryStorage(), 's', sampler, make_pruner('none', 1), seed)
        return [suggest(study.ask(), given) for _ in range(3)]

    assert choices(7) == choices(7)
    assert choices(7) != choices(8)


def test_trials_of_a_worker_killed_before_its_first_heartbeat_are_failed(tmp_path, monkeypatch):
    from xagents.tune import options
    from xagents.tune import study as tune

    storage = tune.make_storage(f'sqlite:///{tmp_path / "study.db"}')
    study = tune.open_study(storage, 's', 'random', tune.make_pruner('none', 1))
    study.ask()  # its worker dies before the first heartbeat
    alive = study.ask()
    storage.record_heartbeat(tune.trial_id(storage, study, alive.number))
    tune.fail_dead_trials(study, storage)  # younger than the grace period: left running
    assert [trial.state.name for trial in study.get_trials()] == ['RUNNING', 'RUNNING']
    monkeypatch.setattr(options, 'GRACE_PERIOD', 0)
    time.sleep(0.01)
    tune.fail_dead_trials(study, storage)
    assert [trial.state.name for trial in study.get_trials()] == ['FAIL', 'RUNNING']  # the heartbeat is fresh


def trials_of(storage: str, study: str):
    import optuna

    return optuna.load_study(study_name=study, storage=storage).get_trials(deepcopy=False)


@pytest.mark.integration
def test_sqlite_study_reports_the_best_and_its_command_trains(tmp_path):
    model = Path(PPO_CLI.__file__).parent / 'models' / 'ann-actor-critic.cfg'
    args = 'tune ppo --env CartPole-v1 --study s --n-trials 3 --n-jobs 2 --lr 1e-4..1e-2 --mini-batches 1 2'
    result = run_cli(tmp_path, *args.split(), '--model', str(model), '--no-presets', *QUICK)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert 'searching lr log float in [0.0001, 0.01]; mini_batches in {1, 2}' in out
    assert sum(line.startswith('trial ') for line in out.splitlines()) == 3
    folder = tmp_path / 'tune' / 's'
    trials = trials_of(f'sqlite:///{folder / "study.db"}', 's')
    assert sorted(trial.number for trial in trials) == [0, 1, 2]
    assert {trial.state.name for trial in trials} <= {'COMPLETE', 'PRUNED'}
    for trial in trials:  # the objective is the final evaluation, reported at the trial's last step
        if trial.state.name == 'COMPLETE':
            result_file = json.loads((folder / f'trial-{trial.number}' / 'result.json').read_text())
            assert trial.value == result_file['value'] == trial.intermediate_values[600]
            assert max(trial.intermediate_values) == 600
    preset = json.loads((folder / 'best-preset.json').read_text())
    assert preset['agent'] == 'ppo' and preset['hyperparameters']['n_steps'] == 16
    for plot in ('optimization-history.png', 'param-importances.png'):
        assert (folder / plot).read_bytes()[:4] == b'\x89PNG'
    lines = out.split('Train with them:\n')[1].splitlines()
    command = lines[0].split()
    assert command[:7] == ['xagents', 'train', 'ppo', '--env', 'CartPole-v1', '--model', str(model)]
    trained = run_cli(tmp_path, *command[1:], '--output-dir', 'best')
    assert trained.returncode == 0, trained.stderr
    assert 'Maximum steps exceeded' in trained.stdout
    from_preset = lines[1].strip().removeprefix('(or: ').removesuffix(' --max-steps ...)').split()
    assert from_preset[5:] == ['--model', str(model), '--preset', str(Path('tune/s/best-preset.json'))]
    trained = run_cli(tmp_path, *from_preset[1:], '--max-steps', '200', '--output-dir', 'best2')
    assert trained.returncode == 0, trained.stderr
    assert f'lr={preset["hyperparameters"]["lr"]}' in trained.stdout
    again = run_cli(tmp_path, *'tune ppo --env CartPole-v1 --study s --report'.split())
    assert again.returncode == 0 and f'Best: trial {preset["trial"]}' in again.stdout
    other = run_cli(tmp_path, *'tune ppo --env Acrobot-v1 --study s --report'.split())
    assert other.returncode == 2 and 'was made for: xagents tune ppo --env CartPole-v1' in other.stderr


@pytest.mark.integration
def test_crashing_trials_are_failed_and_the_study_goes_on(tmp_path):
    # 3 minibatches cannot divide a rollout of 16 steps x 8 envs evenly: those trials crash.
    # With this sampler seed the trials choose 3, 1, 1 minibatches.
    args = 'tune ppo --env CartPole-v1 --study c --n-trials 2 --mini-batches 1 3 --sampler random --sampler-seed 8'
    result = run_cli(tmp_path, *args.split(), *QUICK)
    assert result.returncode == 0, result.stderr
    trials = trials_of(f'sqlite:///{tmp_path / "tune" / "c" / "study.db"}', 'c')
    assert [trial.params['mini_batches'] for trial in trials] == [3, 1, 1]
    assert [trial.state.name for trial in trials] == ['FAIL', 'COMPLETE', 'COMPLETE']
    log = Path('tune', 'c', 'trial-0', 'log.txt')
    assert 'trial 0 failed (exit code 1: ValueError: ' in result.stdout and f'log: {log})' in result.stdout


@pytest.mark.integration
def test_a_worker_whose_trials_all_fail_stops_with_the_error(tmp_path):
    result = run_cli(tmp_path, *'tune ppo --env CartPole-v1 --study f --n-trials 5 --mini-batches 3'.split(), *QUICK)
    assert result.returncode == 1
    assert result.stdout.count(' failed (exit code 1: ValueError: ') == 3  # then it stops: 3 in a row
    error = result.stderr.strip()
    assert error.startswith('xagents: error: this worker stopped early: the last 3 trials of this worker failed')
    assert 'ValueError' in error and '\n' not in error


def worker(tmp_path, n_trials=5):
    from xagents.tune.options import TuneOptions
    from xagents.tune.study import make_pruner, make_storage, open_study
    from xagents.tune.worker import Worker

    storage = make_storage(f'sqlite:///{tmp_path / "study.db"}')
    study = open_study(storage, 's', 'random', make_pruner('none', 1))
    options = TuneOptions(study='s', trial_steps=100, n_trials=n_trials)
    return Worker(study, storage, {}, {'model_files': None}, options, tmp_path), study, storage


def test_how_each_trial_ending_is_recorded(tmp_path):

    work, study, storage = worker(tmp_path)
    log = tmp_path / 'log.txt'
    log.write_text('Traceback ...\n  ...\nValueError: the last line\n\n')
    endings = [
        ((0, {'state': 'complete', 'step': 100, 'value': 21.5}), 'COMPLETE', 'trial 0 finished: 21.50'),
        ((0, {'state': 'complete', 'step': 100, 'value': float('nan')}), 'PRUNED', 'pruned (not a finite objective)'),
        ((3, {'state': 'pruned', 'step': 50, 'value': 3.0}), 'PRUNED', 'trial 2 pruned (pruned at step 50)'),
        ((3, {}), 'PRUNED', 'trial 3 pruned (not a finite objective)'),  # no result file written
        ((-9, {}), 'FAIL', f'trial 4 failed (exit code -9: ValueError: the last line; log: {log})'),
        ((3, {'state': 'pruned', 'diverged': True, 'step': 128}), 'PRUNED', 'trial 5 pruned (diverged at step 128'),
    ]
    for (returncode, result), state, line in endings:
        trial = study.ask()
        assert line in work.record(trial, returncode, result, log)
        assert study.get_trials()[trial.number].state.name == state
    assert study.best_trial.value == 21.5 and work.error is None


def test_a_result_for_a_trial_another_worker_failed_is_not_recorded(tmp_path):
    import optuna

    work, study, storage = worker(tmp_path)
    trial = study.ask()
    storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)  # no heartbeat: failed
    line = work.record(trial, 0, {'state': 'complete', 'step': 100, 'value': 21.5}, None)
    assert 'another worker had failed it' in line
    assert study.get_trials()[0].state.name == 'FAIL'


def test_three_failures_in_a_row_stop_the_worker(tmp_path, capsys):
    work, study, storage = worker(tmp_path)
    for returncode in (1, 0, 1, 1):  # a success resets the count
        work.record(study.ask(), returncode, {'value': 1.0}, None)
    assert not work.stopping
    work.record(study.ask(), 1, {}, None)
    assert work.stopping and work.error.startswith('the last 3 trials of this worker failed')
    assert capsys.readouterr().out.count('Stopping:') == 1


def test_evaluations_are_reported_at_their_scheduled_step():
    from xagents.tune.trial import scheduled_step

    # Rollouts of 256 or 128 steps, evaluations every 150 steps, trials of 600 steps: the pruner
    # compares trials at the same steps.
    assert [scheduled_step(steps, 150, 600) for steps in (256, 512, 768)] == [150, 450, 600]
    assert [scheduled_step(steps, 150, 600) for steps in (256, 384, 512, 640)] == [150, 300, 450, 600]


# ------------------------------------------------------------- PostgreSQL
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


@pytest.fixture(scope='module')
def postgres():
    """A PostgreSQL server of our own on 127.0.0.1, in a temporary folder, stopped afterwards."""
    binaries = sorted(glob.glob('/usr/lib/postgresql/*/bin/initdb'))
    if not binaries:
        pytest.fail('PostgreSQL is not installed (.ci/run installs it: apt-get install postgresql)')
    folder = Path(tempfile.mkdtemp(prefix='xagents-pg-'))
    bin_dir = Path(binaries[-1]).parent
    as_owner = []
    if os.geteuid() == 0:  # the server refuses to run as root
        shutil.chown(folder, 'postgres')
        as_owner = ['runuser', '-u', 'postgres', '--']
    port, data = free_port(), folder / 'data'

    def run(*command):
        subprocess.run([*as_owner, *map(str, command)], check=True, capture_output=True, timeout=120)

    run(bin_dir / 'initdb', '-D', data, '-U', 'xagents', '--auth', 'trust')
    options = f'-p {port} -h 127.0.0.1 -k {folder}'
    run(bin_dir / 'pg_ctl', '-D', data, '-l', folder / 'server.log', '-o', options, '-w', 'start')
    try:
        run(bin_dir / 'createdb', '-h', '127.0.0.1', '-p', port, '-U', 'xagents', 'tune')
        yield f'postgresql://xagents@127.0.0.1:{port}/tune'
    finally:
        run(bin_dir / 'pg_ctl', '-D', data, '-m', 'immediate', 'stop')
        shutil.rmtree(folder, ignore_errors=True)


def start_worker(cwd, *args, env=None):
    return subprocess.Popen(
        [*XAGENTS, *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )


@pytest.mark.integration
def test_two_workers_share_one_postgresql_study(tmp_path, postgres):
    args = f'tune ppo --env CartPole-v1 --study shared --storage {postgres} --n-trials 4 --lr 1e-4 1e-2'.split()
    workers = [start_worker(tmp_path, *args, *QUICK) for _ in range(2)]
    outputs = [worker.communicate(timeout=600) for worker in workers]
    for worker, (_, err) in zip(workers, outputs):
        assert worker.returncode == 0, err
    trials = trials_of(postgres, 'shared')
    numbers = sorted(trial.number for trial in trials)
    assert numbers == list(range(len(numbers))) and 4 <= len(numbers) <= 5
    assert {trial.state.name for trial in trials} <= {'COMPLETE', 'PRUNED'}
    printed = [int(line.split()[1]) for out, _ in outputs for line in out.splitlines() if line.startswith('trial ')]
    assert sorted(printed) == numbers  # each trial run once, by one worker, and none lost


@pytest.mark.integration
def test_a_killed_worker_leaves_the_study_usable(tmp_path, postgres):
    import optuna

    fast = {'XAGENTS_TUNE_HEARTBEAT': '1'}  # a trial with no heartbeat for 3 s is failed
    args = f'tune ppo --env CartPole-v1 --study killed --storage {postgres} --n-trials 2 --lr 1e-4 1e-2'.split()
    first = start_worker(tmp_path, *args, *QUICK, env=fast)

    def running() -> bool:
        try:
            return any(trial.state.name == 'RUNNING' for trial in trials_of(postgres, 'killed'))
        except KeyError:  # the study is not created yet
            return False

    deadline = time.monotonic() + 900  # only against a hang: start-up takes what it takes on a loaded machine
    while not running():
        assert first.poll() is None, first.communicate()[1]
        assert time.monotonic() < deadline, 'no trial started'
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)  # the worker and its trial process
    first.communicate()
    time.sleep(4)  # past the 3 s grace period since the last heartbeat (a loaded machine only makes it longer)
    second = start_worker(tmp_path, *args, *QUICK, env=fast)
    out, err = second.communicate(timeout=600)
    assert second.returncode == 0, err
    states = [trial.state for trial in trials_of(postgres, 'killed')]
    assert states.count(optuna.trial.TrialState.FAIL) >= 1
    assert states.count(optuna.trial.TrialState.COMPLETE) + states.count(optuna.trial.TrialState.PRUNED) == 2
    assert optuna.trial.TrialState.RUNNING not in states


def test_the_old_clip_norm_flag_still_tunes_the_clip_range():
    from xagents.commands.tune import tune_parser

    args = tune_parser(PPO_CLI).parse_args(['--env', 'CartPole-v1', '--study', 's', '--clip-norm', '0.1', '0.3'])
    assert args.space_clip_range == ['0.1', '0.3']
    result = space(PPO_CLI, clip_range=args.space_clip_range)
    assert result['clip_range'] == Dimension('clip_range', 'range', low=0.1, high=0.3, log=True)
