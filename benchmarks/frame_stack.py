"""Frame stacking on a partially observed task: PPO on CartPole with the velocities hidden.

``MaskedCartPole-v0`` (``xagents/tests/stack_envs.py``) keeps CartPole-v1's cart position and pole
angle and drops both velocities, so one observation does not say where the pole is going. PPO trains
with CartPole-v1's preset settings (8 envs x 32 steps, 20 epochs, lam 0.8, gamma 0.98, lr lin_1e-3,
clip lin_0.2) from the command line, once on single observations and once with ``--frame-stack 4``,
for the same steps and seeds; each run then plays ``EVAL_EPISODES`` greedy episodes (best 500).
CartPole-v1 with its velocities, same settings and budget, is the reference. Results go to
``benchmarks/results/frame-stack.json`` and ``frame-stack.md`` with the commands.

    python benchmarks/frame_stack.py --steps 100000 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / 'results'
MASKED = 'xagents.tests.stack_envs:MaskedCartPole-v0'
SETTINGS = (
    '--n-envs 8 --n-steps 32 --mini-batches 1 --ppo-epochs 20 --lam 0.8 --gamma 0.98 --lr lin_1e-3 '
    '--clip-range lin_0.2 --entropy-coef 0'
)
FORMS = {  # label -> (env, extra flags)
    'masked, one observation': (MASKED, ''),
    'masked, --frame-stack 4': (MASKED, '--frame-stack 4'),
    'CartPole-v1 (velocities seen)': ('CartPole-v1', ''),
}
EVAL_EPISODES = 20


def command(env: str, extra: str, steps: int, seed: int, output_dir: str) -> str:
    flags = f'{extra} {SETTINGS}' if extra else SETTINGS
    return f'xagents train ppo --env {env} {flags} --max-steps {steps} --seed {seed} --output-dir {output_dir}'


def run(env: str, extra: str, steps: int, seed: int) -> dict:
    import pandas as pd

    import xagents

    with tempfile.TemporaryDirectory() as folder:
        run_dir = str(Path(folder) / 'run')
        line = command(env, extra, steps, seed, run_dir)
        subprocess.run([*shlex.split(line), '--quiet'], check=True)
        history = pd.read_parquet(Path(run_dir) / 'history.parquet')
        agent = xagents.load(run_dir, checkpoint='latest')
        with contextlib.redirect_stdout(io.StringIO()):  # play prints each episode
            greedy = [episode['reward'] for episode in agent.play(episodes=EVAL_EPISODES, seed=10_000 + seed)]
    return {
        'command': line.replace(run_dir, 'RUN'),
        'training_mean_last_100': float(history['episode_reward'].tail(100).mean()),
        'greedy_mean': float(np.mean(greedy)),
    }


def report(results: dict, steps: int, seeds: list[int]) -> str:
    lines = [
        f'# PPO on CartPole with hidden velocities, with and without --frame-stack 4 ({steps:,} steps, seeds {seeds})',
        '',
        f'Greedy mean over {EVAL_EPISODES} episodes per seed of the latest checkpoint (best 500); the training '
        'mean is that of the last 100 training episodes.',
        '',
        '| observation | greedy mean per seed | greedy mean | training mean per seed |',
        '|---|---|---|---|',
    ]
    for label, runs in results.items():
        greedy = [run['greedy_mean'] for run in runs]
        training = [run['training_mean_last_100'] for run in runs]
        lines.append(
            f'| {label} | {", ".join(f"{value:.1f}" for value in greedy)} | {np.mean(greedy):.1f} '
            f'| {", ".join(f"{value:.1f}" for value in training)} |'
        )
    lines += ['', 'Commands (RUN: a fresh folder per run):', '', '```']
    lines += [run['command'] for runs in results.values() for run in runs]
    lines += ['```', '']
    return '\n'.join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=100_000)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    args = parser.parse_args()
    results = {}
    for label, (env, extra) in FORMS.items():
        results[label] = [run(env, extra, args.steps, seed) for seed in args.seeds]
        print(label, [round(run['greedy_mean'], 1) for run in results[label]], file=sys.stderr)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / 'frame-stack.json').write_text(json.dumps(results, indent=1) + '\n')
    (RESULTS / 'frame-stack.md').write_text(report(results, args.steps, args.seeds))


if __name__ == '__main__':
    main()
