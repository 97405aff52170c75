"""What `xagents train` pays for computing deterministically (``enable_op_determinism`` on every run).

Each task trains twice per round, once with TensorFlow's op determinism and once without, in
fresh processes that alternate on one machine; steps per second are counted after a warm-up fit
(so compiles are left out). The ratio of the two is the cost; the absolute speeds are this
machine's.

    python benchmarks/determinism.py [--rounds 2] [--output benchmarks/results/determinism]
"""

from __future__ import annotations

import argparse
import json
import os

from alternating import alternate, shown, steps_per_second, write_results

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
# task -> (agent, env, hyperparameters, warm-up steps, timed steps)
TASKS = {
    'ppo-cartpole': ('ppo', 'CartPole-v1', {'n_envs': 8, 'n_steps': 128}, 2048, 20480),
    'dqn-cartpole': ('dqn', 'CartPole-v1', {'n_envs': 1, 'buffer_initial_size': 500}, 1000, 3000),
    'sac-pendulum': ('sac', 'Pendulum-v1', {'n_envs': 1, 'buffer_initial_size': 500}, 1000, 2000),
    'ppo-pong': (
        'ppo',
        'PongNoFrameskip-v4',
        {'n_envs': 8, 'n_steps': 128, 'mini_batches': 4, 'preprocess': True},
        2048,
        6144,
    ),
}


def speed(task: str, deterministic: bool) -> float:
    """Steps per second of ``task`` after its warm-up, in this process."""
    import tensorflow as tf

    import xagents

    if deterministic:
        tf.config.experimental.enable_op_determinism()
    name, env, hyperparameters, warm_up, timed = TASKS[task]
    agent = xagents.agents[name].from_env(env, seed=0, quiet=True, output_dir=None, **hyperparameters)
    return steps_per_second(agent, warm_up, timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--tasks', nargs='+', default=list(TASKS), choices=list(TASKS))
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--output', default='benchmarks/results/determinism')
    parser.add_argument('--note', default='', help='what else the machine was doing, written above the table')
    parser.add_argument('--one', nargs=2, help=argparse.SUPPRESS)  # task, 0/1: run one measurement here
    args = parser.parse_args()
    if args.one:
        print(json.dumps(speed(args.one[0], args.one[1] == '1')))
        return
    results = {}
    for task in args.tasks:
        runs = alternate(__file__, task, {'deterministic': '1', 'default': '0'}, args.rounds)
        ratio = sum(runs['deterministic']) / sum(runs['default'])
        results[task] = {**runs, 'ratio': ratio}
        print(f'{task}: deterministic {runs["deterministic"]} default {runs["default"]} steps/s: {ratio:.3f}x')
    table = ['| task | deterministic steps/s | default steps/s | ratio |', '|---|---|---|---|']
    for task, result in results.items():
        deterministic, default = shown(result['deterministic']), shown(result['default'])
        table.append(f'| {task} | {deterministic} | {default} | {result["ratio"]:.3f} |')
    write_results(args.output, results, args.rounds, args.note, table)


if __name__ == '__main__':
    main()
