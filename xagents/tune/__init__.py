"""``xagents tune``: optuna hyperparameter search, one trial per process, on one machine or many.

The search space comes from the flags given to ``xagents tune`` (:mod:`.space`): one value
fixes a hyperparameter, two values give a range for a flag whose tuning type is
``uniform``, ``log_uniform`` or ``int``, and the values of a ``categorical`` flag are its
choices. The discount factor is searched as ``1 - gamma`` on a log scale.

Each trial trains in its own process (``python -m xagents.tune.trial SPEC``, :mod:`.trial`):
TensorFlow does not give memory back between trials, and a crash or kill of one trial is
recorded as a failed trial while the study goes on. The worker (:mod:`.worker`) records
heartbeats for its trials, so a killed worker's trials are failed by the next worker that
looks at the study (:mod:`.study`).
"""
