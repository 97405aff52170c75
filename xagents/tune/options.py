"""The options of ``xagents tune`` and the constants its processes share."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from xagents.core.schema import hp
from xagents.extras import require

# Seconds between a worker's heartbeats for its running trials, and after which a trial
# without one (its worker was killed) is failed; the environment can shorten them (tests).
HEARTBEAT_INTERVAL = int(os.environ.get('XAGENTS_TUNE_HEARTBEAT', 10))
GRACE_PERIOD = 3 * HEARTBEAT_INTERVAL
PRUNED_EXIT = 3
FAILURES_TO_STOP = 3  # trials of a worker failing in a row: a setting that cannot train
GAMMA_PARAM = 'one_minus_gamma'


SEARCH_HELP = """search space (agent flags below, and --n-envs):
  one value fixes a flag: --lr 3e-4
  two values give a range to flags of tuning type uniform, log_uniform (log scale) or int: --lr 1e-4 1e-2
    (or --lr 1e-4..1e-2)
  the values of a categorical flag are its choices: --n-steps 32 128 512
  a switch alone is on; --dueling true false lets the search choose
  --gamma 0.9 0.999 is searched as 1 - gamma on a log scale
  flags not given keep the agent's preset for the env (--no-presets: its defaults)"""


class TuneError(ValueError):
    """Tuning input that cannot be used; the message is one line for the user."""


@dataclasses.dataclass
class TuneOptions:
    study: str = hp(None, 'Name of the optuna study (created, or joined when it exists)', required=True)
    storage: str | None = hp(
        None, 'Database URL, e.g. postgresql://user@host/db to share the study (default: SQLite in the output dir)'
    )
    trial_steps: int | None = hp(
        None, 'Environment steps each trial trains for (required, except with --report)', positive=True
    )
    n_trials: int = hp(10, 'Finished trials the study should have (shared by all workers)', positive=True)
    n_jobs: int = hp(1, 'Trials this worker runs at once, each in its own process', positive=True)
    warmup_trials: int = hp(5, 'Trials finished before the pruner may stop a trial', positive=True)
    pruner: str = hp('median', 'Stops unpromising trials early', choices=['median', 'halving', 'none'])
    sampler: str = hp('tpe', 'How trial hyperparameters are chosen', choices=['tpe', 'random'])
    sampler_seed: int | None = hp(None, "Seed of this worker's sampler (give each worker its own)")
    eval_interval: int | None = hp(
        None, 'Steps between evaluations reported to the pruner (default: a quarter of a trial)', positive=True
    )
    eval_episodes: int = hp(10, 'Greedy episodes per evaluation; the last evaluation is the objective', positive=True)
    output_dir: str | None = hp(None, 'Folder for trial runs, plots and the best preset (default: tune/<study>)')
    report: bool = hp(False, 'Only report the study: best trial, train command, preset file and plots')
    non_silent: bool = hp(False, "Show the trials' training output (default: one line per finished trial)")


def check_options(options: TuneOptions, models: list[str]) -> None:
    """A one-line TuneError for options that cannot be used: a study name with "/", no trial length, ..."""
    if not options.study or '/' in options.study:
        raise TuneError(f'--study needs a name without "/", got {options.study!r}')
    if options.trial_steps is None and not options.report:
        raise TuneError('tune needs --trial-steps N: the environment steps each trial trains for')
    if options.sampler_seed is not None and not 0 <= options.sampler_seed < 2**32:
        raise TuneError(f'--sampler-seed must be in [0, 2**32), got {options.sampler_seed}')
    for file in models:
        if not Path(file).is_file():
            raise TuneError(f'model file not found: {file}')
    scheme = (options.storage or '').partition('://')[0]
    if scheme in ('postgresql', 'postgresql+psycopg'):  # SQLAlchemy opens both with psycopg 3
        require('psycopg', 'tune', f'--storage {scheme}://')
