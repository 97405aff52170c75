"""A worker: runs trials of a study, each in its own process, until the study has enough."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

from xagents.core.errors import error_line
from xagents.tune.options import FAILURES_TO_STOP, GRACE_PERIOD, HEARTBEAT_INTERVAL, PRUNED_EXIT, TuneOptions
from xagents.tune.space import suggest
from xagents.tune.study import best_trial, fail_dead_trials, trial_id


class Worker:
    """Runs trials of one study, ``n_jobs`` at a time, each in a subprocess, until it has ``n_trials``.

    It stops early, with ``error`` set, when its last trials all failed (a setting that cannot
    train) or when the storage fails it.
    """

    def __init__(self, study, storage, space, spec: dict, options: TuneOptions, output_dir: Path):
        self.study, self.storage, self.space, self.spec = study, storage, space, spec
        self.options, self.output_dir = options, output_dir
        self.lock = threading.Lock()
        self.stopping = False
        self.processes: dict[int, subprocess.Popen] = {}
        self.failures_in_row = 0
        self.error: str | None = None

    def counted(self) -> int:
        import optuna

        states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.RUNNING)
        return len(self.study.get_trials(deepcopy=False, states=states))

    def work(self) -> None:
        """Run trials in ``n_jobs`` threads until the study has ``n_trials`` or this worker stops; on
        KeyboardInterrupt its running trials are ended (and failed) before it is raised again."""
        import optuna

        # Heartbeats with ask/tell (not Study.optimize) are what a worker of separate processes needs.
        warnings.filterwarnings('ignore', category=optuna.exceptions.ExperimentalWarning)
        warnings.filterwarnings('ignore', message='Heartbeat of storage is supposed to be used')
        # Events, not Thread.join: a KeyboardInterrupt inside join can leave a live thread
        # marked as stopped (CPython 3.11), and its trial would never be recorded.
        done = [threading.Event() for _ in range(self.options.n_jobs)]
        for event in done:
            threading.Thread(target=self.slot, args=(event,), daemon=True).start()
        try:
            while not all(event.is_set() for event in done):
                time.sleep(0.2)
        except KeyboardInterrupt:
            self.stopping = True
            for process in list(self.processes.values()):
                process.terminate()
            for event in done:
                event.wait()
            raise

    def stop(self, error: str) -> None:
        with self.lock:
            if not self.stopping:
                self.stopping, self.error = True, error
                print(f'Stopping: {error}', flush=True)

    def slot(self, done: threading.Event) -> None:
        try:
            while not self.stopping:
                with self.lock:
                    if self.stopping:
                        return
                    fail_dead_trials(self.study, self.storage)
                    if self.counted() >= self.options.n_trials:
                        return
                    trial = self.study.ask()
                    identifier = trial_id(self.storage, self.study, trial.number)
                    self.storage.record_heartbeat(identifier)  # at once: a trial with none is never failed
                    hyperparameters = suggest(trial, self.space)
                    trial.set_user_attr('hyperparameters', hyperparameters)
                    trial.set_user_attr('model_files', self.spec['model_files'])
                self.run_trial(trial, identifier, hyperparameters)
        except Exception as error:  # the storage failed: say so and let the other slots stop too
            self.stop(f'{type(error).__name__}: {error_line(error)}')
        finally:
            done.set()

    def run_trial(self, trial, identifier: int, hyperparameters: dict) -> None:
        folder = self.output_dir / f'trial-{trial.number}'
        folder.mkdir(parents=True, exist_ok=True)
        spec = {
            **self.spec,
            'hyperparameters': hyperparameters,
            'trial_id': identifier,
            'output_dir': str(folder),
            'result': str(folder / 'result.json'),
        }
        (folder / 'spec.json').write_text(json.dumps(spec, indent=2))
        start = time.perf_counter()
        log = None if self.options.non_silent else open(folder / 'log.txt', 'w')
        process = subprocess.Popen(
            [sys.executable, '-m', 'xagents.tune.trial', str(folder / 'spec.json')],
            stdout=log,
            stderr=subprocess.STDOUT if log else None,
        )
        self.processes[trial.number] = process
        try:
            while process.poll() is None:
                self.storage.record_heartbeat(identifier)
                try:
                    process.wait(timeout=HEARTBEAT_INTERVAL / 2)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            if process.poll() is None:  # this thread failed: the trial must not train on unwatched
                process.kill()
                process.wait()
            self.processes.pop(trial.number, None)
            if log:
                log.close()
        result_file = folder / 'result.json'
        result = json.loads(result_file.read_text()) if result_file.is_file() else {}
        line = self.record(trial, process.returncode, result, folder / 'log.txt' if log else None)
        shown = ', '.join(
            f'{name}={short(value)}' for name, value in hyperparameters.items() if self.space[name].kind != 'fixed'
        )
        best = best_trial(self.study)
        best_text = f'; best: trial {best.number} = {best.value:.2f}' if best else ''
        shown = f' ({shown})' if shown else ''
        print(f'{line} in {time.perf_counter() - start:.0f} s{shown}{best_text}', flush=True)

    def record(self, trial, returncode: int, result: dict, log: Path | None) -> str:
        """Tell the study how the trial ended; the line to print about it."""
        import optuna

        value = result.get('value')
        if self.storage.get_trial(trial_id(self.storage, self.study, trial.number)).state.is_finished():
            # This worker sent no heartbeat for the grace period (suspended, or a slow database).
            return f'trial {trial.number} ended, but another worker had failed it (no heartbeat for {GRACE_PERIOD} s)'
        if returncode == 0 and value is not None and math.isfinite(value):
            state, line = optuna.trial.TrialState.COMPLETE, f'trial {trial.number} finished: {value:.2f}'
        elif returncode in (0, PRUNED_EXIT):
            state = optuna.trial.TrialState.PRUNED
            step = result.get('step')
            reason = 'not a finite objective' if returncode == 0 or step is None else f'pruned at step {step:,}'
            if result.get('diverged'):
                reason = f'diverged at step {step:,}: a NaN or infinite loss'
            line = f'trial {trial.number} pruned ({reason})'
        else:
            state = optuna.trial.TrialState.FAIL
            error = _last_line(log) if log else ''
            detail = (f': {error}' if error else '') + (f'; log: {log}' if log else '')
            line = f'trial {trial.number} failed (exit code {returncode}{detail})'
        self.study.tell(
            trial, value if state == optuna.trial.TrialState.COMPLETE else None, state=state, skip_if_finished=True
        )
        if state == optuna.trial.TrialState.FAIL:
            self.failures_in_row += 1
            if self.failures_in_row >= min(FAILURES_TO_STOP, self.options.n_trials):
                self.stop(f'the last {self.failures_in_row} trials of this worker failed; the last error: {error}')
        else:
            self.failures_in_row = 0
        return line


def _last_line(path: Path) -> str:
    """The last line of a trial's log: the error that ended it."""
    try:
        lines = [line.strip() for line in path.read_text(errors='replace').splitlines() if line.strip()]
    except OSError:
        return ''
    return lines[-1][:300] if lines else ''


def short(value) -> str:
    return f'{value:.4g}' if isinstance(value, float) else str(value)
