"""The agent's public entry points, each handing the agent to the layer that owns the job.

They import those layers only when called, so the core imports none of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xagents.train.callbacks import Callback


class EntryPoints:
    """``fit`` (:mod:`xagents.train`), ``resume`` and ``load_weights`` (:mod:`xagents.run`), ``play``."""

    def fit(
        self, target_reward: float | None = None, max_steps: int | None = None, callbacks: list[Callback] = ()
    ) -> str:
        """Train until ``target_reward`` (mean over ``reward_buffer_size`` episodes) or ``max_steps``.

        ``callbacks`` (:class:`xagents.train.Callback`) run beside the built-in ones.

        Returns:
            Why training stopped: ``target``, ``max_steps``, ``early_stop``, ``interrupted``
            or the reason a callback gave.
        """
        from xagents.train.trainer import Trainer

        return Trainer(self, callbacks).fit(target_reward, max_steps)

    def resume(self, run_dir: str) -> None:
        """Restore weights, optimizers, counters, RNG, normalizers (and the buffer) from a run directory."""
        from xagents.run.session import resume
        from xagents.train.console import console_for

        resume(self, run_dir, console_for(self.config))

    def load_weights(self, paths: list[str]) -> None:
        """Load models (and their normalizer statistics) from checkpoints, one per model, or a run directory."""
        from xagents.run.checkpoints import load_weights
        from xagents.train.console import console_for

        load_weights(self, paths, console_for(self.config))

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
