"""Where training metrics go besides the history: TensorBoard event files and wandb."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

WANDB_PROJECT = 'xagents'
WANDB_INIT_TIMEOUT = 30
# The x axis of every wandb chart: the environment step each value belongs to. Episodes are logged at
# the steps they ended, before those of the update logged just before them: wandb drops values logged
# at a step below its own, so its own step only counts the logs and the charts use this one.
STEP_METRIC = 'env_step'


class Monitor:
    """TensorBoard scalars (``tensorboard``) and a wandb run (``session``), either or both.

    Without a wandb account or network the wandb run is offline, in the run directory's
    ``wandb/`` folder (upload it later with ``wandb sync``), and ``console`` says so in
    one line; training never fails for want of wandb.

    Args:
        output_dir: The run directory.
        tensorboard: Write event files to ``<output_dir>/tensorboard``.
        session: Name of the wandb run (None: no wandb).
        config: The run's configuration, stored with the wandb run.
        console: Prints a line for the user.
    """

    def __init__(
        self,
        output_dir: str | os.PathLike,
        tensorboard: bool = False,
        session: str | None = None,
        config: dict | None = None,
        console: Callable[[str], None] = print,
    ):
        self.output_dir = Path(output_dir)
        self.writer = None
        self.wandb_run = None
        if tensorboard:
            import tensorflow as tf

            self.writer = tf.summary.create_file_writer(str(self.output_dir / 'tensorboard'))
        if session is not None:
            self.wandb_run = self._start_wandb(session, config or {}, console)

    def _start_wandb(self, session: str, config: dict, console):
        import wandb

        settings = {'silent': True, 'console': 'off', 'disable_git': True, 'x_disable_stats': True}
        options = {
            'project': os.environ.get('WANDB_PROJECT', WANDB_PROJECT),
            'name': session,
            'config': config,
            'dir': str(self.output_dir),
        }
        mode = os.environ.get('WANDB_MODE', 'online')
        if mode == 'offline':
            reason = 'WANDB_MODE=offline'
        else:
            try:
                run = wandb.init(**options, settings=wandb.Settings(init_timeout=WANDB_INIT_TIMEOUT, **settings))
                return _stepped_by_env_steps(run)
            except Exception as error:  # no account, no network, server refusing: all mean offline
                reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        run = wandb.init(**options, mode='offline', settings=wandb.Settings(**settings))
        folder = Path(run.dir).parent
        console(f'wandb offline ({reason}): logging to {folder}; upload later with: wandb sync {folder}')
        return _stepped_by_env_steps(run)

    def scalars(self, step: int, values: dict[str, float]) -> None:
        if self.writer is not None:
            import tensorflow as tf

            with self.writer.as_default(step=step):
                for name, value in values.items():
                    tf.summary.scalar(name, value)
        if self.wandb_run is not None:
            self.wandb_run.log({**values, STEP_METRIC: step})

    def video(self, step: int, path: str | os.PathLike, name: str = 'video') -> None:
        if self.wandb_run is not None:
            import wandb

            self.wandb_run.log({name: wandb.Video(str(path), format='mp4'), STEP_METRIC: step})

    def flush(self) -> None:
        if self.writer is not None:
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        if self.wandb_run is not None:
            self.wandb_run.finish()
            self.wandb_run = None


def _stepped_by_env_steps(run):
    """``run`` with every metric charted against :data:`STEP_METRIC`."""
    run.define_metric(STEP_METRIC)
    run.define_metric('*', step_metric=STEP_METRIC)
    return run
