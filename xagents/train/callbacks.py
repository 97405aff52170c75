"""Callbacks: everything the training loop does besides iterating, each in its own small class.

A callback overrides the hooks it needs; the loop calls only those, so a hook costs
nothing where no callback has it. Hooks run after an iteration (one rollout and update
for on-policy agents, one vector step for off-policy ones) or when an episode ends,
never inside an env step. Every hook gets the :class:`~xagents.train.trainer.Trainer`:
``trainer.agent`` (steps, episodes, models, config, mean and best reward),
``trainer.options`` (the :class:`~xagents.train.options.TrainingOptions`),
``trainer.losses``, ``trainer.elapsed()``, ``trainer.now``, ``trainer.record(scalars)``
(TensorBoard / wandb) and ``trainer.stop(reason)``, which ends training after the
current round of hooks.

>>> class StopAtScore(Callback):
...     def on_evaluation(self, trainer, summary):
...         if summary['mean_reward'] >= 450:
...             trainer.stop('score')
>>> agent.fit(max_steps=200_000, callbacks=[StopAtScore()])
"""

from __future__ import annotations

import datetime
import sys

import numpy as np

from xagents.train.console import budget_part, fitted_line, line_width

BEST_SAVE_INTERVAL = 5.0
PROGRESS_INTERVAL = 2.0
# The first line after the first update comes sooner: a new user sees the run going within seconds.
FIRST_INTERVAL = 1.0


class Callback:
    """Base of every callback; each hook does nothing unless overridden."""

    def on_training_start(self, trainer) -> None:
        """Before the first iteration of ``fit`` (the run folder is open, the state restored)."""

    def on_episode_end(self, trainer, episode: dict) -> None:
        """For each finished episode: ``episode``, ``step``, ``time``, ``episode_reward``,
        ``mean_reward``, ``best_reward``, ``episode_length``, ``improved`` (a new best mean) and, where the env
        reports ``info['is_success']`` (goal envs), ``success`` (1 or 0)."""

    def on_update(self, trainer) -> None:
        """After each training iteration; ``trainer.losses`` holds its losses."""

    def on_evaluation(self, trainer, summary: dict) -> None:
        """After each greedy evaluation: ``mean_reward``, ``std_reward``, ``mean_length``, ``step``."""

    def on_training_end(self, trainer, reason: str) -> None:
        """After the final save: why training stopped (``diverged`` when a loss went NaN, ``unsaved``
        when the final save failed or an env raised, ``error`` after an exception)."""

    def state(self) -> dict:
        """What this callback saves with every checkpoint (JSON; keys unique among callbacks)."""
        return {}

    def load_state(self, state: dict) -> None:
        """Restore from the state saved with a checkpoint (all callbacks' keys together)."""


