"""What the training loop is told: how it logs, saves, evaluates, records and stops early.

These options belong to the trainer (:mod:`xagents.train`), not to the agent: the agent's
config (:mod:`xagents.core.config`) holds only what its learning reads. ``fit`` takes them
as keywords, and so does an agent's constructor (as SB3 takes ``verbose`` and
``tensorboard_log``), which keeps them for its fits. The fields with ``hp()`` metadata are
the ``xagents train`` flags of the "training:" table and are saved in the run's
``config.json`` beside the hyperparameters (and restored with ``--resume``), all but the run
paths, which ``config.json`` keeps apart. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import dataclasses

from xagents.core.schema import check_at_least_one, check_fields, flag_name, hp
from xagents.envs.rendering import render_one
from xagents.extras import require

# Where a run writes: saved in config.json apart from the options (as its checkpoints and history).
RUN_PATHS = ('output_dir', 'checkpoints', 'history_checkpoint')
# What makes a run write or evaluate beyond its history and checkpoints: a tuning trial and
# play take none of these (the tuner evaluates on its own; play records on its own).
EXTRA_OUTPUTS = (
    'tensorboard',
    'monitor_session',
    'video_interval',
    'video_dir',
    'eval_interval',
    'eval_episodes',
    'snapshot_interval',
)


@dataclasses.dataclass
class TrainingOptions:
    """Options of the training loop: run paths, console, saving, plateaus, monitoring, evaluation, videos."""

    output_dir: str | None = hp(None, 'Run directory (default: runs/<agent>-<env>-<time>)')
    checkpoints: list[str] | None = hp(None, 'Paths for the best model checkpoints, one per model', nargs='+')
    history_checkpoint: str | None = hp(None, 'Parquet file for the per-episode history')
    log_frequency: int | None = hp(None, 'Print progress every n finished episodes (default: every 2 s)')
    divergence_monitoring_steps: int | None = hp(
        None, 'Steps after which plateau lr reduction and early stopping start'
    )
    plateau_reduce_factor: float = hp(0.9, 'Factor applied to the learning rate on a plateau', positive=True)
    plateau_reduce_patience: int = hp(10, 'Progress checks without improvement that make a plateau', positive=True)
    early_stop_patience: int = hp(3, 'Plateau reductions after which training stops', positive=True)
    save_interval: float = hp(30.0, 'Seconds between saves of the latest checkpoint and the history', positive=True)
    display_precision: int = hp(2, 'Decimals shown in progress lines')
    quiet: bool = hp(False, 'Print nothing while training')
    tensorboard: bool = hp(
        False, "TensorBoard scalars (returns, lengths, losses, lr, steps/s) in the run's tensorboard/"
    )
    monitor_session: str | None = hp(
        None, 'Log metrics, losses and videos to this wandb run (offline, in the run, without an account)'
    )
    video_interval: int | None = hp(
        None, "Record training episodes 0, n, 2n, ... as mp4 (in the run's videos/)", positive=True
    )
    video_dir: str | None = hp(None, 'Folder for training videos (alone: episodes 0, 1, 8, 27, ..., then every 1000)')
    eval_interval: int | None = hp(
        None,
        'Every n steps, evaluate the greedy policy on separate envs; the best evaluation is the best checkpoint',
        positive=True,
    )
    eval_episodes: int = hp(10, 'Episodes per evaluation', positive=True)
    snapshot_interval: int | None = hp(
        None, "Every n steps, keep a checkpoint in the run's snapshots/ (play it with --snapshot)", positive=True
    )

    def __post_init__(self):
        check_fields(self)
        check_at_least_one(self, 'video_interval', 'eval_interval', 'eval_episodes', 'snapshot_interval')
        if self.monitor_session is not None:
            require('wandb', 'wandb', flag_name('monitor_session'))

    @classmethod
    def names(cls, without: tuple[str, ...] = ()) -> list[str]:
        """Every option's keyword, but ``without``."""
        return [field.name for field in dataclasses.fields(cls) if field.name not in without]

    def saved(self) -> dict:
        """The options saved with a run's hyperparameters (all but the paths, which the run keeps apart)."""
        return {name: getattr(self, name) for name in self.names(without=RUN_PATHS)}

    @property
    def records_videos(self) -> bool:
        """Whether training episodes are recorded as videos (``--video-interval`` or ``--video-dir``)."""
        return self.video_interval is not None or self.video_dir is not None

    def check_for(self, agent) -> None:
        """What the options cannot do with ``agent``: a clear error before any folder is made."""
        if 'lr' in agent.schedules and self.divergence_monitoring_steps is not None:
            raise ValueError(
                '--lr lin_... and --divergence-monitoring-steps both set the learning rate: give one of them'
            )
        if self.checkpoints is not None and len(self.checkpoints) != len(agent.model_roles):
            raise ValueError(
                f'{flag_name("checkpoints")} needs {len(agent.model_roles)} path(s) for {type(agent).__name__}, '
                f'got {len(self.checkpoints)}'
            )
        if self.records_videos:
            # A first frame, from the reset training starts with anyway: an env that gives none is
            # refused here, in the line play gives, not at its first recorded episode.
            if agent.observations is None:
                agent.envs.reset(seed=agent.config.seed)
            render_one(agent.envs)


# The options a tuning trial takes as given, as the agent's hyperparameters, and so what a preset may
# hold (xagents tune writes them in its best preset): all but the run paths, the extra outputs and quiet.
TRIAL_OPTIONS = tuple(TrainingOptions.names(without=(*RUN_PATHS, *EXTRA_OUTPUTS, 'quiet')))
