"""Linear schedules (RL Zoo's ``lin_<initial>``): values, flags, the graph, resuming and tuning."""

import json

import pytest

from xagents import PPO, SAC
from xagents.commands.main import main
from xagents.core import schedules

FAST_PPO = dict(n_steps=128, mini_batches=4, ppo_epochs=1, quiet=True, seed=0)


def test_values_run_from_the_initial_one_to_zero_over_the_budget():
    assert schedules.value_at('lin_2.5e-4', 0.0) == 2.5e-4
    assert schedules.value_at('lin_2.5e-4', 0.25) == pytest.approx(1.875e-4)
    assert schedules.value_at('lin_0.1', 1.0) == 0.0
    assert schedules.value_at('lin_0.1', 1.5) == 0.0  # past --max-steps: the last value
    assert schedules.value_at(0.3, 0.7) == 0.3  # a number is constant
    assert schedules.canonical('lin_1e-3') == 'lin_0.001' and schedules.canonical('2e-4') == 2e-4
    with pytest.raises(ValueError, match="lin_<number>.*'lin_fast'"):
        schedules.canonical('lin_fast')


def test_the_agent_sets_optimizers_and_graph_values_from_the_step(tmp_path):
    agent = PPO.from_env('CartPole-v1', lr='lin_1e-3', clip_range='lin_0.2', entropy_coef='lin_0.01', **FAST_PPO)
    assert agent.schedules == ['lr', 'clip_range', 'entropy_coef']
    assert float(agent.model.optimizer.learning_rate.numpy()) == pytest.approx(1e-3)
    agent.set_budget(1000)
    agent.steps = 250
    agent.follow_schedules()
    assert float(agent.model.optimizer.learning_rate.numpy()) == pytest.approx(7.5e-4)
    assert float(agent.graph_values['clip_range'].numpy()) == pytest.approx(0.15)
    assert float(agent.graph_values['entropy_coef'].numpy()) == pytest.approx(0.0075)
    constant = PPO.from_env('CartPole-v1', clip_range=0.3, **FAST_PPO)
    assert constant.schedules == [] and float(constant.graph_values['clip_range'].numpy()) == pytest.approx(0.3)


def test_sac_schedules_the_temperature_optimizer_too():
    agent = SAC.from_env('Pendulum-v1', lr='lin_3e-4', quiet=True)
    agent.set_budget(100)
    agent.steps = 50
    agent.follow_schedules()
    rates = [float(optimizer.learning_rate.numpy()) for optimizer in agent.optimizers()]
    assert len(rates) == 4 and rates == pytest.approx([1.5e-4] * 4)  # actor, two critics, temperature


def test_the_compiled_update_reads_the_scheduled_values_as_they_change(tmp_path):
    agent = PPO.from_env('CartPole-v1', entropy_coef='lin_0.01', output_dir=str(tmp_path), **FAST_PPO)
    agent.fit(max_steps=256)  # the update is traced
    for coefficient in (0.25, 0.5):
        agent.graph_values['entropy_coef'].assign(coefficient)
        losses = agent.update(agent.collect_rollout())
        parts = losses['policy_loss'] + 0.5 * losses['value_loss'] - coefficient * losses['entropy']
        assert losses['loss'] == pytest.approx(parts, rel=1e-5)


def test_a_schedule_needs_max_steps_and_resumes_at_its_step(tmp_path):
    agent = PPO.from_env('CartPole-v1', lr='lin_1e-3', output_dir=str(tmp_path), **FAST_PPO)
    with pytest.raises(ValueError, match=r'--lr lin_0.001: a schedule runs over --max-steps'):
        agent.fit(target_reward=100)
    agent.fit(max_steps=512)
    # The last iteration started at step 384 of 512.
    assert float(agent.model.optimizer.learning_rate.numpy()) == pytest.approx(2.5e-4)
    config = json.loads((tmp_path / 'config.json').read_text())['hyperparameters']
    assert config['lr'] == 'lin_0.001'
    resumed = PPO.from_env('CartPole-v1', lr=config['lr'], **FAST_PPO)
    resumed.resume(tmp_path)
    resumed.fit(max_steps=640)  # one iteration, from step 512 of 640
    assert float(resumed.model.optimizer.learning_rate.numpy()) == pytest.approx(1e-3 * (1 - 512 / 640))


def test_schedule_flags_resume_from_the_command_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    main('train ppo --env CartPole-v1 --n-steps 128 --max-steps 256 --output-dir run --lr lin_1e-3 --quiet'.split())
    config = json.loads((tmp_path / 'run' / 'config.json').read_text())['hyperparameters']
    assert config['lr'] == 'lin_0.001'
    main('train ppo --env CartPole-v1 --max-steps 512 --resume run --quiet'.split())
    assert json.loads((tmp_path / 'run' / 'config.json').read_text())['hyperparameters']['lr'] == 'lin_0.001'


@pytest.mark.parametrize(
    'flags, message',
    [
        ('--clip-norm lin_x', '--clip-norm: expected a number or lin_<number>'),
        ('--lr lin_-1', 'must be > 0, got lin_-1'),
        ('--lr lin_1e-3 --divergence-monitoring-steps 9', 'both set the learning rate'),
        ('--entropy-coef lin_0.01 --target-reward 100 --no-presets', 'a schedule runs over --max-steps, give it'),
    ],
)
def test_bad_schedules_get_one_line_errors(capsys, flags, message):
    budget = '' if 'target-reward' in flags else '--max-steps 10'
    with pytest.raises(SystemExit) as exit_info:
        main(f'train ppo --env CartPole-v1 {budget} {flags}'.split())
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count('\n') == 1, err


def test_tune_searches_a_range_of_schedules():
    import dataclasses

    from xagents.ppo.config import PPOConfig
    from xagents.tune.space import TuneError, dimension

    field = next(field for field in dataclasses.fields(PPOConfig) if field.name == 'lr')
    dim = dimension(field, ['lin_1e-4', 'lin_1e-3'])
    assert (dim.low, dim.high, dim.log, dim.linear) == (1e-4, 1e-3, True, True)
    assert dim.at(2.5e-4) == 'lin_0.00025'
    assert dimension(field, ['lin_2.5e-4']).value == 'lin_0.00025'
    with pytest.raises(TuneError, match='two numbers or two lin_ schedules'):
        dimension(field, ['1e-4', 'lin_1e-3'])


def test_a_preset_schedule_runs_over_the_preset_budget(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    main('train ppo --env CartPole-v1 --target-reward 30 --output-dir run --seed 0'.split())
    out = capsys.readouterr().out
    assert 'max_steps=100,000' in out and 'lr=lin_1e-3,' in out and 'held' not in out
    assert json.loads((tmp_path / 'run' / 'config.json').read_text())['hyperparameters']['lr'] == 'lin_0.001'


def test_a_preset_file_schedule_without_a_budget_holds_its_first_value(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'best.json').write_text(json.dumps({'lr': 'lin_1e-3'}))
    # A target the first 5 games reach: the run ends at once (the test is about the preset line and config).
    flags = '--target-reward 10 --reward-buffer-size 5 --output-dir run --preset best.json --n-steps 64'
    main(['train', 'ppo', '--env', 'CartPole-v1', *flags.split()])
    assert 'lr=lin_1e-3 (held at 0.001: no --max-steps)' in capsys.readouterr().out
    assert json.loads((tmp_path / 'run' / 'config.json').read_text())['hyperparameters']['lr'] == 0.001
