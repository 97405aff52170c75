"""One trial, in a process of its own: train, report evaluations to the pruner, write the result."""

from __future__ import annotations

import json
import math
import os
import sys
import threading
import time
from pathlib import Path

from xagents.train import SIGNAL_EXIT_CODES
from xagents.train.callbacks import Callback
from xagents.tune.options import PRUNED_EXIT
from xagents.tune.study import make_pruner, make_storage


class Pruning(Callback):
    """Reports each evaluation to the optuna trial, at its scheduled step; stops a trial the pruner gives up on.

    A trial whose last evaluation came before its last step gets a final one: the objective.
    """

    def __init__(self, trial, eval_interval: int, trial_steps: int):
        self.trial, self.eval_interval, self.trial_steps = trial, eval_interval, trial_steps
        self.last: dict = {}

    def on_evaluation(self, trainer, summary):
        # Reported at the evaluation's scheduled step, not at agent.steps (a multiple of the
        # rollout size): the pruner compares trials only at equal steps.
        steps = trainer.agent.steps
        step = scheduled_step(steps, self.eval_interval, self.trial_steps)
        value = summary['mean_reward']
        self.last.update(step=step, steps=steps, value=value)
        if not math.isfinite(value):
            trainer.stop('pruned')
            return
        self.trial.report(value, step)
        if step < self.trial_steps and self.trial.should_prune():  # the final evaluation is the result
            trainer.stop('pruned')

    def on_training_end(self, trainer, reason):
        if reason in ('max_steps', 'early_stop') and self.last.get('steps') != trainer.agent.steps:
            trainer.evaluate()


def run_trial_process(spec_path: str) -> int:
    """Train one trial as its spec says, report evaluations, write the result; exit code 3 when pruned."""
    spec = json.loads(Path(spec_path).read_text())
    watch_parent()
    import optuna

    from xagents._quiet import import_tensorflow

    import_tensorflow()
    from xagents.core.errors import TrainingDiverged
    from xagents.registry import agents

    storage = make_storage(spec['storage'])
    study = optuna.load_study(
        study_name=spec['study'], storage=storage, pruner=make_pruner(spec['pruner'], spec['warmup_trials'])
    )
    pruning = Pruning(optuna.trial.Trial(study, spec['trial_id']), spec['eval_interval'], spec['trial_steps'])
    result = Path(spec['result'])
    agent = agents[spec['agent']].from_env(
        spec['env'],
        **spec['env_kwargs'],
        model_files=spec['model_files'],
        output_dir=spec['output_dir'],
        quiet=not spec['non_silent'],
        eval_interval=spec['eval_interval'],
        eval_episodes=spec['eval_episodes'],
        **spec['hyperparameters'],
    )
    try:
        reason = agent.fit(max_steps=spec['trial_steps'], callbacks=[pruning])
    except TrainingDiverged:  # a normal outcome of a bad setting: pruned, not a failure
        result.write_text(json.dumps({'state': 'pruned', 'diverged': True, **pruning.last, 'step': agent.steps}))
        return PRUNED_EXIT
    if reason in SIGNAL_EXIT_CODES:
        return SIGNAL_EXIT_CODES[reason]
    if reason == 'pruned':
        result.write_text(json.dumps({'state': 'pruned', **pruning.last}))
        return PRUNED_EXIT
    result.write_text(json.dumps({'state': 'complete', **pruning.last}))
    return 0


def scheduled_step(steps: int, interval: int, trial_steps: int) -> int:
    """The step an evaluation at ``steps`` was scheduled for: the last multiple of ``interval`` reached."""
    return min(trial_steps, interval * (steps // interval))


def watch_parent() -> None:
    """End this trial process when its worker dies (a trial nobody records must not train on)."""
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


if __name__ == '__main__':
    raise SystemExit(run_trial_process(sys.argv[1]))
