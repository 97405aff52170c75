"""The default off-policy path, one gradient step per env step: xagents beside Stable-Baselines3 (and SBX).

For DQN (CartPole-v1), DDPG, TD3 and SAC (Pendulum-v1) with the same networks (DQN and SAC
256x256, DDPG/TD3 400x300), the same batch (32 and 256), 1 and 4 envs, a 100k buffer, 1,000 warm-up
transitions, ``train_freq=1`` and ``gradient_steps=1``: training steps per second, and
where a step's time goes (acting, env step + buffer add, sampling, the update call, the
rest). The libraries alternate, config by config, in one process each, on one machine.
``--libraries xagents sb3 sbx`` adds SBX (SB3 on JAX, the ``bench`` extra) with the same settings and
networks, on JAX's CPU backend with JAX's default threads (``import_sbx``).

``--rounds R`` measures each config R times, the libraries in turn (their order reversed every other
round): the table gives each library's median, the ratio of the medians and the range of the ratios
of the rounds, and each library's breakdown from its median run.

    python benchmarks/one_step.py [--steps 1000] [--rounds 3] [--libraries xagents sb3 sbx]
        [--output benchmarks/results/one-step]
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
ENVS = {'dqn': 'CartPole-v1', 'ddpg': 'Pendulum-v1', 'td3': 'Pendulum-v1', 'sac': 'Pendulum-v1'}
NETS = {'dqn': [256, 256], 'ddpg': [400, 300], 'td3': [400, 300], 'sac': [256, 256]}
WARM_UP, COMPILE_STEPS = 1000, 200


class Clock:
    """Wraps callables and adds up the seconds spent in each, by name."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    def wrap(self, name: str, function):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

        return timed


def run_xagents(agent_name: str, batch: int, n_envs: int, steps: int) -> dict:
    import xagents

    settings = dict(buffer_batch_size=batch, buffer_initial_size=WARM_UP, buffer_max_size=100_000, seed=0)
    settings.update(train_frequency=1, gradient_steps=1, quiet=True)
    agent = xagents.agents[agent_name].from_env(ENVS[agent_name], n_envs=n_envs, **settings)
    agent.reset_envs()
    agent.warm_up(lambda *_: None)
    for _ in range(COMPILE_STEPS):
        agent.iterate()
    clock = Clock()
    agent.explore = clock.wrap('act', agent.explore)
    agent.collect = clock.wrap('env step + buffer add', agent.collect)
    agent.buffer.sample = clock.wrap('sample', agent.buffer.sample)
    # DQN's train_steps samples and calls its compiled update; TD3's, DDPG's and SAC's _train is the call alone.
    sampled_inside = hasattr(agent, 'train_steps')
    if sampled_inside:
        agent.train_steps = clock.wrap('update call', agent.train_steps)
    else:
        agent._train = clock.wrap('update call', agent._train)
    start = time.perf_counter()
    for _ in range(steps):
        agent.iterate()
    total = time.perf_counter() - start
    return summary('xagents', total, steps, n_envs, clock, sampled_inside)


def run_sb3(agent_name: str, batch: int, n_envs: int, steps: int, library: str = 'sb3') -> dict:
    """SB3's agent (``library='sbx'``: SBX's, which has SB3's API and learning loop)."""
    from stable_baselines3.common.env_util import make_vec_env

    if library == 'sbx':
        algorithms = import_sbx()
    else:
        import stable_baselines3 as algorithms
        import torch

        torch.set_num_threads(os.cpu_count() or 1)
    envs = make_vec_env(ENVS[agent_name], n_envs=n_envs, seed=0)
    model = peer_model(getattr(algorithms, agent_name.upper()), envs, agent_name, batch)
    model.learn((WARM_UP + COMPILE_STEPS) * n_envs)
    clock = Clock()
    model.replay_buffer.sample = clock.wrap('sample', model.replay_buffer.sample)
    model.train = clock.wrap('update call', model.train)
    start = time.perf_counter()
    model.learn(steps * n_envs, reset_num_timesteps=False)
    total = time.perf_counter() - start
    return summary(library, total, steps, n_envs, clock, sampled_inside=True)


def import_sbx():
    """SBX, on JAX's CPU backend (JAX's default threads). TensorFlow is hidden from it: SBX imports TensorFlow
    Probability's JAX substrate, which, once something has imported TensorFlow, asks for tf-keras (not installed)."""
    os.environ.setdefault('JAX_PLATFORMS', 'cpu')
    sys.modules['tensorflow'] = None
    import sbx

    return sbx


def peer_model(algorithm, envs, agent_name: str, batch: int):
    """An SB3 (or SBX) ``algorithm`` with this benchmark's settings and networks."""
    return algorithm(
        'MlpPolicy',
        envs,
        buffer_size=100_000,
        learning_starts=WARM_UP,
        batch_size=batch,
        train_freq=1,
        gradient_steps=1,
        seed=0,
        policy_kwargs={'net_arch': NETS[agent_name]},
    )


