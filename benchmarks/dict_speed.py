"""The Dict observation path against the Box path on the same data.

CartPole-v1's observation as it is (a Box) and as a Dict of one key (``{'state': observation}``):
the same env, the same numbers, the same agent settings. Each agent trains on each form in fresh
processes that alternate on one machine; steps per second are counted after a warm-up fit (so
compiles are left out). The Box path acts in NumPy (``--host-inference``, the default); the Dict
path acts in TensorFlow, so ``--no-host-inference`` on the Box path is measured too.

    python benchmarks/dict_speed.py [--rounds 3] [--output benchmarks/results/dict-speed]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import gymnasium as gym

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
# agent -> (hyperparameters, warm-up steps, timed steps)
AGENTS = {
    'ppo': ({'n_envs': 8, 'n_steps': 128}, 2048, 30720),
    'dqn': ({'n_envs': 1, 'buffer_initial_size': 500}, 1000, 4000),
}
FORMS = ('box', 'box-tf', 'dict')


class OneKey(gym.ObservationWrapper):
    """CartPole's observation as a Dict of one key."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.observation_space = gym.spaces.Dict({'state': env.observation_space})

    def observation(self, observation):
        return {'state': observation}


def one_key_cartpole(render_mode=None) -> gym.Env:
    return OneKey(gym.make('CartPole-v1', render_mode=render_mode))


def speed(agent_name: str, form: str) -> float:
    """Steps per second of ``agent_name`` on ``form`` after its warm-up, in this process."""
    import time

    import xagents

    hyperparameters, warm_up, timed = AGENTS[agent_name]
    env = one_key_cartpole if form == 'dict' else 'CartPole-v1'
    options = {'host_inference': False} if form == 'box-tf' else {}
    agent = xagents.agents[agent_name].from_env(env, seed=0, quiet=True, **hyperparameters, **options)
    agent.fit(max_steps=warm_up)
    start, steps = time.perf_counter(), agent.steps
    agent.fit(max_steps=warm_up + timed)
    return (agent.steps - steps) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--agents', nargs='+', default=list(AGENTS), choices=list(AGENTS))
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--output', default='benchmarks/results/dict-speed')
    parser.add_argument('--note', default='', help='what else the machine was doing, written above the table')
    parser.add_argument('--one', nargs=2, help=argparse.SUPPRESS)  # agent, form: one measurement here
    args = parser.parse_args()
    if args.one:
        print(json.dumps(speed(*args.one)))
        return
    results = {}
    for agent in args.agents:
        runs = {form: [] for form in FORMS}
        for _ in range(args.rounds):
            for form in FORMS:
                command = [sys.executable, __file__, '--one', agent, form]
                output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
                runs[form].append(json.loads(output.strip().splitlines()[-1]))
        ratios = {form: sum(runs['dict']) / sum(runs[form]) for form in ('box', 'box-tf')}
        results[agent] = {**runs, 'dict/box': ratios['box'], 'dict/box-tf': ratios['box-tf']}
        print(agent, json.dumps(results[agent]))
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    machine = platform.processor() or platform.machine()
    Path(f'{args.output}.json').write_text(json.dumps({'machine': machine, 'results': results}, indent=1))
    lines = [f'{os.cpu_count()} cores ({machine}), {args.rounds} alternating rounds. {args.note}'.strip(), '']
    lines += ['| agent | Box steps/s | Box, TF acting | Dict steps/s | Dict / Box | Dict / Box (TF) |']
    lines += ['|---|---|---|---|---|---|']
    shown = lambda values: ', '.join(f'{value:,.0f}' for value in values)  # noqa: E731
    for agent, result in results.items():
        lines.append(
            f'| {agent} | {shown(result["box"])} | {shown(result["box-tf"])} | {shown(result["dict"])} '
            f'| {result["dict/box"]:.3f} | {result["dict/box-tf"]:.3f} |'
        )
    Path(f'{args.output}.md').write_text('\n'.join(lines) + '\n')


if __name__ == '__main__':
    main()
