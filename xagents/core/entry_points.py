"""The agent's one door upward: training, resuming, loading and playing, each done by its owner.

The core imports no upper layer (the trainer, the run folder, the player, the commands, the
tuner), with this module as the one documented exception: each method here imports its
owner when called, so importing the core or an agent loads none of them, nor does making an
agent without training options. The training options
(:class:`xagents.train.options.TrainingOptions`) are the trainer's; an agent keeps those its
constructor was given (checked by that class), for its fits. The run folder a fit or a
resume opened belongs to the session (:mod:`xagents.run.session`): ``run_folder`` only asks
for it.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xagents.run.folder import RunFolder
    from xagents.train.callbacks import Callback
    from xagents.train.options import TrainingOptions


class EntryPoints:
    """``fit`` (:mod:`xagents.train`), ``resume``, ``load_weights`` and ``load`` (:mod:`xagents.run`), ``play``."""

    # The training options the agent was made with, for its fits (None: it was given none).
    training_options: TrainingOptions | None

    @classmethod
    def split_training_options(cls, keywords: dict) -> tuple[dict, TrainingOptions | None]:
        """``keywords`` without the training options among them, and those options (checked), or None.

        Keywords that are all fields of ``cls.Config`` give None without importing the trainer's
        options (:mod:`xagents.train.options`): making an agent loads no upper layer unless it is
        given training options (``quiet``, ``output_dir``, ``eval_interval``, ...) to keep.
        """
        own = {field.name for field in dataclasses.fields(cls.Config)}
        if all(name in own for name in keywords):
            return dict(keywords), None
        from xagents.train.options import TrainingOptions

        names = set(TrainingOptions.names())
        options = TrainingOptions(**{name: value for name, value in keywords.items() if name in names})
        return {name: value for name, value in keywords.items() if name not in names}, options

    def fit(
        self,
        target_reward: float | None = None,
        max_steps: int | None = None,
        callbacks: list[Callback] = (),
        **options,
    ) -> str:
        """Train until ``target_reward`` (mean over ``reward_buffer_size`` episodes) or ``max_steps``.

        ``callbacks`` (:class:`xagents.train.Callback`) run beside the built-in ones; ``options``
        (:class:`xagents.train.options.TrainingOptions`: ``output_dir``, ``eval_interval``,
        ``quiet``, ...) override those the agent was made with. A later fit, or a fit after
        ``resume``, goes on in the agent's run: run paths other than its own are an error.

        Returns:
            Why training stopped: ``target``, ``max_steps``, ``early_stop``, ``interrupted``
            or the reason a callback gave.
        """
        from xagents.train.options import TrainingOptions
        from xagents.train.trainer import Trainer

        unknown = sorted(set(options) - set(TrainingOptions.names()))
        if unknown:
            raise TypeError(f'fit got unknown option(s): {", ".join(unknown)}')
        if self.run_folder is not None:
            from xagents.run.session import check_same_paths
            from xagents.train.options import RUN_PATHS

            check_same_paths(self.run_folder, **{name: value for name, value in options.items() if name in RUN_PATHS})
        given = dataclasses.replace(self.training_options or TrainingOptions(), **options)
        return Trainer(self, callbacks, given).fit(target_reward, max_steps)

    def resume(self, run_dir: str) -> None:
        """Restore weights, optimizers, counters, RNG, normalizers (and the buffer) from a run directory."""
        from xagents.run.session import resume
        from xagents.train.console import console_for

        resume(self, run_dir, console_for(self.training_options))

    def load_weights(self, paths: list[str]) -> None:
        """Load models (and their normalizer statistics) from checkpoints, one per model, or a run directory."""
        from xagents.run.checkpoints import load_weights
        from xagents.train.console import console_for

        load_weights(self, paths, console_for(self.training_options))

    @classmethod
    def load(cls, run_dir: str, checkpoint: str | int = 'best', env=None):
        """The trained agent of a run folder: see :func:`xagents.load` (a run of another agent is an error)."""
        from xagents.run.loading import load

        return load(run_dir, checkpoint, env, agent=cls)

    def play(self, *args, **kwargs) -> list[dict[str, float]]:
        """Play episodes; takes the arguments of :func:`xagents.play.player.play` after the agent
        (``episodes``, ``video_dir``, ``frame_dir``, ...) and returns each episode's reward, length and time."""
        from xagents.play.player import play

        return play(self, *args, **kwargs)

    @property
    def run_folder(self) -> RunFolder | None:
        """The run folder of the agent's last ``fit`` or ``resume`` (paths, history, state), or None."""
        from xagents.run.session import run_folder_of

        return run_folder_of(self)

    @property
    def run(self) -> RunFolder | None:
        """Deprecated name of :attr:`run_folder`."""
        warnings.warn('agent.run is now agent.run_folder', DeprecationWarning, stacklevel=2)
        return self.run_folder
