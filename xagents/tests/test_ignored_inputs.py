"""Nothing a user gives is silently dropped or ignored: preset keys, logged scalars, the seed,
two flags that set one thing, flags given with --resume."""

import json
import os

import numpy as np
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
        ({'max_steps': 0.5}, 'p.json: max_steps must be a positive whole number of steps, not 0.5'),
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


# ------------------------------------------------------------------ flags given with --resume
MAY_CHANGE_LINE = 'on a resume only these may change: --max-steps, --target-reward, --quiet, --log-frequency'


@pytest.fixture(scope='module')
def trained_run(tmp_path_factory):
    """A short PPO run (seed 3, two envs), trained once for the resume cases."""
    folder = tmp_path_factory.mktemp('resume') / 'run'
    assert main([*TRAIN, '--seed', '3', '--output-dir', str(folder)]) == 0
    return folder


def folder_state(folder) -> dict:
    """Every file of a folder with its bytes: what a refused command must leave unchanged."""
    return {path: path.read_bytes() for path in sorted(folder.rglob('*')) if path.is_file()}


@pytest.mark.parametrize(
    'flags, message',
    [
        (['--lr', '0.1'], "--resume goes on with the run's own settings: --lr would change it"),
        (['--normalize-obs'], '--normalize-obs would change it'),
        (['--n-envs', '3', '--env-kwargs', 'sutton_barto_reward:True'], '--env-kwargs, --n-envs would change it'),
        (['--seed', '4'], '--seed would change it'),
        (['--plateau-reduce-patience', '2'], '--plateau-reduce-patience would change it'),
        (['--preset', 'p.json'], '--preset would change it'),
        (['--no-presets'], '--no-presets would change it'),
        (['--weights', 'w'], '--weights would change it'),
        (['--model', 'm.cfg'], '--model would change it'),
        (['--output-dir', 'elsewhere'], "--output-dir with --resume: a resume continues in the run's own folder"),
        (['--checkpoints', 'c'], '--checkpoints with --resume: a resumed run keeps its own paths'),
        (['--history-checkpoint', 'h.parquet'], '--history-checkpoint with --resume: a resumed run keeps'),
    ],
)
def test_a_flag_that_would_change_a_resumed_run_is_refused(trained_run, capsys, flags, message):
    before = folder_state(trained_run)
    line = error_of(capsys, ['train', 'ppo', '--resume', str(trained_run), '--max-steps', '128', *flags])
    assert message in line
    if not flags[0].startswith(('--output-dir', '--checkpoints', '--history')):
        assert MAY_CHANGE_LINE in line
    assert folder_state(trained_run) == before


def test_a_resume_takes_what_may_change_and_flags_the_run_already_has(trained_run, capsys):
    """How long, what it prints and records may change; a flag with the run's own value changes nothing."""
    same = ['--n-envs', '2', '--n-steps', '16', '--mini-batches', '1', '--seed', '3', '--env', 'CartPole-v1']
    argv = ['train', 'ppo', '--resume', str(trained_run), '--max-steps', '128', *same]
    assert main([*argv, '--tensorboard', '--eval-interval', '64', '--eval-episodes', '1', '--save-interval', '5']) == 0
    config = json.loads((trained_run / 'config.json').read_text())
    assert config['n_envs'] == 2 and config['hyperparameters']['seed'] == 3
    assert (trained_run / 'tensorboard').is_dir() and (trained_run / 'evaluations.parquet').is_file()


def test_a_refused_resume_through_the_command_changes_nothing(tmp_path):
    assert main([*TRAIN, '--output-dir', 'run']) == 0
    before = folder_state(tmp_path / 'run')
    result = run_cli(tmp_path, 'train', 'ppo', '--resume', 'run', '--max-steps', '128', '--lr', '0.01', '--n-envs', '4')
    assert result.returncode == 2 and result.stdout == ''
    assert result.stderr.startswith("xagents: error: --resume goes on with the run's own settings: --lr, --n-envs")
    assert result.stderr.count('\n') == 1 and MAY_CHANGE_LINE in result.stderr
    assert folder_state(tmp_path / 'run') == before


# ------------------------------------------------------------------ the seed of a run without --seed
def test_an_agent_made_without_a_seed_draws_one_and_keeps_it(tmp_path, capsys):
    import xagents

    agent = xagents.PPO.from_env('CartPole-v1', n_steps=16, mini_batches=1, output_dir='run')
    assert isinstance(agent.config.seed, int) and 0 <= agent.config.seed < 2**31 and agent.seed_drawn
    agent.fit(max_steps=32)
    out = capsys.readouterr().out
    seed = json.loads((tmp_path / 'run' / 'config.json').read_text())['hyperparameters']['seed']
    assert seed == agent.config.seed
    assert f'Seed {seed} drawn (no seed given): --seed {seed} repeats this run' in out
    direct = xagents.PPO(agent.envs, agent.model, n_steps=16, mini_batches=1, quiet=True, output_dir='quiet')
    assert direct.seed_drawn and direct.config.seed is not None and direct.config.seed != seed
    direct.fit(max_steps=32)
    assert 'drawn' not in capsys.readouterr().out  # quiet says nothing
    given = xagents.PPO.from_env('CartPole-v1', n_steps=16, mini_batches=1, seed=5)
    assert given.config.seed == 5 and not given.seed_drawn


