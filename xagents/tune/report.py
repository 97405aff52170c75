"""A study's report: its trials' states, the best trial with a train command and a preset file, plots."""

from __future__ import annotations

import json
from pathlib import Path

from xagents.core.schema import flag_name
from xagents.tune.options import GAMMA_PARAM
from xagents.tune.study import best_trial
from xagents.tune.worker import short


def train_flags(hyperparameters: dict) -> list[str]:
    """Command line flags that give ``hyperparameters`` to ``xagents train``."""
    flags = []
    for name, value in hyperparameters.items():
        if value is None:
            continue
        if isinstance(value, bool):
            flags.append(flag_name(name) if value else '--no-' + name.replace('_', '-'))
        elif isinstance(value, (list, tuple)):  # a flag of several words (--threads 1 1)
            flags += [flag_name(name), *map(str, value)]
        else:
            flags += [flag_name(name), repr(value) if isinstance(value, float) else str(value)]
    return flags


def report(study, identity: dict, output_dir: Path, model_names: list[str]) -> None:
    """Print the study's state and best trial, write the best preset and the plots."""
    import optuna

    states = [trial.state for trial in study.get_trials(deepcopy=False)]
    counts = {state.name.lower(): states.count(state) for state in optuna.trial.TrialState if states.count(state)}
    print(f'Study {study.study_name}: ' + (', '.join(f'{n} {state}' for state, n in counts.items()) or 'no trials'))
    best = best_trial(study)
    if best is None:
        print('No complete trial yet: no best hyperparameters to report')
        return
    hyperparameters = best.user_attrs['hyperparameters']
    models = best.user_attrs.get('model_files') or []
    print(f'Best: trial {best.number}, mean evaluation reward {best.value:.2f}')
    searched = ['gamma' if name == GAMMA_PARAM else name for name in best.params]
    print('  ' + (', '.join(f'{name}={short(hyperparameters[name])}' for name in searched) or '(nothing searched)'))
    preset = output_dir / 'best-preset.json'
    preset.write_text(
        json.dumps(
            {**identity, 'trial': best.number, 'value': best.value, 'hyperparameters': hyperparameters}, indent=2
        )
    )
    start = ['xagents', 'train', identity['agent'], '--env', identity['env'], *identity['env_flags']]
    start += [part for name, file in zip(model_names, models) for part in (flag_name(name), file)]
    print('Train with them:')
    print('  ' + ' '.join([*start, *train_flags(hyperparameters), '--max-steps', str(identity['trial_steps'])]))
    print(f'  (or: {" ".join(start)} --preset {preset} --max-steps ...)')
    for line in save_plots(study, output_dir):
        print(line)


def save_plots(study, output_dir: Path) -> list[str]:
    import warnings

    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as optuna_plots

    lines = []
    for file, plot in (
        ('optimization-history.png', optuna_plots.plot_optimization_history),
        ('param-importances.png', optuna_plots.plot_param_importances),
    ):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                axes = plot(study)
            figure = axes.figure
            figure.set_size_inches(8, 5)
            figure.tight_layout()
            figure.savefig(output_dir / file, dpi=120)
            plt.close(figure)
            lines.append(f'Plot: {output_dir / file}')
        except (ValueError, RuntimeError, ZeroDivisionError) as error:
            lines.append(f'No {file} yet: {str(error).splitlines()[0]}')
    return lines
