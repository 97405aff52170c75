"""The command line for users of RL Zoo and Stable-Baselines3: play --run without the agent name,
their flag names hinted, play's per-episode cap named apart from train's budget, progress lines
with an ETA that fit the terminal and time no compile, and play --output saying what it played."""

import json
import types

import pytest

from xagents.commands.main import command_parser, main
from xagents.train.callbacks import Progress
from xagents.train.console import budget_part, fitted_line


@pytest.fixture(scope='module')
def ppo_run(tmp_path_factory):
    """A PPO run on CartPole trained for two tiny rollouts of one update each (in this process)."""
    run = tmp_path_factory.mktemp('runs') / 'ppo-run'
    tiny = '--no-presets --n-envs 1 --n-steps 32 --ppo-epochs 1 --mini-batches 1 --quiet --seed 1 --max-steps 64'
    assert main(['train', 'ppo', '--env', 'CartPole-v1', *tiny.split(), '--output-dir', str(run)]) == 0
    return run


def test_play_run_needs_no_agent_name_and_output_says_what_was_played(ppo_run, tmp_path, capsys):
    output = tmp_path / 'played.json'
    assert main(['play', '--run', str(ppo_run), '--episodes', '2', '--seed', '7', '--output', str(output)]) == 0
    assert 'over 2 episode(s)' in capsys.readouterr().out
    played = json.loads(output.read_text())
    assert played['seed'] == 7
    checkpoint = played['checkpoint']
    assert checkpoint['which'] in ('best', 'latest') and checkpoint['paths']
    assert isinstance(checkpoint['step'], int) and 0 < checkpoint['step'] <= 64
    # With the agent's name (any case) as before, and the seed drawn (and recorded) when not given.
    again = tmp_path / 'again.json'  # the first one is kept: play refuses an --output that exists
    assert main(['play', 'PPO', f'--run={ppo_run}', '--output', str(again)]) == 0
    assert isinstance(json.loads(again.read_text())['seed'], int)


def test_play_checkpoint_chooses_best_or_latest_and_says_which(ppo_run, tmp_path):
    played = {}
    for which in ('latest', 'best', None):
        output = tmp_path / f'{which}.json'
        flags = ['--checkpoint', which] if which else []
        assert main(['play', '--run', str(ppo_run), *flags, '--seed', '3', '--output', str(output)]) == 0
        played[which] = json.loads(output.read_text())
    assert played['latest']['checkpoint'] == {'which': 'latest', 'paths': [str(ppo_run / 'latest')], 'step': 64}
    for which in ('best', None):  # best is the default (the latest when the run has no best yet)
        for episode in played[which]['per_episode']:
            del episode['seconds']
    assert played['best'] == played[None]


@pytest.mark.parametrize('agent', ['dqn', 'trpo'])
def test_playing_a_run_as_another_agent_is_one_line_naming_the_runs_agent(ppo_run, capsys, agent):
    with pytest.raises(SystemExit) as exit_info:
        main(['play', agent, '--run', str(ppo_run)])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert error.count('\n') == 1 and f'is a ppo run, not {agent}' in error and 'xagents play --run' in error


def test_play_names_its_episode_cap_apart_from_trains_budget(ppo_run, capsys):
    module = __import__('xagents.ppo.config', fromlist=['_'])
    parser = command_parser('play', module)
    assert parser.parse_args('--env CartPole-v1 --max-episode-steps 7'.split()).max_episode_steps == 7
    assert parser.parse_args('--env CartPole-v1 --max-steps 9'.split()).max_episode_steps == 9  # the old flag
    assert main(['play', 'ppo']) == 0
    shown = capsys.readouterr().out
    assert 'xagents play --run DIR [options]' in shown
    rows = [line.split()[0] for line in shown.splitlines() if line.startswith('  --')]
    assert '--max-episode-steps' in rows and '--max-steps' not in rows
    assert main(['play', '--run', str(ppo_run), '--max-episode-steps', '5']) == 0
    assert 'reward 5.00, steps 5,' in capsys.readouterr().out


@pytest.mark.parametrize(
    'args, hint',
    [
        ('train ppo --env-id CartPole-v1', 'arguments are required: --env; unrecognized arguments: --env-id'),
        ('train ppo --env-id CartPole-v1 -n 100', '(did you mean --env, --max-steps?)'),
        ('play ppo --env CartPole-v1 -n 3', '(did you mean --episodes?)'),
        ('train ppo --env CartPole-v1 --hyperparams x', '(did you mean --preset (a JSON file; or the agent flags)?)'),
        ('train dqn --env CartPole-v1 --save-replay-buffer', '(did you mean --save-buffer?)'),
        ('train ppo --env CartPole-v1 --verbose 1', '--quiet (the opposite'),
        ('train ppo --env CartPole-v1 --policy-kwargs x', '--net-arch (and activation)'),
        ('train sac --env Pendulum-v1 --policy-kwargs x', '--net-arch (and activation)'),
        ('train ppo --env CartPole-v1 -f logs --folder logs', '(did you mean --output-dir, --output-dir?)'),
        ('play ppo --env CartPole-v1 -f logs', '(did you mean --run?)'),
        ('train ppo --env CartPole-v1 --eval-freq 5', '(did you mean --eval-interval?)'),
        ('train ppo --env CartPole-v1 --algo ppo', '(--algo: the agent is the first argument'),
        ('train ppo --env CartPole-v1 -optimize', '(-optimize: xagents tune <agent> searches hyperparameters)'),
        ('train ppo --env CartPole-v1 --n-trials 5', '(--n-trials: xagents tune <agent> --n-trials)'),
    ],
)
def test_rl_zoo_flags_get_a_one_line_hint(capsys, args, hint):
    with pytest.raises(SystemExit) as exit_info:
        main(args.split())
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert error.count('\n') == 1 and hint in error, error


