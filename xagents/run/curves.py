"""Learning curves of runs: histories, evaluation tables and run folders, labelled by the run they come from.

A source is a run folder (its history), a ``history.parquet`` (one row per training episode) or an
``evaluations.parquet`` (one row per greedy evaluation). A run's ``config.json`` beside the table
names its agent, env and seed, which label the curve. Curves under one label are drawn as their
mean with a band of one standard deviation, over the steps every one of them reached; a label
that would average runs of different agents or envs is refused unless ``allow_mixed``.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pyarrow as pa

from xagents.run.folder import RunFolder, read_run_config
from xagents.run.history import COLUMNS, HistoryError, read_history

EVALUATION_COLUMNS = ('step', 'time', 'episodes', 'mean_reward', 'std_reward')
AXES = {'step': 'steps', 'time': 'time (s)', 'episode': 'episodes'}  # the axis labels
SPANS = {'step': 'steps', 'time': 'time', 'episode': 'episodes'}  # what a shared range is of
GRID_POINTS = 200


@dataclasses.dataclass
class Curve:
    """One table to draw, with what its run's ``config.json`` says (None when there is none)."""

    path: Path
    table: pa.Table
    evaluations: bool
    agent: str | None = None
    env: str | None = None
    seed: int | None = None

    @property
    def run(self) -> str | None:
        """``PPO CartPole-v1``: the agent and env, when known."""
        return f'{self.agent.upper()} {self.env}' if self.agent else None

    def labelled(self, name: str) -> str:
        return f'{name} greedy eval' if self.evaluations else name

    def default_label(self) -> str:
        """``PPO CartPole-v1 seed 0`` for a run's table, else its folder and file name."""
        if self.run:
            return self.labelled(f'{self.run} seed {self.seed}' if self.seed is not None else f'{self.run} (no seed)')
        if self.path.stem in ('history', 'evaluations'):  # the file name alone says nothing of the run
            return f'{self.path.parent.name}/{self.path.stem}'
        return self.path.stem

    def values(self, x: str, y: str, interval: int) -> tuple[np.ndarray, np.ndarray]:
        if x not in self.table.column_names:
            raise HistoryError(f'{self.path} is an evaluations table: it has no {x} axis (use --x step or time)')
        if y not in self.table.column_names:
            raise HistoryError(f'{self.path} has no {y} column')
        column = lambda name: np.asarray(self.table.column(name), float)[::interval]  # noqa: E731
        return column(x), column(y)


def read_curve(source: str | os.PathLike) -> Curve:
    """The curve of a run folder, a history file or an evaluations file; HistoryError with a one-line reason."""
    source = Path(source)
    if source.is_dir():
        try:
            config = read_run_config(source)
        except ValueError as error:
            raise HistoryError(f'{error}: give a run folder, a history.parquet or an evaluations.parquet') from None
        path = RunFolder.of_config(source, config, ()).history_path
        if not path.is_file():
            raise HistoryError(f'run {source} has no history yet ({path} not found)')
    else:
        path, config = source, config_beside(source)
    table = read_history(path, required=())
    evaluations = not all(column in table.column_names for column in COLUMNS)
    if evaluations and not all(column in table.column_names for column in EVALUATION_COLUMNS):
        missing = [column for column in COLUMNS if column not in table.column_names]
        raise HistoryError(
            f'{path} is not an xagents history nor an evaluations table (missing columns: {", ".join(missing)})'
        )
    if table.num_rows == 0:
        raise HistoryError(f'{path} has no {"evaluations" if evaluations else "episodes"} yet: nothing to plot')
    curve = Curve(path, table, evaluations)
    if config:
        curve.agent, curve.env = str(config['agent']), str(config['env'])
        curve.seed = config['hyperparameters'].get('seed')
    return curve


def config_beside(path: Path) -> dict | None:
    """The ``config.json`` of the run a table belongs to, or None (a table copied out of its run)."""
    if not (path.parent / 'config.json').is_file():
        return None
    try:
        config = read_run_config(path.parent)
    except ValueError:
        return None
    run = RunFolder.of_config(path.parent, config, ())
    return config if path.resolve() in (run.history_path.resolve(), run.evaluations_path.resolve()) else None


def group_curves(
    sources: list[str | os.PathLike], labels: list[str] | None = None, mean_seeds=False, allow_mixed=False
) -> dict[str, list[Curve]]:
    """The sources' curves under each label: the given labels, the runs' agent and env (``mean_seeds``) or one each."""
    curves = [read_curve(source) for source in sources]
    tables = [curve.path.resolve() for curve in curves]
    twice = [source for source, table in zip(sources, tables) if tables.count(table) > 1]
    if twice:
        joined = ' and '.join(map(str, twice))
        raise HistoryError(f'{joined} are one table: give each run once (it would average itself)')
    if labels and len(labels) not in (1, len(curves)):
        raise HistoryError(f'{len(curves)} sources but {len(labels)} labels (give one per source, or one for all)')
    if labels:
        keys = labels * len(curves) if len(labels) == 1 else labels
    elif mean_seeds:
        keys = [curve.labelled(curve.run) if curve.run else curve.default_label() for curve in curves]
    else:
        keys = [curve.default_label() for curve in curves]
        repeated = {key for key in keys if keys.count(key) > 1}  # two runs of one seed: told apart by folder
        keys = [f'{key} ({curve.path.parent.name})' if key in repeated else key for key, curve in zip(keys, curves)]
    groups: dict[str, list[Curve]] = {}
    for key, curve in zip(keys, curves):
        groups.setdefault(key, []).append(curve)
    for key, members in groups.items():
        if len({curve.evaluations for curve in members}) > 1:
            raise HistoryError(f'label {key!r} would average training histories with evaluation tables')
        runs = sorted({curve.run for curve in members if curve.run})
        if len(runs) > 1 and not allow_mixed:
            raise HistoryError(
                f'label {key!r} would average runs of different agents or envs ({", ".join(runs)}): '
                'give them different --labels, or --allow-mixed to average them anyway'
            )
    return groups


