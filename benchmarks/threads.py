"""TensorFlow's thread settings per workload: intra-op and inter-op threads, measured side by side.

Each measurement is a fresh process that sets ``tf.config.threading`` before TensorFlow runs an op,
then times one workload; the settings alternate round by round, so a machine that speeds up or
slows down over the run weighs on all of them alike. Workloads:

- ``dqn-32`` / ``dqn-256``: DQN on CartPole-v1, 256x256, one gradient step per env step at batch 32 / 256
  (``benchmarks/one_step.py``'s path: acting, env step, buffer, sampling, the compiled update);
- ``sac-256``: SAC on Pendulum-v1, 256x256, batch 256, one gradient step per env step (SB3's defaults);
- ``ppo-cartpole``: PPO's CartPole-v1 preset (8 envs x 32 steps, 20 epochs of one minibatch), whole iterations.

    python benchmarks/threads.py [--rounds 2] [--output benchmarks/results/threads]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
# (intra-op, inter-op); 0 is TensorFlow's default (one per core for each).
SETTINGS = [(0, 0), (1, 1), (1, 2), (2, 1), (2, 2)]
WORKLOADS = ['dqn-32', 'dqn-256', 'sac-256', 'ppo-cartpole']


def measure(workload: str, intra: int, inter: int, steps: int) -> float:
    """Environment steps per second of ``workload`` with these thread counts (in this process)."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(intra)
    tf.config.threading.set_inter_op_parallelism_threads(inter)
    if workload == 'ppo-cartpole':
        import xagents
        from xagents.core.config import preset_values
        from xagents.ppo.config import PRESETS

        agent = xagents.PPO.from_env('CartPole-v1', seed=0, quiet=True, **preset_values(PRESETS['CartPole-v1']))
        agent.reset_envs()
        agent.set_budget(10**6)
        agent.iterate()  # traces and compiles
        iterations = max(1, 20 * steps // (agent.n_envs * agent.config.n_steps))  # a whole update is fast
        start = time.perf_counter()
        for _ in range(iterations):
            agent.iterate()
        return iterations * agent.n_envs * agent.config.n_steps / (time.perf_counter() - start)
    sys.path.insert(0, str(Path(__file__).parent))
    from one_step import run_xagents

    agent, batch = workload.split('-')
    return run_xagents(agent, int(batch), 1, steps)['steps_per_second']


def one(workload: str, intra: int, inter: int, steps: int) -> float:
    command = [sys.executable, __file__, '--one', workload, str(intra), str(inter), '--steps', str(steps)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return float(output.strip().splitlines()[-1])


def name(setting: tuple[int, int]) -> str:
    return 'default' if setting == (0, 0) else f'intra {setting[0]}, inter {setting[1]}'


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--steps', type=int, default=1500, help='timed env steps per measurement')
    parser.add_argument('--workloads', nargs='+', default=WORKLOADS, choices=WORKLOADS)
    parser.add_argument('--output', default='benchmarks/results/threads')
    parser.add_argument('--one', nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        workload, intra, inter = args.one
        print(measure(workload, int(intra), int(inter), args.steps))
        return
    results = {workload: {name(setting): [] for setting in SETTINGS} for workload in args.workloads}
    for round_ in range(args.rounds):
        for workload in args.workloads:
            order = SETTINGS if round_ % 2 == 0 else SETTINGS[::-1]
            for setting in order:
                speed = one(workload, *setting, args.steps)
                results[workload][name(setting)].append(speed)
                print(f'round {round_ + 1} {workload} {name(setting)}: {speed:.0f} steps/s', flush=True)
    meta = {
        'machine': f'{platform.processor() or platform.machine()}, {os.cpu_count()} cores',
        'rounds': args.rounds,
        'steps': args.steps,
    }
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.with_suffix('.json').write_text(json.dumps({'meta': meta, 'results': results}, indent=2))
    header = ['workload', *(name(setting) for setting in SETTINGS)]
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for workload, speeds in results.items():
        default = sum(speeds['default']) / len(speeds['default'])
        cells = []
        for setting in SETTINGS:
            values = speeds[name(setting)]
            mean = sum(values) / len(values)
            spread = f'{min(values):.0f}-{max(values):.0f}'
            cells.append(f'{mean:.0f} ({spread}; {mean / default:.2f}x)')
        lines.append(f'| {workload} | ' + ' | '.join(cells) + ' |')
    text = f'Machine: {meta["machine"]}; steps/s, mean (range) of {args.rounds} rounds; x: against the default.\n\n'
    output.with_suffix('.md').write_text(text + '\n'.join(lines) + '\n')
    print(text + '\n'.join(lines))


if __name__ == '__main__':
    main()