class FakeModel:
    optimizer = types.SimpleNamespace(learning_rate=types.SimpleNamespace(numpy=lambda: 1e-3))


def fake_trainer(budget):
    lines = []
    agent = types.SimpleNamespace(
        steps=0, episodes=0, budget=budget, models={'model': FakeModel()}, mean_reward=-1412.66, best_reward=-1400.0
    )
    options = types.SimpleNamespace(log_frequency=0, display_precision=2)
    trainer = types.SimpleNamespace(
        agent=agent, options=options, now=0.0, reason=None, losses={}, record=lambda scalars: None
    )
    trainer.console, trainer.elapsed, trainer.lines = lines.append, lambda: trainer.now, lines
    return trainer


def advance(trainer, steps, seconds, losses):
    trainer.agent.steps += steps
    trainer.agent.episodes += 1
    trainer.now += seconds
    trainer.losses = losses


def test_the_first_line_with_a_speed_times_no_compile_of_an_off_policy_agent():
    trainer = fake_trainer(budget=None)
    progress = Progress()
    progress.on_training_start(trainer)
    for _ in range(3):  # after the warm-up, iterations that train nothing yet (train_frequency)
        advance(trainer, 4, 0.01, {})
        progress.on_update(trainer)
    assert trainer.lines == []
    advance(trainer, 4, 5.0, {'loss': 1.0})  # the first update: it compiles
    progress.on_update(trainer)
    assert len(trainer.lines) == 1 and 'first update 5.0 s (compiling' in trainer.lines[0]
    advance(trainer, 1000, 3.0, {'loss': 0.5})
    progress.on_update(trainer)
    assert 'speed 333 steps/s' in trainer.lines[1]


def test_progress_lines_fit_100_columns_off_a_terminal_and_show_the_eta_of_a_budget(monkeypatch):
    monkeypatch.setenv('COLUMNS', '200')  # not a terminal (captured): 100 columns all the same
    trainer = fake_trainer(budget=1_000_000)
    progress = Progress()
    progress.on_training_start(trainer)
    advance(trainer, 1000, 5.0, {'critic_loss': 0.25, 'actor_loss': 12.5})
    progress.on_update(trainer)
    advance(trainer, 99_000, 10.0, {'critic_loss': 0.25, 'actor_loss': 12.5})
    progress.on_update(trainer)
    line = trainer.lines[-1]
    assert line.splitlines() == [  # 9,900 steps/s since the compile: 900,000 steps left take 91 s
        'time 0:00:15 | steps 100,000 (10%, ETA 1m31s) | games 2 | speed 9,900 steps/s | mean reward -1412.66',
        '  best reward -1400.00 | critic_loss 0.25 | actor_loss 12.5',
    ]


def test_a_terminal_gets_a_bar_and_lines_its_width():
    assert budget_part(250, 1000, 10.0, bar=True) == '[===         ] 25% ETA 1m15s'
    assert budget_part(1000, 1000, 10.0, bar=False) == '(100%)'
    assert budget_part(999, 1000, 10.0, bar=False) == '(99%, ETA 0s)'
    assert fitted_line([['a' * 30, 'b' * 30], ['c' * 10]], 80) == f'{"a" * 30} | {"b" * 30} | {"c" * 10}'
    assert fitted_line([['a' * 30, 'b' * 30], ['c' * 10]], 60) == f'{"a" * 30}\n  {"b" * 30} | {"c" * 10}'
    assert fitted_line([['a' * 30, 'b' * 20], ['c' * 10]], 60) == f'{"a" * 30} | {"b" * 20}\n  {"c" * 10}'


def test_export_of_a_run_without_a_best_checkpoint_says_it_exported_the_latest(tmp_path, capsys):
    run = tmp_path / 'run'  # no Pendulum episode ends in 64 steps: no best checkpoint yet
    tiny = '--no-presets --n-envs 1 --n-steps 32 --ppo-epochs 1 --mini-batches 1 --quiet --seed 1 --max-steps 64'
    assert main(['train', 'ppo', '--env', 'Pendulum-v1', *tiny.split(), '--output-dir', str(run)]) == 0
    assert not (run / 'best-model').exists()
    capsys.readouterr()
    assert main(['export', '--run', str(run), '--format', 'onnx', '--output', str(tmp_path / 'p.onnx')]) == 0
    assert capsys.readouterr().out.startswith('Exported the latest (no best checkpoint yet) ppo policy of ')
