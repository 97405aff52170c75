"""``xagents plot``: learning curves of runs, training histories and evaluation tables in one PNG."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from xagents.commands.failing import fail
from xagents.commands.flags import ArgumentParser, add_config_flags, config_from_args, format_table, help_rows
from xagents.core.schema import hp


@dataclasses.dataclass
class PlotOptions:
    labels: list[str] | None = hp(
        None, 'One label per source, or one for all (default: agent, env, seed; same label: mean, std)', nargs='+'
    )
    x: str = hp('step', 'Horizontal axis', choices=['step', 'time', 'episode'])
    output: str = hp('history.png', 'PNG file to write')
    env: str = hp('', 'Environment name, shown as the title of the plot')
    history_interval: int = hp(1, 'Plot every n-th episode', positive=True)
    mean_seeds: bool = hp(False, 'One curve per agent and env: the mean and std of its runs (seeds)')
    allow_mixed: bool = hp(False, 'Let one label average runs of different agents or envs')


def plot_help() -> str:
    return (
        'usage: xagents plot SOURCE [SOURCE ...] [options]\n\n'
        'SOURCE: a run folder (its history.parquet), a history.parquet or an evaluations.parquet\n\n'
        + format_table('plotting:', help_rows(PlotOptions))
    )


def checked_output(output: Path) -> Path:
    """The PNG path to write, refused before anything is drawn: a folder, a missing or unwritable folder."""
    if output.is_dir():
        fail(f'--output must be a .png file, {output} is a folder')
    if output.suffix.lower() != '.png':
        fail(f'--output must be a .png file, got {output}')
    if not output.parent.is_dir():
        fail(f'folder for --output does not exist: {output.parent}')
    probe = output.with_name(f'.{output.name}.part.png')  # the file saving writes first
    try:
        probe.touch()
        probe.unlink()
    except OSError as error:
        fail(f'cannot write --output {output}: {error.strerror}')
    return output


def plot(rest: list[str]) -> int:
    if not rest or rest[0] in ('-h', '--help') or '--help' in rest or '-h' in rest:
        print(plot_help())
        return 0
    parser = ArgumentParser(prog='xagents plot', add_help=False, allow_abbrev=False)
    parser.add_argument('sources', nargs='+')
    add_config_flags(parser, PlotOptions, 'plot')
    args = parser.parse_args(rest)
    options = config_from_args(PlotOptions, args)
    import matplotlib

    from xagents.run.curves import draw_curves, group_curves
    from xagents.run.history import HistoryError

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    output = checked_output(Path(options.output))
    figure, ax = plt.subplots(figsize=(8, 5))
    try:
        groups = group_curves(args.sources, options.labels, options.mean_seeds, options.allow_mixed)
        notes = draw_curves(ax, groups, options.env, options.history_interval, options.x)
    except (HistoryError, ValueError) as error:
        fail(str(error))
    figure.tight_layout()
    temporary = output.with_name(f'.{output.name}.part.png')
    try:
        figure.savefig(temporary, dpi=120)
        os.replace(temporary, output)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        fail(f'cannot write --output {output}: {error.strerror}')
    for note in notes:
        print(note)
    print(f'Plot saved to {output}')
    return 0