def next_multiple(steps: int, interval: int | None) -> float:
    """The first multiple of ``interval`` above ``steps`` (infinity without an interval)."""
    return float('inf') if interval is None else (steps // interval + 1) * interval


class EveryNSteps(Callback):
    """Calls ``due(trainer)`` after the update that reaches each multiple of ``interval(trainer)`` steps
    (none without an interval); a resumed run goes on from the next multiple."""

    def interval(self, trainer) -> int | None:
        raise NotImplementedError

    def due(self, trainer) -> None:
        raise NotImplementedError

    def on_training_start(self, trainer):
        self.next = next_multiple(trainer.agent.steps, self.interval(trainer))

    def on_update(self, trainer):
        if trainer.agent.steps >= self.next:
            self.due(trainer)
            self.next = next_multiple(trainer.agent.steps, self.interval(trainer))


class TargetReward(Callback):
    """Stops once the mean over a full ``reward_buffer_size`` window reaches ``target``."""

    def __init__(self, target: float):
        self.target = target

    def on_update(self, trainer):
        agent = trainer.agent
        if len(agent.episode_rewards) == agent.episode_rewards.maxlen and agent.mean_reward >= self.target:
            trainer.stop('target')


class MaxSteps(Callback):
    """Stops after ``max_steps`` environment steps."""

    def __init__(self, max_steps: int):
        self.max_steps = max_steps

    def on_update(self, trainer):
        if trainer.agent.steps >= self.max_steps:
            trainer.stop('max_steps')


class PlateauReduction(Callback):
    """After ``divergence_monitoring_steps``, lowers the learning rate when the best mean stalls;
    stops after ``early_stop_patience`` reductions.

    A plateau is ``plateau_reduce_patience`` finished episodes without a new best mean.
    """

    def __init__(self):
        self.plateau_count = 0
        self.reductions = 0

    def on_episode_end(self, trainer, episode):
        self.plateau_count = 0 if episode['improved'] else self.plateau_count + 1

    def on_update(self, trainer):
        options = trainer.options
        if (
            trainer.reason is not None
            or options.divergence_monitoring_steps is None
            or trainer.agent.steps < options.divergence_monitoring_steps
            or self.plateau_count < options.plateau_reduce_patience
        ):
            return
        self.plateau_count = 0
        self.reductions += 1
        for model in trainer.agent.models.values():
            rate = model.optimizer.learning_rate
            rate.assign(rate * options.plateau_reduce_factor)
        trainer.console(f'Learning rate reduced to {float(rate.numpy()):.3g} (plateau {self.reductions})')
        if self.reductions >= options.early_stop_patience:
            trainer.stop('early_stop', f'Early stopping after {self.reductions} learning rate reductions')

    def state(self):
        return {'plateau_count': self.plateau_count, 'reductions': self.reductions}

    def load_state(self, state):
        self.plateau_count = state.get('plateau_count', 0)
        self.reductions = state.get('reductions', 0)


class Progress(Callback):
    """A progress line every ``log_frequency`` episodes (default: every 2 s) and at the end:
    time, steps, games, speed, mean and best reward, the losses; the same figures to
    TensorBoard / wandb."""

    def on_training_start(self, trainer):
        self.episodes, self.steps, self.time = trainer.agent.episodes, trainer.agent.steps, trainer.now
        self.compiled = False
        self.timed_from = None  # steps and time at the end of the first update: the ETA's speed counts from there
        self.interval = FIRST_INTERVAL

    def on_update(self, trainer):
        agent, frequency = trainer.agent, trainer.options.log_frequency
        if not self.compiled:
            # The first update traces and compiles the graphs: speeds count from its end, not from
            # the start, so no line reports a compile (or the buffer's warm-up) as training speed.
            # An off-policy agent's first iterations after its warm-up may train nothing (every
            # ``train_frequency``-th one does): the first with losses is the one that compiles.
            if not trainer.losses and not trainer.reason:
                return
            self.compiled = True
            compiling = trainer.now - self.time
            self.steps, self.time = agent.steps, trainer.now
            self.timed_from = (agent.steps, trainer.now)
            if not trainer.reason:
                self.show(trainer, f'first update {compiling:.1f} s (compiling; speeds count from here)')
                self.episodes = agent.episodes
                self.interval = FIRST_INTERVAL
                return
        if frequency:
            due = agent.episodes - self.episodes >= frequency
        else:
            due = trainer.now - self.time >= self.interval and agent.episodes > self.episodes
        if due or trainer.reason:
            self.show(trainer)

    def show(self, trainer, speed_note: str | None = None) -> None:
        """One progress line; ``speed_note`` stands in for the speed (the first line, after compiling).
        A line after no timed steps (training ended at the first update) shows no speed."""
        agent, now = trainer.agent, trainer.now
        speed = (agent.steps - self.steps) / max(now - self.time, 1e-9) if agent.steps > self.steps else None
        first_model = next(iter(agent.models.values()))
        trainer.record(
            {
                **({} if speed_note or speed is None else {'time/steps_per_second': speed}),
                'train/learning_rate': float(first_model.optimizer.learning_rate.numpy()),
                **{f'train/{name}': value for name, value in trainer.losses.items()},
            }
        )
        precision = trainer.options.display_precision
        shown = lambda value: f'{value:.{precision}f}' if np.isfinite(value) else '-'  # noqa: E731
        speed_now = self.mean_speed(agent, now)
        budget = agent.budget and budget_part(agent.steps, agent.budget, speed_now, sys.stdout.isatty())
        parts = [
            f'time {datetime.timedelta(seconds=int(trainer.elapsed()))}',
            f'steps {agent.steps:,}{f" {budget}" if budget else ""}',
            f'games {agent.episodes:,}',
            *([speed_note or f'speed {speed:,.0f} steps/s'] if speed_note or speed is not None else []),
            # No best before 10 episodes, no mean before the first: shown as '-', not '-inf' / 'nan'.
            f'mean reward {shown(agent.mean_reward)}',
        ]
        figures = [
            f'best reward {shown(agent.best_reward)}',
            *[f'{name} {value:.{max(precision, 4)}g}' for name, value in trainer.losses.items()],
        ]
        trainer.console(fitted_line([parts, figures], line_width()))
        self.episodes, self.steps, self.time = agent.episodes, agent.steps, now
        self.interval = PROGRESS_INTERVAL

    def mean_speed(self, agent, now: float) -> float | None:
        """Steps per second since the first update (its compile left out), once any were timed."""
        steps, start = self.timed_from or (agent.steps, now)
        return (agent.steps - steps) / (now - start) if agent.steps > steps and now > start else None


class History(Callback):
    """One history row per finished episode, with the losses known when it ended.

    The trainer hands it each batch of finished episodes whole, before any ``on_episode_end``
    hook runs: a hook that raises cannot keep an episode the checkpoint counts out of the history.
    """

    def append_episodes(self, trainer, episodes: list[dict]) -> None:
        for episode in episodes:
            row = {name: value for name, value in episode.items() if name != 'improved'}
            trainer.run_folder.history.append({**row, **trainer.losses})


class LatestCheckpoint(Callback):
    """Saves the latest checkpoint (and the history) every ``save_interval`` seconds."""

    def on_training_start(self, trainer):
        self.last = trainer.now

    def on_update(self, trainer):
        if trainer.now - self.last >= trainer.options.save_interval:
            trainer.save_latest()
            self.last = trainer.now


class BestModel(Callback):
    """Saves the best models when the training mean improves, at most every 5 s and at the end.

    With evaluations (``eval_interval``) the best evaluation chooses them instead.
    """

    def __init__(self):
        self.pending, self.last = False, float('-inf')

    def on_episode_end(self, trainer, episode):
        self.pending |= episode['improved'] and trainer.options.eval_interval is None

    def on_update(self, trainer):
        if self.pending and trainer.now - self.last >= BEST_SAVE_INTERVAL:
            trainer.save_best()
            self.pending, self.last = False, trainer.now

    def on_training_end(self, trainer, reason):
        if self.pending and reason not in ('diverged', 'unsaved'):  # the saved models stay as they are
            trainer.save_best()
            self.pending = False


class Snapshots(EveryNSteps):
    """Every ``snapshot_interval`` steps, the models in the run's ``snapshots/step-<steps>/``."""

    def interval(self, trainer):
        return trainer.options.snapshot_interval

    def due(self, trainer):
        trainer.save_snapshot()


class Monitoring(Callback):
    """Episode and evaluation figures to TensorBoard / wandb, flushed with each save interval."""

    def on_training_start(self, trainer):
        self.last_flush = trainer.now

    def on_episode_end(self, trainer, episode):
        trainer.record(
            {
                'episode/reward': episode['episode_reward'],
                'episode/length': float(episode['episode_length']),
                'episode/mean_reward': episode['mean_reward'],
                **({'episode/success': episode['success']} if 'success' in episode else {}),
            },
            episode['step'],
        )

    def on_evaluation(self, trainer, summary):
        trainer.record({f'eval/{name}': value for name, value in summary.items() if name != 'step'})

    def on_update(self, trainer):
        if trainer.now - self.last_flush >= trainer.options.save_interval:
            trainer.monitor.flush()
            self.last_flush = trainer.now
