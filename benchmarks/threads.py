"""TensorFlow's thread settings per workload: intra-op and inter-op threads, measured side by side.

Each measurement is a fresh process that sets ``tf.config.threading`` and runs an op (so the agent's
``--threads auto`` keeps them), then times one workload; the settings alternate round by round, so a
machine that speeds up or slows down over the run weighs on all of them alike. Workloads:

- ``dqn-32`` / ``dqn-256``: DQN on CartPole-v1, 256x256, one gradient step per env step at batch 32 / 256
  (``benchmarks/one_step.py``'s path: acting, env step, buffer, sampling, the compiled update);
- ``sac-256`` / ``td3-256``: SAC (256x256) / TD3 (400x300) on Pendulum-v1, batch 256, one gradient step
  per env step (SB3's defaults);
- ``dqn-pong``: DQN's PongNoFrameskip-v4 preset (NatureCNN, 4 envs, batch 32) with a 10k buffer filled to
  1,000 first: vector steps each with its gradient step (acting and updating a CNN);
- whole iterations (rollout, then update) of an on-policy preset: ``ppo-cartpole`` (8 envs x 32 steps, 20
  epochs of one minibatch), ``ppo-pendulum`` (64x64, 8 envs x 256 steps, 10 epochs of 32 minibatches),
  ``a2c-cartpole`` (8 envs x 5 steps, one update) and ``ppo-pong`` (NatureCNN, 8 envs x 128 steps, 4 epochs
  of 4 minibatches; acting in TensorFlow).

The table's last column says what ``--threads auto`` chooses for each (``xagents/core/threads.py``).

    python benchmarks/threads.py [--rounds 2] [--workloads ...] [--output benchmarks/results/threads]
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
PONG = 'PongNoFrameskip-v4'
# Whole iterations of an on-policy agent's preset: workload -> (agent, env, timed env steps per --steps step).
ITERATIONS = {
    'ppo-cartpole': ('ppo', 'CartPole-v1', 20),
    'ppo-pendulum': ('ppo', 'Pendulum-v1', 80),
    'a2c-cartpole': ('a2c', 'CartPole-v1', 40),
    'trpo-cartpole': ('trpo', 'CartPole-v1', 20),
    'acer-cartpole': ('acer', 'CartPole-v1', 20),
    'ppo-pong': ('ppo', PONG, 3),
}
# One gradient step per env step (benchmarks/one_step.py): workload -> (agent, batch).
ONE_STEP = {'dqn-32': ('dqn', 32), 'dqn-256': ('dqn', 256), 'sac-256': ('sac', 256), 'td3-256': ('td3', 256)}
WORKLOADS = [*ONE_STEP, 'dqn-pong', *ITERATIONS]
# Vector steps before DQN Pong's timed ones: the first calls trace and compile.
COMPILE_STEPS = 20


def measure(workload: str, intra: int, inter: int, steps: int) -> float:
    """Environment steps per second of ``workload`` with these thread counts (in this process)."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(intra)
    tf.config.threading.set_inter_op_parallelism_threads(inter)
    tf.constant(0) + 0  # TensorFlow's first op fixes them: the agents' --threads auto keeps them
    if workload in ITERATIONS:
        agent_name, env, scale = ITERATIONS[workload]
        return iterations_rate(agent_name, env, scale * steps)
    if workload == 'dqn-pong':
        return dqn_pong_rate(steps)
    sys.path.insert(0, str(Path(__file__).parent))
    from one_step import run_xagents

    agent_name, batch = ONE_STEP[workload]
    return run_xagents(agent_name, batch, 1, steps)['steps_per_second']


def iterations_rate(agent_name: str, env: str, timed_steps: int) -> float:
    """Env steps per second of whole iterations of the agent's preset for ``env`` (about ``timed_steps``)."""
    import importlib

    import xagents
    from xagents.core.config import preset_values

    preset = importlib.import_module(f'xagents.{agent_name}.config').PRESETS[env]
    agent = xagents.agents[agent_name].from_env(env, seed=0, quiet=True, **preset_values(preset))
    agent.reset_envs()
    agent.set_budget(10**6)  # what the presets' schedules run over
    agent.iterate()  # traces and compiles
    per_iteration = agent.n_envs * agent.config.n_steps
    iterations = max(1, timed_steps // per_iteration)
    start = time.perf_counter()
    for _ in range(iterations):
        agent.iterate()
    return iterations * per_iteration / (time.perf_counter() - start)


def dqn_pong_rate(steps: int) -> float:
    """Env steps per second of DQN's Pong preset (a 10k buffer, 1,000 transitions first) over ``steps``."""
    import xagents
    from xagents.core.config import preset_values
    from xagents.dqn.config import PRESETS

    values = dict(preset_values(PRESETS[PONG]), buffer_max_size=10_000, buffer_initial_size=1_000)
    agent = xagents.DQN.from_env(PONG, seed=0, quiet=True, **values)
    agent.reset_envs()
    agent.set_budget(10**6)
    agent.warm_up(lambda *_: None)
    for _ in range(COMPILE_STEPS):
        agent.iterate()
    vector_steps = max(1, steps // agent.n_envs)
    start = time.perf_counter()
    for _ in range(vector_steps):
        agent.iterate()
    return vector_steps * agent.n_envs / (time.perf_counter() - start)


def auto_setting(workload: str) -> tuple[int, int]:
    """What ``--threads auto`` chooses for ``workload``."""
    from xagents.core.threads import thread_setting
    from xagents.registry import agents

    agent_name = ITERATIONS[workload][0] if workload in ITERATIONS else workload.split('-')[0]
    return thread_setting(agents[agent_name].on_policy, convolutional=workload.endswith('-pong'))


def one(workload: str, intra: int, inter: int, steps: int) -> float:
    command = [sys.executable, __file__, '--one', workload, str(intra), str(inter), '--steps', str(steps)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return float(output.strip().splitlines()[-1])


def name(setting: tuple[int, int]) -> str:
    return 'default' if setting == (0, 0) else f'intra {setting[0]}, inter {setting[1]}'


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument(
        '--steps',
        type=int,
        default=1500,
        help='timed env steps of a one-step workload and of dqn-pong (whole iterations: a multiple, see ITERATIONS)',
    )
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
    header = ['workload', *(name(setting) for setting in SETTINGS), 'auto chooses']
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for workload, speeds in results.items():
        default = sum(speeds['default']) / len(speeds['default'])
        cells = []
        for setting in SETTINGS:
            values = speeds[name(setting)]
            mean = sum(values) / len(values)
            spread = f'{min(values):.0f}-{max(values):.0f}'
            cells.append(f'{mean:.0f} ({spread}; {mean / default:.2f}x)')
        lines.append(f'| {workload} | ' + ' | '.join(cells) + f' | {name(auto_setting(workload))} |')
    text = f'Machine: {meta["machine"]}; steps/s, mean (range) of {args.rounds} rounds; x: against the default.\n\n'
    output.with_suffix('.md').write_text(text + '\n'.join(lines) + '\n')
    print(text + '\n'.join(lines))


if __name__ == '__main__':
    main()
