"""The training loop: iterate the agent and call the callbacks, which do everything else."""

from __future__ import annotations

import math
import signal
import time
import warnings

from xagents.core.errors import TrainingDiverged
from xagents.core.schema import checked_scalar
from xagents.envs.checks import EnvError
from xagents.run import checkpoints
from xagents.run.session import open_for_training
from xagents.train import callbacks as builtin
from xagents.train.console import OperationProgress, console_for
from xagents.train.evaluation import Evaluation
from xagents.train.options import TrainingOptions
from xagents.train.videos import TrainingVideos

# State of callbacks a run may not have this time (no videos now), kept for the next time.
CARRIED = ('episodes_started',)
HOOKS = ('on_training_start', 'on_episode_end', 'on_update', 'on_evaluation', 'on_training_end')
MESSAGES = {
    'target': 'Reward achieved in {steps} steps',
    'max_steps': 'Maximum steps exceeded',
    'interrupted': 'Interrupted at step {steps}; run saved in {run}',
    'terminated': 'Terminated at step {steps}; run saved in {run}',
}


class Trainer:
    """Trains ``agent`` in its run folder with the built-in callbacks and ``callbacks``, as ``options`` say.

    Attributes seen by callbacks: ``agent``, ``config`` (the agent's), ``options`` (the
    :class:`~xagents.train.options.TrainingOptions`), ``run_folder`` (the run folder),
    ``losses`` (the latest), ``now`` (the clock at the current hook), ``reason`` (why
    training stops, once decided) and ``monitor`` (TensorBoard / wandb, or None).
    """

    def __init__(self, agent, callbacks=(), options=None):
        self.agent, self.config = agent, agent.config
        self.options = options or agent.training_options or TrainingOptions()
        self.console = console_for(self.options)
        self.user_callbacks = checked_callbacks(callbacks)
        self.losses = agent.losses
        self.run_folder = self.monitor = None
        self.interruptions = _Interruptions(agent)  # entered while fit trains
        self.reason = self.message = None
        self.now = self.start = time.perf_counter()
        self.elapsed_before = 0.0

    def fit(self, target_reward: float | None = None, max_steps: int | None = None) -> str:
        """Train until a stop rule or callback says so; returns the reason."""
        if target_reward is None and max_steps is None:
            raise ValueError('give a target reward or a maximum number of steps')
        max_steps = checked_scalar('max_steps', max_steps, int, positive=True)
        target_reward = checked_scalar('target_reward', target_reward, float)
        agent = self.agent
        self.options.check_for(agent)
        agent.set_budget(max_steps)
        self.callbacks = self.default_callbacks(target_reward, max_steps)
        self.hooks = {name: [getattr(c, name) for c in self.callbacks if overrides(c, name)] for name in HOOKS}
        self.run_folder = open_for_training(agent, self.options, self.console)
        try:
            self.start_training()
        except BaseException:  # nothing is saved: the run stays as it was
            self.close('error')
            raise
        outcome = 'error'
        try:
            with self.interruptions:
                self.warm_up()
                while self.reason is None:
                    self.step()
                outcome = self.reason
        except KeyboardInterrupt as interrupt:
            outcome = self.reason = 'terminated' if isinstance(interrupt, Terminated) else 'interrupted'
        except TrainingDiverged:
            outcome = 'diverged'
            raise
        except EnvError as error:  # the envs are in an unknown state: the run stays as last saved
            outcome = 'unsaved'
            saved = checkpoints.saved_state(self.run_folder.latest) or {'steps': 0}
            raise EnvError(
                f'{error}; the run is kept as last saved (step {saved["steps"]:,}) in {self.run_folder.path}'
            ) from error
        finally:
            self.finish(outcome)
        text = self.message or MESSAGES.get(self.reason, 'Stopped by a callback: {reason}')
        self.console(text.format(steps=agent.steps, run=self.run_folder.path, reason=self.reason))
        return self.reason

    def step(self) -> None:
        """One iteration of the agent, then the episode and update hooks."""
        self.interruptions.raise_held()
        losses = self.agent.iterate()
        self.interruptions.raise_held()
        for name, value in losses.items():
            if not math.isfinite(value):
                raise TrainingDiverged(
                    f'{name} is {value} at step {self.agent.steps:,}{checkpoints.last_good(self.run_folder)}'
                )
        self.dispatch_episodes()
        self.losses = losses
        self.now = time.perf_counter()
        for hook in self.hooks['on_update']:
            hook(self)
            self.interruptions.raise_held()

    def dispatch_episodes(self) -> None:
        """``on_episode_end`` for each episode finished since the last call, with the losses known then.

        The history records every one of them first: a hook that raises (a user's callback) stops
        the run with its error, but the checkpoint saved then counts no episode the history lacks.
        """
        episodes = self.agent.take_finished()
        for episode in episodes:
            episode['time'] = self.elapsed_before + max(0.0, episode.pop('finished_at') - self.start)
        self.history_callback.append_episodes(self, episodes)
        for episode in episodes:
            for hook in self.hooks['on_episode_end']:
                hook(self, episode)

    def start_training(self) -> None:
        """State restored, monitor open, ``on_training_start``, envs reset and a first checkpoint."""
        for callback in self.callbacks:
            callback.load_state(self.run_folder.state)
        self.elapsed_before = self.run_folder.state.get('elapsed', 0.0)
        self.now = self.start = time.perf_counter()
        self.open_monitor()
        self.call('on_training_start')
        if self.agent.observations is None:
            self.agent.reset_envs()
        if not checkpoints.has_checkpoint(self.run_folder.latest):
            self.save_latest()  # a run killed at any moment from now on can be resumed

    def finish(self, outcome: str) -> None:
        """The last save (not after a divergence or an env error: the last checkpoint stays), then ``close``."""
        try:
            if outcome not in ('diverged', 'unsaved'):
                self.dispatch_episodes()  # those of an interrupted iteration belong in the history too
        except BaseException:  # a hook that raised: its episodes are in the history, so save them
            self.save_and_close('error')
            raise
        self.save_and_close(outcome)

    def save_and_close(self, outcome: str) -> None:
        """The clock stopped, the latest checkpoint saved (not after a divergence or an env error), then ``close``."""
        self.elapsed_before, self.start = self.elapsed(), None
        self.now = time.perf_counter()
        try:
            if outcome not in ('diverged', 'unsaved'):
                self.save_latest()  # first: the run can be resumed even if a later save fails
        except BaseException:
            self.close('unsaved')
            raise
        self.close(outcome)

    def close(self, outcome: str) -> None:
        """``on_training_end`` for every callback, then the evaluation envs, the monitor and the lock go."""
        try:
            self.call('on_training_end', outcome)
        finally:
            self.evaluation.close()
            if self.monitor is not None:
                self.monitor.close()
                self.monitor = None
            self.run_folder.lock.release()

    # --------------------------------------------------------- for callbacks
    @property
    def run(self):
        """Deprecated name of ``run_folder``."""
        warnings.warn('trainer.run is now trainer.run_folder', DeprecationWarning, stacklevel=2)
        return self.run_folder

    def stop(self, reason: str, message: str | None = None) -> None:
        """End training after the current hooks; ``message`` is printed (default: one for the reason)."""
        if self.reason is None:
            self.reason, self.message = reason, message

    def elapsed(self) -> float:
        """Seconds of training in this run, all sessions together."""
        if self.start is None:
            return self.elapsed_before
        return self.elapsed_before + time.perf_counter() - self.start

    def record(self, scalars: dict[str, float], step: int | None = None) -> None:
        """Scalars to TensorBoard / wandb at ``step`` (default: now), with --tensorboard or --monitor-session."""
        if self.monitor is not None:
            self.monitor.scalars(self.agent.steps if step is None else step, scalars)

    def evaluate(self) -> dict[str, float]:
        """A greedy evaluation now (saving the best models when it is a new best); ``on_evaluation`` follows."""
        summary = self.evaluation.evaluate(self)
        self.call('on_evaluation', summary)
        return summary

    def state(self) -> dict:
        """Everything saved with a checkpoint: the agent's state, the elapsed time and the callbacks'."""
        carried = {key: self.run_folder.state[key] for key in CARRIED if key in self.run_folder.state}
        state = {**carried, **self.agent.state(), 'elapsed': self.elapsed()}
        for callback in self.callbacks:
            state.update(callback.state())
        self.run_folder.state = state
        return state

    def save_latest(self) -> None:
        checkpoints.save_latest(self.agent, self.run_folder, self.state())

    def save_best(self) -> None:
        checkpoints.save_models(self.agent, self.run_folder, self.run_folder.best, self.state())

    def save_snapshot(self) -> None:
        checkpoints.save_models(self.agent, self.run_folder, self.run_folder.snapshot(self.agent.steps), self.state())

    # --------------------------------------------------------------- set-up
    def default_callbacks(self, target_reward, max_steps) -> list[builtin.Callback]:
        """The built-in callbacks the config asks for, in the order their hooks run, with the user's."""
        options = self.options
        self.evaluation, self.history_callback = Evaluation(), builtin.History()
        stops = [builtin.TargetReward(target_reward)] if target_reward is not None else []
        stops += [builtin.MaxSteps(max_steps)] if max_steps is not None else []
        stops.append(builtin.PlateauReduction())  # counts plateaus always; acts with divergence_monitoring_steps
        return [
            self.history_callback,
            self.evaluation,
            *([builtin.Snapshots()] if options.snapshot_interval is not None else []),
            builtin.BestModel(),
            *stops,
            *self.user_callbacks,
            builtin.Progress(),
            builtin.LatestCheckpoint(),
            *([builtin.Monitoring()] if options.tensorboard or options.monitor_session else []),
            *([TrainingVideos()] if options.records_videos else []),
        ]

    def open_monitor(self) -> None:
        options = self.options
        if options.tensorboard or options.monitor_session:
            from xagents.run.folder import run_config
            from xagents.train.monitoring import Monitor

            self.monitor = Monitor(
                self.run_folder.path,
                options.tensorboard,
                options.monitor_session,
                run_config(self.agent, self.run_folder, options.saved()),
                self.console,
            )

    def warm_up(self) -> None:
        """The agent's warm-up (an off-policy agent's random transitions), with progress lines."""
        progress, last = None, 0

        def report(label: str, unit: str, done: int, total: int) -> None:
            nonlocal progress, last
            progress = progress or OperationProgress(label, total, unit, self.console)
            progress.update(done)
            last = done
            self.interruptions.raise_held()

        self.agent.warm_up(report)
        self.interruptions.raise_held()
        if progress is not None:
            progress.finish(f'{last:,} {progress.unit}')
        self.dispatch_episodes()

    def call(self, hook: str, *args) -> None:
        for function in self.hooks[hook]:
            function(self, *args)


