"""Time of one sampled batch with uniform and prioritized replay (sample, plus priority update).

python benchmarks/replay_speed.py --capacity 1000000 --batch-size 64
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from xagents.utils.buffers import PrioritizedReplayBuffer, ReplayBuffer


def fill(buffer: ReplayBuffer, n_envs: int, rng: np.random.Generator) -> None:
    buffer.start_episodes(rng.normal(size=(n_envs, 4)).astype(np.float32))
    for _ in range(buffer.size):
        done = rng.random(n_envs) < 0.01
        buffer.add(np.zeros(n_envs, np.int64), np.ones(n_envs), rng.normal(size=(n_envs, 4)), done, done)
        if done.any():
            buffer.start_episodes(rng.normal(size=(n_envs, 4)).astype(np.float32), done)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--capacity', type=int, default=1_000_000)
    parser.add_argument('--n-envs', type=int, default=8)
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--n-step', type=int, default=3)
    parser.add_argument('--iterations', type=int, default=2000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    for buffer_class in (ReplayBuffer, PrioritizedReplayBuffer):
        buffer = buffer_class(args.capacity, args.n_envs, (4,), n_step=args.n_step, seed=0)
        fill(buffer, args.n_envs, rng)
        prioritized = buffer_class is PrioritizedReplayBuffer
        start = time.perf_counter()
        for _ in range(args.iterations):
            batch = buffer.sample(args.batch_size)
            if prioritized:
                buffer.update_priorities(batch['indices'], rng.normal(size=args.batch_size))
        per_batch = (time.perf_counter() - start) / args.iterations * 1e6
        print(
            f'{buffer_class.__name__}: {per_batch:.0f} us per batch of {args.batch_size} '
            f'({args.capacity:,} transitions, {args.n_step}-step{", with priority update" if prioritized else ""})'
        )


if __name__ == '__main__':
    main()