def pyplot():
    """matplotlib's pyplot, drawing without a display."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    return plt


def span(low: float, high: float, x: str) -> str:
    """``steps 0-48,000``: the range of the shared axis, in words."""
    if x == 'time':
        return f'time {low:,.0f}-{high:,.0f} s'
    return f'{SPANS[x]} {low:,.0f}-{high:,.0f}'


def draw_group(ax, label: str, curves: list[Curve], x: str, y: str, interval: int) -> str | None:
    """Draw one label's curve (with its band); the note saying what a mean was taken over, if one was."""
    series = [curve.values(x, y, interval) for curve in curves]
    if len(series) == 1:
        (xs, ys), curve = series[0], curves[0]
        episodes = int(max(curve.table.column('episodes').to_pylist())) if curve.evaluations else 1
        marker = 'o' if curve.evaluations else None  # a few evaluations: each one shown
        if episodes < 2:
            ax.plot(xs, ys, label=label, marker=marker, markersize=3)
            return None
        spread = np.asarray(curve.table.column('std_reward'), float)[::interval]
        (line,) = ax.plot(xs, ys, label=f'{label} (± std over {episodes} episodes)', marker=marker, markersize=3)
        ax.fill_between(xs, ys - spread, ys + spread, color=line.get_color(), alpha=0.25)
        return None
    low, high = max(xs[0] for xs, _ in series), min(xs[-1] for xs, _ in series)
    if low > high:
        reached = ', '.join(span(xs[0], xs[-1], x) for xs, _ in series)
        raise HistoryError(f'the runs labelled {label!r} share no {SPANS[x]} ({reached}): nothing to average')
    grid = np.linspace(low, high, GRID_POINTS)
    values = np.stack([np.interp(grid, xs, ys) for xs, ys in series])
    mean, std = values.mean(0), values.std(0)
    seeds = {curve.seed for curve in curves}
    same_run = len({curve.run for curve in curves}) == 1 and curves[0].run
    what = 'seeds' if same_run and None not in seeds and len(seeds) == len(curves) else 'runs'
    (line,) = ax.plot(grid, mean, label=f'{label} (mean ± std of {len(curves)} {what}, {span(low, high, x)})')
    ax.fill_between(grid, mean - std, mean + std, color=line.get_color(), alpha=0.25)
    return f'{label}: mean of {len(curves)} {what} over {span(low, high, x)} (the {SPANS[x]} all runs reached)'


def draw_curves(ax, groups: dict[str, list[Curve]], env='', history_interval=1, x='step', y='mean_reward') -> list[str]:
    """Draw each label's curves on ``ax``; the notes saying which curves are means, and over what."""
    if x not in AXES:
        raise ValueError(f'x must be step, time or episode, got {x!r}')
    notes = [draw_group(ax, label, members, x, y, history_interval) for label, members in groups.items()]
    curves = [curve for members in groups.values() for curve in members]
    kinds = {curve.evaluations for curve in curves}
    ax.set_xlabel(AXES[x])
    if len(kinds) == 1:
        ax.set_ylabel(('greedy evaluation ' if kinds.pop() else 'training ') + y.replace('_', ' '))
    else:
        ax.set_ylabel(y.replace('_', ' '))
    envs = {curve.env for curve in curves}
    ax.set_title(env or (next(iter(envs)) or '' if len(envs) == 1 else ''))  # the runs' env when they share one
    ax.grid(alpha=0.3)
    ax.legend(fontsize='small')
    return [note for note in notes if note]


def plot_history(
    paths: list[str | os.PathLike],
    labels: list[str] | None = None,
    env: str = '',
    history_interval: int = 1,
    x: str = 'step',
    y: str = 'mean_reward',
    ax=None,
    mean_seeds: bool = False,
    allow_mixed: bool = False,
):
    """Plot the mean reward of runs, histories or evaluation tables against step, time or episode.

    Curves under the same label are drawn as their mean with a band of one standard deviation,
    over the part of the axis all of them reached (seeds of one configuration).

    Args:
        paths: Run folders, history parquet files or ``evaluations.parquet`` files.
        labels: One label per path, or one for all (default: agent, env and seed from the run's
            ``config.json``; the file name for a table outside a run).
        env: Title (default: the runs' env when they share one).
        history_interval: Plot every n-th row.
        x: ``step``, ``time`` or ``episode`` (evaluations have no ``episode``).
        y: Column to plot.
        ax: A matplotlib axes to draw on (default: the current one).
        mean_seeds: Average the runs of each agent and env into one curve.
        allow_mixed: Let one label average runs of different agents or envs.

    Returns:
        The matplotlib axes.
    """
    ax = ax or pyplot().gca()
    draw_curves(ax, group_curves(paths, labels, mean_seeds, allow_mixed), env, history_interval, x, y)
    return ax