def checked_callbacks(callbacks) -> list[builtin.Callback]:
    """The user's callbacks as a list, each a :class:`xagents.train.Callback`; a TypeError naming any other."""
    callbacks = [callbacks] if isinstance(callbacks, builtin.Callback) else list(callbacks)
    for callback in callbacks:
        if not isinstance(callback, builtin.Callback):
            made = f' (the class: pass {callback.__name__}())' if isinstance(callback, type) else ''
            raise TypeError(f'callbacks= takes xagents.train.Callback objects, got {callback!r}{made}')
    return callbacks


def overrides(callback: builtin.Callback, hook: str) -> bool:
    """Whether ``callback`` has its own ``hook`` (only those are called)."""
    return getattr(type(callback), hook) is not getattr(builtin.Callback, hook)


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled as an interrupt: the run is saved, then the process exits 143."""


class _Interruptions:
    """While training (in the main thread), Ctrl-C stops the run with KeyboardInterrupt and SIGTERM with
    :class:`Terminated`, raised where training can stop cleanly (:meth:`raise_held`): between
    iterations, between update hooks and during a warm-up. A handler that raised at once could raise
    inside TensorFlow's C++ code, which runs Python's signal handlers while it converts values and
    crashed with SIGSEGV when one raised there (a variable's assign, seen about once in ten runs). A
    second signal raises at once, except while the agent counts finished episodes (the saved count
    and the history must agree)."""

    def __init__(self, agent):
        self.agent, self.held, self.previous = agent, None, {}

    def __enter__(self):
        self.held, self.previous = None, {}
        for signum in (signal.SIGINT, signal.SIGTERM):
            if signum == signal.SIGINT and signal.getsignal(signum) is not signal.default_int_handler:
                continue  # Ctrl-C ignored (a background job) or handled by the user's own handler: kept
            try:
                self.previous[signum] = signal.signal(signum, self.handle)
            except ValueError:  # not the main thread: leave signals alone
                break
        return self

    def handle(self, signum, frame):
        interrupt = Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()
        if self.held is None or self.agent.counting_episodes:
            self.held = self.held or interrupt
            return
        raise interrupt

    def raise_held(self) -> None:
        if self.held is not None:
            raise self.held

    def __exit__(self, *exc):
        for signum, previous in self.previous.items():
            signal.signal(signum, previous)
        return False
