"""Replay buffer speed: adding one vector step, and a sampled batch (with the priority update),
xagents' uniform and prioritized buffers beside cpprb's (C++, in the bench extra).

Both keep 1M transitions of 4 floats from 8 envs and draw batches of 64; xagents' buffers
also sum 3-step returns and keep each frame once per env (cpprb's here: 1-step, no frame
dedup), so they do more per call.

    python benchmarks/replay_speed.py [--capacity 1000000] [--n-envs 8] [--batch-size 64] [--output FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from xagents.replay.buffers import ReplayBuffer
from xagents.replay.prioritized import PrioritizedReplayBuffer


def fill(buffer: ReplayBuffer, n_envs: int, rng: np.random.Generator) -> None:
    buffer.start_episodes(rng.normal(size=(n_envs, 4)).astype(np.float32))
    for _ in range(buffer.size):
        done = rng.random(n_envs) < 0.01
        buffer.add(np.zeros(n_envs, np.int64), np.ones(n_envs), rng.normal(size=(n_envs, 4)), done, done)
        if done.any():
            buffer.start_episodes(rng.normal(size=(n_envs, 4)).astype(np.float32), done)


def timed(function, calls: int) -> float:
    """Mean microseconds per call, after a tenth of the calls as warm-up."""
    for _ in range(max(1, calls // 10)):
        function()
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - start) / calls * 1e6


def xagents_times(buffer_class, args, rng) -> dict[str, float]:
    buffer = buffer_class(args.capacity, args.n_envs, (4,), n_step=args.n_step, seed=0)
    fill(buffer, args.n_envs, rng)
    actions, rewards = np.zeros(args.n_envs, np.int64), np.ones(args.n_envs)
    observations, done = rng.normal(size=(args.n_envs, 4)), np.zeros(args.n_envs, bool)
    add = timed(lambda: buffer.add(actions, rewards, observations, done, done), args.iterations)
    if buffer_class is PrioritizedReplayBuffer:

        def sample():
            batch = buffer.sample(args.batch_size)
            buffer.update_priorities(batch['indices'], rng.normal(size=args.batch_size))

    else:

        def sample():
            buffer.sample(args.batch_size)

    return {'add': add, 'sample': timed(sample, args.iterations)}


def cpprb_times(prioritized: bool, args, rng) -> dict[str, float] | None:
    try:
        import cpprb
    except ImportError:
        return None
    env_dict = {'obs': {'shape': 4}, 'act': {}, 'rew': {}, 'next_obs': {'shape': 4}, 'done': {}}
    buffer_class = cpprb.PrioritizedReplayBuffer if prioritized else cpprb.ReplayBuffer
    buffer = buffer_class(args.capacity * args.n_envs, env_dict)
    step = {
        'obs': rng.normal(size=(args.n_envs, 4)),
        'act': np.zeros(args.n_envs),
        'rew': np.ones(args.n_envs),
        'next_obs': rng.normal(size=(args.n_envs, 4)),
        'done': np.zeros(args.n_envs),
    }
    for _ in range(args.capacity):
        buffer.add(**step)
    add = timed(lambda: buffer.add(**step), args.iterations)
    if prioritized:

        def sample():
            batch = buffer.sample(args.batch_size, beta=0.4)
            buffer.update_priorities(batch['indexes'], np.abs(rng.normal(size=args.batch_size)) + 1e-6)

    else:

        def sample():
            buffer.sample(args.batch_size)

    return {'add': add, 'sample': timed(sample, args.iterations)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--capacity', type=int, default=1_000_000, help='transitions per env (cpprb: times n-envs)')
    parser.add_argument('--n-envs', type=int, default=8)
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--n-step', type=int, default=3)
    parser.add_argument('--iterations', type=int, default=2000)
    parser.add_argument('--output', default=None, help='JSON file for the results')
    args = parser.parse_args()
    args.capacity //= args.n_envs  # the buffers' capacity is per env
    rng = np.random.default_rng(0)
    results = {}
    for name, prioritized in (('uniform', False), ('prioritized', True)):
        ours = xagents_times(PrioritizedReplayBuffer if prioritized else ReplayBuffer, args, rng)
        theirs = cpprb_times(prioritized, args, rng)
        results[name] = {'xagents': ours, 'cpprb': theirs}
        for what in ('add', 'sample'):
            label = 'sample' + (' + priority update' if prioritized else '')
            label = 'add (one vector step)' if what == 'add' else label
            line = f'{name:11} {label:32} xagents {ours[what]:6.0f} µs'
            if theirs:
                line += f'   cpprb {theirs[what]:6.0f} µs   ratio {ours[what] / theirs[what]:.2f}'
            print(line)
    if args.output:
        meta = {
            'machine': f'{platform.processor() or platform.machine()}, {os.cpu_count()} cores',
            'transitions': args.capacity * args.n_envs,
            'n_envs': args.n_envs,
            'batch_size': args.batch_size,
            'n_step': args.n_step,
        }
        Path(args.output).write_text(json.dumps({'meta': meta, 'results': results}, indent=2))


if __name__ == '__main__':
    main()
