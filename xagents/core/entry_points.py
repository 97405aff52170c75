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

from xagents.core.renamed import renamed_fields, unknown_names
from xagents.core.schema import checked_scalar

if TYPE_CHECKING:
    from xagents.run.folder import RunFolder
    from xagents.train.callbacks import Callback
    from xagents.train.options import TrainingOptions


class EntryPoints:
    """``fit`` (:mod:`xagents.train`), ``resume``, ``load_weights`` and ``load`` (:mod:`xagents.run`), ``play``."""

    # The training options the agent was made with, for its fits (None: it was given none).
    training_options: TrainingOptions | None

    @classmethod
    def split_training_options(cls, keywords: dict, also: tuple[str, ...] = ()) -> tuple[dict, TrainingOptions | None]:
        """``keywords`` without the training options among them, and those options (checked), or None.

        Keywords that are all fields of ``cls.Config`` give None without importing the trainer's
        options (:mod:`xagents.train.options`): making an agent loads no upper layer unless it is
        given training options (``quiet``, ``output_dir``, ``eval_interval``, ...) to keep. Others
        are a TypeError with a "did you mean" (among ``also`` too: the caller's own arguments).
        """
        own = {field.name for field in dataclasses.fields(cls.Config)}
        if all(name in own for name in keywords):
            return dict(keywords), None
        from xagents.train.options import TrainingOptions

        names = set(TrainingOptions.names())
        unknown = [name for name in keywords if name not in own | names | renamed_fields(cls.Config).keys()]
        if unknown:
            raise cls.unknown_error(unknown, (*names, *also))
        options = TrainingOptions(**{name: value for name, value in keywords.items() if name in names})
        return {name: value for name, value in keywords.items() if name not in names}, options

    def fit(
        self,
        target_reward: float | None = None,
        max_steps: int | None = None,
        callbacks: list[Callback] = (),
        more_steps: int | None = None,
        **options,
    ) -> str:
        """Train until ``target_reward`` (mean over ``reward_buffer_size`` episodes) or ``max_steps``.

        ``max_steps`` counts the agent's steps from its first (a resumed run's included), as SB3's
        ``learn(total_timesteps, reset_num_timesteps=False)`` does not: an agent already at or past
        it trains nothing (``fit`` returns ``max_steps`` at once). ``more_steps=N`` counts from now
        (``max_steps`` = the agent's steps + N), as SB3's ``learn(N)`` does.

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
            known = ['target_reward', 'max_steps', 'more_steps', 'callbacks', *TrainingOptions.names()]
            raise TypeError(f'fit got unknown option(s): {unknown_names(unknown, known)}')
        if self.run_folder is not None:
            from xagents.run.session import check_same_paths
            from xagents.train.options import RUN_PATHS

            check_same_paths(self.run_folder, **{name: value for name, value in options.items() if name in RUN_PATHS})
        given = dataclasses.replace(self.training_options or TrainingOptions(), **options)
        if more_steps is not None:
            if max_steps is not None:
                raise TypeError('give max_steps (counted from the first step) or more_steps (from now), not both')
            max_steps = self.steps + checked_scalar('more_steps', more_steps, int, positive=True)
        elif max_steps is not None and self.steps >= checked_scalar('max_steps', max_steps, int, positive=True):
            from xagents.train.console import console_for

            console_for(given)(
                f'Already at step {self.steps:,} of max_steps {max_steps:,}: nothing to train (max_steps counts '
                'from the first step; in Python, fit(more_steps=N) trains N more)'
            )
            return 'max_steps'
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