def test_a_resumed_agent_goes_on_with_its_runs_seed(tmp_path):
    import xagents

    small = dict(n_steps=16, mini_batches=1, quiet=True)
    xagents.PPO.from_env('CartPole-v1', seed=7, output_dir='run', **small).fit(max_steps=32)
    drawn = xagents.PPO.from_env('CartPole-v1', **small)
    assert drawn.seed_drawn and drawn.config.seed != 7
    drawn.resume('run')
    assert drawn.config.seed == 7 and not drawn.seed_drawn
    drawn.fit(max_steps=64)
    assert json.loads((tmp_path / 'run' / 'config.json').read_text())['hyperparameters']['seed'] == 7
    other = xagents.PPO.from_env('CartPole-v1', seed=8, **small)
    with pytest.raises(ValueError, match='run is a run of seed 7: make the agent with seed=7, or with no seed'):
        other.resume('run')


@pytest.mark.integration  # subprocesses: the default run stays under 10 minutes on 2 cores
def test_the_stored_seed_repeats_a_run_without_seed_exactly(tmp_path):
    import pyarrow.parquet as pq

    train = [*TRAIN[:-3], '--max-steps', '640', '--quiet', '--no-presets']
    first = run_cli(tmp_path, *train, '--output-dir', 'first')
    assert first.returncode == 0, first.stderr
    seed = json.loads((tmp_path / 'first' / 'config.json').read_text())['hyperparameters']['seed']
    assert isinstance(seed, int)
    again = run_cli(tmp_path, *train, '--output-dir', 'again', '--seed', str(seed))
    assert again.returncode == 0, again.stderr

    def rewards(run):
        return pq.read_table(tmp_path / run / 'history.parquet').column('episode_reward').to_pylist()

    assert len(rewards('first')) > 10 and rewards('again') == rewards('first')


# ------------------------------------------------------------------ every logged scalar reaches both monitors
def tensorboard_scalars(folder) -> dict[str, list[tuple[int, float]]]:
    """Every scalar of the TensorBoard event files in ``folder``: tag -> [(step, value), ...]."""
    import tensorflow as tf

    logged = {}
    for path in sorted(folder.glob('events.out.tfevents.*')):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                logged.setdefault(value.tag, []).append((event.step, float(tf.make_ndarray(value.tensor))))
    return logged


def wandb_scalars(run_file) -> dict[str, list[tuple[int, float]]]:
    """Every scalar of a wandb offline run file: key -> [(env step, value), ...]."""
    from xagents.train.monitoring import run_file_records

    logged = {}
    for record in run_file_records(run_file):
        if record.WhichOneof('record_type') != 'history':
            continue
        items = {item.key or '/'.join(item.nested_key): json.loads(item.value_json) for item in record.history.item}
        step = items.get('env_step', items['_step'])  # wandb's own step, where values were logged at it
        for key, value in items.items():
            if isinstance(value, (int, float)) and not key.startswith('_') and key != 'env_step':
                logged.setdefault(key, []).append((step, value))
    return logged


def test_every_scalar_reaches_wandb_and_tensorboard(tmp_path, monkeypatch):
    """Episodes (of four envs) and evaluations logged at steps below the last logged one: none is dropped."""
    import pyarrow.parquet as pq

    for name in [name for name in os.environ if 'WANDB' in name]:  # such as a wandb service of this process
        monkeypatch.delenv(name)
    monkeypatch.setenv('WANDB_MODE', 'offline')
    monkeypatch.setenv('WANDB_CONFIG_DIR', str(tmp_path / 'wandb-config'))
    argv = 'train a2c --env CartPole-v1 --n-envs 4 --max-steps 3000 --eval-interval 500 --eval-episodes 2 --quiet'
    result = run_cli(tmp_path, *argv.split(), '--tensorboard', '--monitor-session', 's', '--output-dir', 'run')
    assert result.returncode == 0, result.stderr
    assert 'less than the current step' not in result.stdout + result.stderr
    history = pq.read_table(tmp_path / 'run' / 'history.parquet').to_pydict()
    episodes = list(zip(history['step'], history['episode_reward']))
    assert len(episodes) > 40
    board = tensorboard_scalars(tmp_path / 'run' / 'tensorboard')
    assert {'eval/mean_reward', 'train/loss', 'time/steps_per_second'} <= set(board)
    (run_file,) = (tmp_path / 'run' / 'wandb').glob('offline-run-*/run-*.wandb')
    wandb = wandb_scalars(run_file)
    assert sorted(board['episode/reward']) == sorted(episodes)
    assert sorted(wandb['episode/reward']) == sorted(episodes)
    assert set(wandb) == set(board)  # every scalar, not only the episodes', reaches both
    for tag, values in board.items():
        mine, theirs = sorted(wandb[tag]), sorted(values)
        assert [step for step, _ in mine] == [step for step, _ in theirs], tag
        np.testing.assert_allclose([value for _, value in mine], [value for _, value in theirs], rtol=1e-5)


@pytest.mark.parametrize('agent', ['td3', 'sac'])
def test_a_seeded_twin_critic_starts_apart_from_the_critic(agent):
    """Every run has a seed now: the twin, a clone of the critic, must not take the critic's initial weights."""
    import xagents

    made = xagents.agents[agent].from_env('Pendulum-v1', quiet=True, seed=3)
    critic, twin = made.critics
    assert not np.array_equal(critic.get_weights()[0], twin.get_weights()[0])
    again = xagents.agents[agent].from_env('Pendulum-v1', quiet=True, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(twin.get_weights(), again.critics[1].get_weights()))
