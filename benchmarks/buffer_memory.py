"""Resident memory of a replay buffer of Atari frame stacks (Pong: 84x84 uint8, 4-frame stacks).

Fills a ``ReplayBuffer`` of the given capacity with synthetic frames through the same
calls the agents make (episodes of ``--episode-length`` steps across ``--n-envs``
envs) and reports the process's resident memory before and after, next to the bytes
the arrays hold and to what storing each transition's two 4-frame stacks would take.

    python benchmarks/buffer_memory.py --capacity 1000000
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from xagents.replay.buffers import ReplayBuffer

RESULTS = Path(__file__).parent / 'results'
GIB = 2**30


def resident_bytes() -> int:
    for line in Path('/proc/self/status').read_text().splitlines():
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) * 1024
    raise RuntimeError('no VmRSS in /proc/self/status')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--capacity', type=int, default=1_000_000)
    parser.add_argument('--n-envs', type=int, default=8)
    parser.add_argument('--episode-length', type=int, default=1000, help='Steps per episode (Pong: about 800-3000)')
    args = parser.parse_args()
    shape, stack = (84, 84), 4
    before = resident_bytes()
    buffer = ReplayBuffer(args.capacity, args.n_envs, (*shape, stack), np.uint8, frame_stack=stack, seed=0)
    allocated = sum(array.nbytes for array in buffer.arrays().values())
    frames = np.arange(256, dtype=np.uint8)[:, None, None, None] * np.ones((1, args.n_envs, *shape), np.uint8)
    start = time.perf_counter()
    buffer.start_episodes(np.repeat(frames[0][..., None], stack, -1))
    actions, rewards = np.zeros(args.n_envs, np.int64), np.zeros(args.n_envs, np.float32)
    for step in range(args.capacity // args.n_envs):
        ended = np.full(args.n_envs, (step + 1) % args.episode_length == 0)
        buffer.add(actions, rewards, np.repeat(frames[step % 256][..., None], stack, -1), ended)
        if ended.any():
            buffer.start_episodes(np.repeat(frames[(step + 1) % 256][..., None], stack, -1), ended)
    fill_s = time.perf_counter() - start
    growth = resident_bytes() - before
    naive = 2 * args.capacity * np.prod(shape) * stack
    result = {
        'capacity': args.capacity,
        'n_envs': args.n_envs,
        'episode_length': args.episode_length,
        'allocated_bytes': int(allocated),
        'resident_growth_bytes': int(growth),
        'two_stacks_per_transition_bytes': int(naive),
        'fill_seconds': round(fill_s, 1),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f'buffer-memory-{args.capacity}.json').write_text(json.dumps(result, indent=2))
    print(
        f'{args.capacity:,} Atari transitions: arrays {allocated / GIB:.2f} GiB, resident memory grew '
        f'{growth / GIB:.2f} GiB after filling ({fill_s:.0f} s); two 4-frame stacks per transition: '
        f'{naive / GIB:.1f} GiB'
    )


if __name__ == '__main__':
    main()
