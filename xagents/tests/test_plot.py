"""``xagents plot``: run folders, histories and evaluation tables, labelled by run, seeds averaged over shared steps."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pytest

from xagents.commands.main import main
from xagents.run.history import COLUMNS, HistoryTable
from xagents.tests.test_user_errors import command_fails

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def closed_figures():
    yield
    plt.close('all')


def fake_run(folder, agent='ppo', env='CartPole-v1', seed=0, steps=range(0, 1001, 100), evaluations=None):
    """A run folder as training leaves it: config.json, history.parquet and, if given, evaluations.parquet."""
    folder.mkdir(parents=True)
    config = {
        'agent': agent,
        'env': env,
        'hyperparameters': {'seed': seed},
        'checkpoints': ['best-model'],
        'history': 'history.parquet',
    }
    (folder / 'config.json').write_text(json.dumps(config))
    history = HistoryTable(folder / 'history.parquet')
    for episode, step in enumerate(steps, 1):
        reward = float(step / 10 + seed)
        history.append({name: reward for name in COLUMNS} | {'episode': episode, 'step': step, 'time': step / 100})
    history.flush()
    if evaluations:
        table = HistoryTable(folder / 'evaluations.parquet', required=('step', 'mean_reward'))
        for step, rewards in evaluations:
            summary = {'mean_reward': np.mean(rewards), 'std_reward': np.std(rewards), 'mean_length': 10.0}
            table.append({'step': step, 'time': step / 100, 'episodes': len(rewards), **summary})
        table.flush()
    return folder


def legend(ax) -> list[str]:
    return [text.get_text() for text in ax.get_legend().get_texts()]


def plotted(capsys, *args) -> tuple[object, str]:
    """Run ``xagents plot`` in process: the axes it drew and what it printed."""
    assert main(['plot', *map(str, args)]) == 0
    return plt.gcf().axes[0], capsys.readouterr().out


def test_run_folders_are_plotted_and_labelled_by_agent_env_and_seed(tmp_path, capsys):
    runs = [fake_run(tmp_path / f'ppo-{seed}', seed=seed) for seed in (0, 1)]
    ax, out = plotted(capsys, *runs, '--output', tmp_path / 'curve.png')
    assert legend(ax) == ['PPO CartPole-v1 seed 0', 'PPO CartPole-v1 seed 1']
    assert ax.get_title() == 'CartPole-v1' and ax.get_ylabel() == 'training mean reward'
    assert (tmp_path / 'curve.png').read_bytes()[:4] == b'\x89PNG'
    assert out.strip() == f'Plot saved to {tmp_path / "curve.png"}'
    # The history file of a run is labelled by its run too; a table outside any run by folder and name.
    alone = tmp_path / 'copied'
    alone.mkdir()
    (alone / 'history.parquet').write_bytes((runs[0] / 'history.parquet').read_bytes())
    ax, _ = plotted(capsys, runs[1] / 'history.parquet', alone / 'history.parquet', '--output', tmp_path / 'b.png')
    assert legend(ax) == ['PPO CartPole-v1 seed 1', 'copied/history']


def test_two_runs_of_one_seed_are_told_apart_by_their_folders(tmp_path, capsys):
    runs = [fake_run(tmp_path / name) for name in ('first', 'second')]
    ax, _ = plotted(capsys, *runs, '--output', tmp_path / 'curve.png')
    assert legend(ax) == ['PPO CartPole-v1 seed 0 (first)', 'PPO CartPole-v1 seed 0 (second)']


def test_evaluations_are_plotted_with_their_spread_over_episodes(tmp_path, capsys):
    run = fake_run(tmp_path / 'run', evaluations=[(500, [10, 20, 30]), (1000, [40, 50, 60])])
    ax, _ = plotted(capsys, run / 'evaluations.parquet', '--output', tmp_path / 'curve.png')
    assert legend(ax) == ['PPO CartPole-v1 seed 0 greedy eval (± std over 3 episodes)']
    np.testing.assert_allclose(ax.lines[0].get_xydata(), [[500, 20], [1000, 50]])
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].min() == pytest.approx(20 - np.std([10, 20, 30]))
    assert ax.get_ylabel() == 'greedy evaluation mean reward'
    err = command_fails(capsys, 'plot', str(run / 'evaluations.parquet'), '--x', 'episode')
    assert 'is an evaluations table: it has no episode axis (use --x step or time)' in err


def test_seeds_are_averaged_over_the_steps_all_of_them_reached_and_the_plot_says_so(tmp_path, capsys):
    runs = [
        fake_run(tmp_path / 'a', seed=0, steps=range(0, 1001, 100)),
        fake_run(tmp_path / 'b', seed=1, steps=range(200, 601, 50)),
        fake_run(tmp_path / 'c', seed=2, steps=range(100, 801, 100)),
    ]
    ax, out = plotted(capsys, *runs, '--mean-seeds', '--output', tmp_path / 'curve.png')
    assert 'PPO CartPole-v1: mean of 3 seeds over steps 200-600 (the steps all runs reached)' in out
    assert legend(ax) == ['PPO CartPole-v1 (mean ± std of 3 seeds, steps 200-600)']
    steps, mean = ax.lines[0].get_xdata(), ax.lines[0].get_ydata()
    assert (steps.min(), steps.max()) == (200, 600)
    np.testing.assert_allclose(mean, steps / 10 + 1)  # reward step/10 + seed, seeds 0, 1, 2
    # The same with one label for all, and on the time axis.
    _, out = plotted(capsys, *runs, '--labels', 'PPO', '--x', 'time', '--output', tmp_path / 'curve.png')
    assert 'PPO: mean of 3 seeds over time 2-6 s (the time all runs reached)' in out


def test_runs_that_share_no_steps_are_not_averaged(tmp_path, capsys):
    runs = [fake_run(tmp_path / 'a', seed=0, steps=[0, 100]), fake_run(tmp_path / 'b', seed=1, steps=[200, 300])]
    err = command_fails(capsys, 'plot', *map(str, runs), '--mean-seeds', '--output', str(tmp_path / 'c.png'))
    assert "the runs labelled 'PPO CartPole-v1' share no steps (steps 0-100, steps 200-300)" in err
    assert not (tmp_path / 'c.png').exists()


def test_runs_of_different_agents_or_envs_are_averaged_only_when_asked(tmp_path, capsys):
    runs = [
        fake_run(tmp_path / 'ppo', agent='ppo'),
        fake_run(tmp_path / 'dqn', agent='dqn'),
        fake_run(tmp_path / 'ppo-acrobot', agent='ppo', env='Acrobot-v1'),
    ]
    output = tmp_path / 'curve.png'
    err = command_fails(capsys, 'plot', *map(str, runs), '--labels', 'all', '--output', str(output))
    assert (
        "label 'all' would average runs of different agents or envs (DQN CartPole-v1, PPO Acrobot-v1, "
        'PPO CartPole-v1): give them different --labels, or --allow-mixed to average them anyway' in err
    )
    err = command_fails(capsys, 'plot', *map(str, runs[:2]), '--labels', 'x', 'x', '--output', str(output))
    assert 'would average runs of different agents or envs (DQN CartPole-v1, PPO CartPole-v1)' in err
    assert not output.exists()
    ax, out = plotted(capsys, *runs, '--labels', 'all', '--allow-mixed', '--output', output)
    assert 'all: mean of 3 runs over steps 0-1,000' in out and len(ax.lines) == 1
    ax, _ = plotted(capsys, *runs, '--mean-seeds', '--output', output)  # one curve each: nothing mixed
    assert legend(ax) == ['PPO CartPole-v1', 'DQN CartPole-v1', 'PPO Acrobot-v1'] and ax.get_title() == ''


def test_plot_refuses_folders_that_are_not_runs_and_mixing_histories_with_evaluations(tmp_path, capsys):
    (tmp_path / 'empty').mkdir()
    err = command_fails(capsys, 'plot', str(tmp_path / 'empty'), '--output', str(tmp_path / 'c.png'))
    assert 'is not an xagents run directory (no config.json): give a run folder, a history.parquet or an' in err
    run = fake_run(tmp_path / 'run', evaluations=[(500, [1.0])])
    sources = [str(run), str(run / 'evaluations.parquet')]
    err = command_fails(capsys, 'plot', *sources, '--labels', 'x', '--output', str(tmp_path / 'c.png'))
    assert "label 'x' would average training histories with evaluation tables" in err
    err = command_fails(capsys, 'plot', *sources, '--labels', 'a', 'b', 'c', '--output', str(tmp_path / 'c.png'))
    assert '2 sources but 3 labels (give one per source, or one for all)' in err
    # one table given twice (the folder and its history) would be averaged with itself
    err = command_fails(capsys, 'plot', str(run), str(run / 'history.parquet'), '--output', str(tmp_path / 'c.png'))
    assert f'{run} and {run / "history.parquet"} are one table: give each run once' in err
    (run / 'history.parquet').unlink()
    err = command_fails(capsys, 'plot', str(run), '--output', str(tmp_path / 'c.png'))
    assert f'run {run} has no history yet ({run / "history.parquet"} not found)' in err


@pytest.mark.integration  # two short training runs (~15 s)
def test_real_runs_and_their_evaluations_plot_side_by_side(tmp_path, capsys):
    import xagents

    for seed in (0, 1):
        agent = xagents.PPO.from_env(
            'CartPole-v1', n_envs=2, n_steps=32, quiet=True, seed=seed, output_dir=str(tmp_path / f'run{seed}'),
            eval_interval=128, eval_episodes=3,
        )  # fmt: skip
        agent.fit(max_steps=300 + 100 * seed)
    runs = [tmp_path / 'run0', tmp_path / 'run1']
    sources = [*runs, *(run / 'evaluations.parquet' for run in runs)]
    ax, out = plotted(capsys, *sources, '--mean-seeds', '--output', tmp_path / 'curve.png')
    assert legend(ax)[0].startswith('PPO CartPole-v1 (mean ± std of 2 seeds, steps ')
    assert legend(ax)[1].startswith('PPO CartPole-v1 greedy eval (mean ± std of 2 seeds, steps 128-')
    assert out.count('mean of 2 seeds over steps') == 2
    assert (tmp_path / 'curve.png').read_bytes()[:4] == b'\x89PNG'
