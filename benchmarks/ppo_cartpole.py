"""PPO on CartPole-v1: xagents vs Stable-Baselines3, same machine, same run.

Both train until the mean return of the last 100 episodes reaches 475 (or a step
budget runs out), with the RL Zoo CartPole-v1 hyperparameters (n_envs 8, n_steps 32,
batch 256, 20 epochs, gamma 0.98, GAE 0.8, lr 1e-3, clip 0.2, no entropy bonus;
RL Zoo anneals lr and clip linearly over 1e5 steps, xagents keeps them constant).
Each run is a separate process so the two libraries never share threads or memory.

    pip install -e .[bench]
    python benchmarks/ppo_cartpole.py --seeds 0 1 2
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

import numpy as np

TARGET = 475.0
BUDGET = 300_000
RESULTS = Path(__file__).parent / 'results'


def run_xagents(seed: int) -> dict:
    import tempfile

    from xagents import PPO
    from xagents.ppo.cli import PRESETS

    values = dict(PRESETS['CartPole-v1'])
    n_envs = values.pop('n_envs')
    with tempfile.TemporaryDirectory() as folder:
        agent = PPO.from_env('CartPole-v1', n_envs=n_envs, seed=seed, quiet=True, output_dir=folder, **values)
        start = time.perf_counter()
        reason = agent.fit(target_reward=TARGET, max_steps=BUDGET)
        wall = time.perf_counter() - start
    return {'steps': agent.steps, 'wall_s': wall, 'reached': reason == 'target', 'final_mean': agent.mean_reward}


def run_sb3(seed: int) -> dict:
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    class StopAtTarget(BaseCallback):
        def _on_step(self) -> bool:
            rewards = [info['r'] for info in self.model.ep_info_buffer]
            return not (len(rewards) == 100 and np.mean(rewards) >= TARGET)

    def linear(initial):
        return lambda progress: progress * initial

    envs = make_vec_env('CartPole-v1', n_envs=8, seed=seed)
    model = PPO(
        'MlpPolicy',
        envs,
        n_steps=32,
        batch_size=256,
        gae_lambda=0.8,
        gamma=0.98,
        n_epochs=20,
        ent_coef=0.0,
        learning_rate=linear(1e-3),
        clip_range=linear(0.2),
        seed=seed,
        device='cpu',
        verbose=0,
    )
    start = time.perf_counter()
    model.learn(100_000, callback=StopAtTarget())
    wall = time.perf_counter() - start
    rewards = [info['r'] for info in model.ep_info_buffer]
    reached = len(rewards) == 100 and np.mean(rewards) >= TARGET
    return {
        'steps': model.num_timesteps,
        'wall_s': wall,
        'reached': bool(reached),
        'final_mean': float(np.mean(rewards)),
        'torch_threads': torch.get_num_threads(),
    }


def summarize(rows: list[dict]) -> str:
    lines = ['| library | seed | reached 475 | steps | wall time (s) | steps/s |', '|---|---|---|---|---|---|']
    for row in rows:
        reached = 'yes' if row['reached'] else f'no (mean {row["final_mean"]:.0f})'
        lines.append(
            f'| {row["library"]} | {row["seed"]} | {reached} '
            f'| {row["steps"]:,} | {row["wall_s"]:.1f} | {row["steps"] / row["wall_s"]:,.0f} |'
        )
    for library in ('xagents', 'sb3'):
        mine = [row for row in rows if row['library'] == library]
        wall = [row['wall_s'] for row in mine]
        speed = [row['steps'] / row['wall_s'] for row in mine]
        lines.append(
            f'| **{library}** | mean | {sum(row["reached"] for row in mine)}/{len(mine)} | '
            f'{np.mean([row["steps"] for row in mine]):,.0f} | {np.mean(wall):.1f} ± {np.std(wall):.1f} | '
            f'{np.mean(speed):,.0f} |'
        )
    ours = [row for row in rows if row['library'] == 'xagents']
    theirs = [row for row in rows if row['library'] == 'sb3']
    ratio_wall = np.mean([row['wall_s'] for row in ours]) / np.mean([row['wall_s'] for row in theirs])
    ratio_speed = np.mean([r['steps'] / r['wall_s'] for r in ours]) / np.mean(
        [r['steps'] / r['wall_s'] for r in theirs]
    )
    lines.append('')
    lines.append(
        f'Wall time to a mean of 475, xagents / SB3: **{ratio_wall:.2f}** '
        f"(xagents takes {ratio_wall:.0%} of SB3's time); training steps/s ratio: **{ratio_speed:.1f}x**."
    )
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--one', choices=['xagents', 'sb3'], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        result = (run_xagents if args.one == 'xagents' else run_sb3)(args.seeds[0])
        print('RESULT ' + json.dumps(result))
        return
    rows = []
    for seed in args.seeds:
        for library in ('xagents', 'sb3'):
            output = subprocess.run(
                [sys.executable, __file__, '--one', library, '--seeds', str(seed)],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2'},
            ).stdout
            row = json.loads(output.split('RESULT ', 1)[1]) | {'library': library, 'seed': seed}
            print(row, flush=True)
            rows.append(row)
    RESULTS.mkdir(exist_ok=True)
    machine = (
        f'{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}'
    )
    (RESULTS / 'ppo_cartpole.json').write_text(json.dumps({'machine': machine, 'runs': rows}, indent=2))
    table = summarize(rows)
    (RESULTS / 'ppo_cartpole.md').write_text(f'Machine: {machine}\n\n{table}\n')
    print(table)


if __name__ == '__main__':
    main()
