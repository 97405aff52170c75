"""A shipped preset carries its training budget (``max_steps``, RL Zoo's ``n_timesteps``): ``xagents train``
uses it when --max-steps is not given, and the preset's schedules run over it. Checked in-process with the
agent's ``from_env`` replaced, so nothing trains."""

import json

import pytest

from xagents import agents
from xagents.commands.main import main
from xagents.ppo import config as ppo_config


class Recorded:
    """Stands for the agent: keeps what ``from_env`` and ``fit`` were given."""

    calls: dict = {}

    @classmethod
    def from_env(cls, env, **kwargs):
        cls.calls['from_env'] = kwargs
        return cls()

    def fit(self, **kwargs):
        Recorded.calls['fit'] = kwargs
        return 'target'


@pytest.fixture
def recorded(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    Recorded.calls = {}
    monkeypatch.setattr(agents['ppo'], 'from_env', Recorded.from_env)
    monkeypatch.setattr(agents['ppo'], 'fit', Recorded.fit)
    return Recorded.calls


def train(*args: str) -> int:
    return main(['train', 'ppo', '--env', 'CartPole-v1', *args])


def test_the_preset_budget_is_used_without_max_steps_and_its_schedules_run_over_it(recorded, capsys):
    assert ppo_config.PRESETS['CartPole-v1']['max_steps'] == 100_000  # RL Zoo's n_timesteps
    assert train('--target-reward', '475') == 0
    assert recorded['fit'] == {'target_reward': 475, 'max_steps': 100_000}
    assert recorded['from_env']['lr'] == 'lin_1e-3' and recorded['from_env']['clip_range'] == 'lin_0.2'
    assert 'max_steps' not in recorded['from_env']
    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith('Using the CartPole-v1 preset of ppo (--no-presets to ignore): max_steps=100,000, ')
    assert 'held' not in line and 'lr=lin_1e-3, clip_range=lin_0.2' in line


def test_no_stop_flag_at_all_trains_the_preset_budget(recorded):
    assert train() == 0
    assert recorded['fit'] == {'target_reward': None, 'max_steps': 100_000}


def test_max_steps_given_overrides_the_preset_budget(recorded, capsys):
    assert ppo_config.PRESETS['CartPole-v1']['max_steps'] == 100_000
    assert train('--target-reward', '475', '--max-steps', '5000') == 0
    assert recorded['fit']['max_steps'] == 5000
    assert 'max_steps=' not in capsys.readouterr().out


def test_no_presets_drops_the_budget(recorded, capsys):
    assert train('--target-reward', '475') == 0 and recorded['fit']['max_steps'] == 100_000
    assert train('--target-reward', '475', '--no-presets') == 0
    assert recorded['fit'] == {'target_reward': 475, 'max_steps': None}
    with pytest.raises(SystemExit) as exit_info:
        train('--no-presets')
    assert exit_info.value.code == 2
    assert 'train needs --target-reward or --max-steps' in capsys.readouterr().err


def test_a_preset_file_may_hold_max_steps(recorded, tmp_path, capsys):
    (tmp_path / 'best.json').write_text(json.dumps({'hyperparameters': {'lr': 'lin_3e-4', 'max_steps': 2e4}}))
    assert train('--preset', 'best.json') == 0
    assert recorded['fit']['max_steps'] == 20_000 and recorded['from_env']['lr'] == 'lin_3e-4'
    assert 'Using the best.json preset of ppo: max_steps=20,000, lr=lin_3e-4' in capsys.readouterr().out


def test_n_timesteps_in_a_preset_file_is_refused_with_a_hint(recorded, tmp_path, capsys):
    (tmp_path / 'zoo.json').write_text(json.dumps({'n_timesteps': 100000}))
    with pytest.raises(SystemExit) as exit_info:
        train('--preset', 'zoo.json', '--max-steps', '10')
    assert exit_info.value.code == 2
    assert "zoo.json: unknown preset key 'n_timesteps' for ppo (did you mean max_steps?)" in capsys.readouterr().err
    assert 'fit' not in recorded


def test_tune_leaves_the_preset_budget_out_of_its_trials():
    """A trial's budget is --trial-steps: tune fixes the preset's hyperparameters, not its max_steps."""
    from xagents.commands.environment import EnvOptions
    from xagents.train.options import TrainingOptions
    from xagents.tune.space import add_preset, search_space

    preset = ppo_config.PRESETS['CartPole-v1']
    assert preset['max_steps'] == 100_000
    space = search_space([EnvOptions, ppo_config.CONFIG, TrainingOptions], {})
    add_preset(space, preset, ppo_config.CONFIG)
    assert 'max_steps' not in space and space['lr'].value == 'lin_1e-3' and space['n_envs'].value == 8


def test_no_preset_line_comes_before_an_error_of_the_env_or_the_agent(capsys):
    # The agent is made before the preset line: an env it refuses is the error line alone.
    with pytest.raises(SystemExit) as exit_info:
        main(['train', 'ppo', '--env', 'CartPole-v1', '--mask-actions', '--max-steps', '1000'])
    out, err = capsys.readouterr()
    assert exit_info.value.code == 2 and 'CartPole-v1 gives no action masks' in err
    assert 'preset' not in out
