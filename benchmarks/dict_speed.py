"""The Dict observation path against the Box path on the same data.

CartPole-v1's observation as it is (a Box) and as a Dict of one key (``{'state': observation}``):
the same env, the same numbers, the same agent settings. Each agent trains on each form in fresh
processes that alternate on one machine; steps per second are counted after a warm-up fit (so
compiles are left out). Both paths act in NumPy (``--host-inference``, the default).

The Dict form is a function making a wrapped CartPole, so xagents steps its copies in gymnasium's
``SyncVectorEnv``, where ``CartPole-v1`` by its id gets gymnasium's native vector CartPole (every
copy in one array, far cheaper per step). ``box-sync`` is the Box observation made by a function
the same way: Dict against ``box-sync`` is the Dict path's own cost, against ``box`` its cost plus
that of the env.

    python benchmarks/dict_speed.py [--rounds 3] [--output benchmarks/results/dict-speed]
"""

from __future__ import annotations

import argparse
import json
import os

import gymnasium as gym
from alternating import alternate, shown, steps_per_second, write_results

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
# agent -> (hyperparameters, warm-up steps, timed steps)
AGENTS = {
    'ppo': ({'n_envs': 8, 'n_steps': 128}, 2048, 30720),
    'dqn': ({'n_envs': 1, 'buffer_initial_size': 500}, 1000, 4000),
}
FORMS = ('box', 'box-sync', 'dict')


class OneKey(gym.ObservationWrapper):
    """CartPole's observation as a Dict of one key."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.observation_space = gym.spaces.Dict({'state': env.observation_space})

    def observation(self, observation):
        return {'state': observation}


def one_key_cartpole(render_mode=None) -> gym.Env:
    return OneKey(gym.make('CartPole-v1', render_mode=render_mode))


def made_cartpole(render_mode=None) -> gym.Env:
    """CartPole-v1 as a function makes it (a Box, in the Dict form's vector env)."""
    return gym.make('CartPole-v1', render_mode=render_mode)


def speed(agent_name: str, form: str) -> float:
    """Steps per second of ``agent_name`` on ``form`` after its warm-up, in this process."""
    import xagents

    hyperparameters, warm_up, timed = AGENTS[agent_name]
    env = {'box': 'CartPole-v1', 'box-sync': made_cartpole, 'dict': one_key_cartpole}[form]
    agent = xagents.agents[agent_name].from_env(env, seed=0, quiet=True, **hyperparameters)
    return steps_per_second(agent, warm_up, timed)


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
        runs = alternate(__file__, agent, {form: form for form in FORMS}, args.rounds)
        ratios = {f'dict/{form}': sum(runs['dict']) / sum(runs[form]) for form in ('box', 'box-sync')}
        results[agent] = {**runs, **ratios}
        print(agent, json.dumps(results[agent]))
    table = ['| agent | Box steps/s | Box, sync vector env | Dict steps/s | Dict / Box | Dict / Box (sync) |']
    table += ['|---|---|---|---|---|---|']
    for agent, result in results.items():
        table.append(
            f'| {agent} | {shown(result["box"])} | {shown(result["box-sync"])} | {shown(result["dict"])} '
            f'| {result["dict/box"]:.3f} | {result["dict/box-sync"]:.3f} |'
        )
    write_results(args.output, results, args.rounds, args.note, table)


if __name__ == '__main__':
    main()