def summary(library: str, total: float, steps: int, n_envs: int, clock: Clock, sampled_inside=False) -> dict:
    per_step = {name: seconds / steps * 1e6 for name, seconds in clock.seconds.items()}
    if sampled_inside:  # sampling happens inside the timed update: shown apart, counted once
        per_step['update call'] -= per_step.get('sample', 0.0)
    per_step['rest'] = total / steps * 1e6 - sum(per_step.values())
    return {
        'library': library,
        'steps_per_second': steps * n_envs / total,
        'breakdown_us': {name: round(value, 1) for name, value in per_step.items()},
    }


def one(agent: str, batch: int, n_envs: int, library: str, steps: int) -> dict:
    """One measurement in a fresh process (no library warms the other's caches)."""
    command = [sys.executable, __file__, '--one', agent, str(batch), str(n_envs), library, '--steps', str(steps)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def compared(rounds: dict[str, list[dict]], peers: list[str]) -> dict:
    """Each library's median run of its rounds, the ratios of the medians and of each round
    (``rounds``: library -> its measurements, round by round)."""
    medians = {}
    for library, runs in rounds.items():
        ordered = sorted(runs, key=lambda run: run['steps_per_second'])
        medians[library] = {**ordered[(len(ordered) - 1) // 2], 'rounds': [run['steps_per_second'] for run in runs]}
    ratios, round_ratios = {}, {}
    if 'xagents' in rounds:
        for peer in peers:
            ratios[peer] = medians['xagents']['steps_per_second'] / medians[peer]['steps_per_second']
            pairs = zip(rounds['xagents'], rounds[peer])
            round_ratios[peer] = [ours['steps_per_second'] / theirs['steps_per_second'] for ours, theirs in pairs]
    return {**medians, 'ratios': ratios, 'round_ratios': round_ratios}


def ratio_cell(row: dict, peer: str) -> str:
    """The ratio of the medians, and the range of the rounds' ratios when there are several."""
    each = row['round_ratios'][peer]
    spread = f' ({min(each):.2f}-{max(each):.2f})' if len(each) > 1 else ''
    return f'{row["ratios"][peer]:.2f}x{spread}'


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=1000, help='timed vector steps per measurement')
    parser.add_argument('--agents', nargs='+', default=list(ENVS))
    parser.add_argument('--batches', nargs='+', type=int, default=[32, 256])
    parser.add_argument('--n-envs', nargs='+', type=int, default=[1, 4])
    parser.add_argument('--libraries', nargs='+', default=['xagents', 'sb3'], choices=['xagents', 'sb3', 'sbx'])
    parser.add_argument('--rounds', type=int, default=1, help='measurements of each config, libraries alternating')
    parser.add_argument('--output', default='benchmarks/results/one-step')
    parser.add_argument('--one', nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        agent, batch, n_envs, library = args.one
        if library == 'xagents':
            print(json.dumps(run_xagents(agent, int(batch), int(n_envs), args.steps)))
        else:
            print(json.dumps(run_sb3(agent, int(batch), int(n_envs), args.steps, library)))
        return
    rows, peers = [], [library for library in args.libraries if library != 'xagents']
    for agent in args.agents:
        for batch in args.batches:
            for n_envs in args.n_envs:
                rounds = {library: [] for library in args.libraries}
                for number in range(args.rounds):
                    order = args.libraries if number % 2 == 0 else args.libraries[::-1]
                    for library in order:
                        rounds[library].append(one(agent, batch, n_envs, library, args.steps))
                row = {'agent': agent, 'batch': batch, 'n_envs': n_envs, **compared(rounds, peers)}
                rows.append(row)
                print(
                    f'{agent} batch {batch} envs {n_envs}: '
                    + ', '.join(f'{library} {row[library]["steps_per_second"]:.0f}' for library in args.libraries)
                    + ' steps/s (medians)'
                    + ''.join(f' ({ratio:.2f}x {peer})' for peer, ratio in row['ratios'].items()),
                    flush=True,
                )
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    machine = f'{platform.processor() or platform.machine()}, {os.cpu_count()} cores'
    meta = {'machine': machine, 'steps': args.steps, 'rounds': args.rounds}
    output.with_suffix('.json').write_text(json.dumps({'meta': meta, 'rows': rows}, indent=2))
    names = {'xagents': 'xagents', 'sb3': 'SB3', 'sbx': 'SBX'}
    ratio_names = [f'xagents / {names[peer]}' for peer in peers] if 'xagents' in args.libraries else []
    header = ['agent', 'batch', 'envs', *(f'{names[lib]} steps/s' for lib in args.libraries), *ratio_names]
    header += [f'{names[lib]} per step (µs)' for lib in args.libraries]
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for row in rows:
        cells = [str(row[key]) for key in ('agent', 'batch', 'n_envs')]
        cells += [f'{row[lib]["steps_per_second"]:.0f}' for lib in args.libraries]
        cells += [ratio_cell(row, peer) for peer in row['ratios']]
        cells += [' · '.join(f'{k} {v:.0f}' for k, v in row[lib]['breakdown_us'].items()) for lib in args.libraries]
        lines.append('| ' + ' | '.join(cells) + ' |')
    output.with_suffix('.md').write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
