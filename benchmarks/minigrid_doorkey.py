"""xagents' PPO on MiniGrid's DoorKey-5x5 (a Dict observation from a package no one here wrote)
beside Stable-Baselines3's PPO (MultiInputPolicy) with the same settings, steps and network.

xagents trains with the command of issue 31, as a user types it:

    xagents train ppo --env minigrid:MiniGrid-DoorKey-5x5-v0 --obs-keys image direction --max-steps 150000

on its defaults (SB3's PPO defaults: 1 env, 2,048 steps per rollout, 10 epochs of minibatches of 64,
lr 3e-4, GAE 0.95, gamma 0.99, clip 0.2, no entropy bonus). SB3's PPO gets the same keys (gymnasium's
``FilterObservation``), the same hyperparameters (its defaults) and the same network: SB3's
``MultiInputPolicy`` puts an image key through NatureCNN, whose 8x8 stride-4 first layer cannot take
a 7x7 view (``RuntimeError: ... Kernel size can't be greater than actual input size``), so it is
given a features extractor built as xagents' ``cnn-small`` file (3x3 convolutions of 32, 64 and 64
filters, the last of stride 2, flattened) beside the one-hot direction, then SB3's default 64x64
tanh actor and critic, as xagents' ``ann`` file. Both scale the image by 1/255 (SB3 treats a
(0, 255) uint8 Box as an image).

Each run is a separate process, one after the other (TensorFlow and PyTorch never run at once).
After training, the final policy of each plays ``EVAL_EPISODES`` greedy episodes on fresh envs
(seeds ``EVAL_SEED + 100 * seed + episode``). Results: ``benchmarks/results/minigrid.json``,
``minigrid.md`` and the learning curves ``minigrid.png`` (training episodes' rewards, mean of the
last 20, per run). The file is not named ``minigrid.py``: a script's folder comes first on
``sys.path``, so ``import minigrid`` would import the script itself.

    pip install minigrid stable-baselines3
    python benchmarks/minigrid_doorkey.py --steps 150000 --seeds 0 1
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / 'results'
ENV_ID = 'MiniGrid-DoorKey-5x5-v0'
KEYS = ['image', 'direction']
EVAL_EPISODES = 20
EVAL_SEED = 10_000
GOAL = 0.8
LIBRARIES = ('xagents PPO', 'SB3 PPO')


def greedy_rewards(predict, seed: int) -> list[float]:
    """``EVAL_EPISODES`` greedy episodes of ``predict`` (raw MiniGrid observation -> action)."""
    import gymnasium as gym
    import minigrid  # noqa: F401  (registers the MiniGrid envs)

    env = gym.make(ENV_ID)
    rewards = []
    for episode in range(EVAL_EPISODES):
        observation, _ = env.reset(seed=EVAL_SEED + 100 * seed + episode)
        total, done = 0.0, False
        while not done:
            observation, reward, terminated, truncated, _ = env.step(predict(observation))
            total, done = total + float(reward), terminated or truncated
        rewards.append(total)
    return rewards


def run_xagents(seed: int, steps: int, runs_dir: Path) -> dict:
    """The issue's command on ``seed``; a finished run of it already in ``runs_dir`` is evaluated as it is."""
    import pandas as pd

    import xagents

    run_dir = runs_dir / f'xagents-seed{seed}'
    command = [
        'xagents', 'train', 'ppo', '--env', f'minigrid:{ENV_ID}', '--obs-keys', *KEYS, '--max-steps', str(steps),
        '--seed', str(seed), '--output-dir', str(run_dir),
    ]  # fmt: skip
    history_file = run_dir / 'history.parquet'
    if not (history_file.is_file() and pd.read_parquet(history_file)['step'].iloc[-1] >= steps):
        subprocess.run([*command, '--quiet'], check=True, stdout=subprocess.DEVNULL)
    agent = xagents.load(run_dir, checkpoint='latest')
    history = pd.read_parquet(history_file)
    return {
        'command': ' '.join(command[:-2]),
        'seconds': float(history['time'].iloc[-1]),  # training time, as the run's history keeps it
        'rewards': greedy_rewards(lambda observation: int(agent.predict(observation)), seed),
        'episode_steps': history['step'].tolist(),
        'episode_rewards': history['episode_reward'].tolist(),
    }


def small_cnn_extractor():
    """SB3's features extractor for the image and direction keys, built as xagents' Dict network."""
    import torch
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
    from torch import nn

    class ImageAndDirection(BaseFeaturesExtractor):
        def __init__(self, observation_space):
            channels, height, width = observation_space['image'].shape  # SB3 transposed it to channels first
            directions = observation_space['direction'].n
            cnn = nn.Sequential(
                nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(),
                nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
                nn.Conv2d(64, 64, 3, stride=2, padding=1), nn.ReLU(),
                nn.Flatten(),
            )  # fmt: skip
            with torch.no_grad():
                size = cnn(torch.zeros(1, channels, height, width)).shape[1]
            super().__init__(observation_space, features_dim=size + directions)
            self.cnn = cnn

        def forward(self, observations):
            # SB3 has scaled the image by 1/255 and made the direction one-hot (of shape (n, 1, 4) in updates).
            return torch.cat([self.cnn(observations['image']), observations['direction'].flatten(1)], dim=1)

    return ImageAndDirection


def run_sb3(seed: int, steps: int) -> dict:
    import minigrid  # noqa: F401
    import torch
    from gymnasium.wrappers import FilterObservation
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    # One thread: on a 2-core machine shared with other jobs, PyTorch's 2 threads made each update
    # about 20x slower (256 steps and their 10 epochs: 75 s against 3 s).
    torch.set_num_threads(1)

    class Episodes(BaseCallback):
        def __init__(self):
            super().__init__()
            self.steps, self.rewards = [], []

        def _on_step(self) -> bool:
            for info in self.locals['infos']:
                if 'episode' in info:
                    self.steps.append(self.num_timesteps)
                    self.rewards.append(float(info['episode']['r']))
            return True

    envs = make_vec_env(ENV_ID, n_envs=1, seed=seed, wrapper_class=lambda env: FilterObservation(env, KEYS))
    model = PPO(
        'MultiInputPolicy', envs, seed=seed, device='cpu',
        policy_kwargs={'features_extractor_class': small_cnn_extractor()},
    )  # fmt: skip
    episodes = Episodes()
    start = time.perf_counter()
    model.learn(total_timesteps=steps, callback=episodes)
    seconds = time.perf_counter() - start

    def predict(observation):
        chosen = {key: observation[key] for key in KEYS}
        return int(model.predict(chosen, deterministic=True)[0])

    return {
        'command': 'PPO("MultiInputPolicy", <DoorKey with image and direction>, policy_kwargs=<small CNN>)',
        'seconds': seconds,
        'rewards': greedy_rewards(predict, seed),
        'episode_steps': episodes.steps,
        'episode_rewards': episodes.rewards,
    }


def one_run(library: str, seed: int, steps: int, runs_dir: Path) -> dict:
    return run_sb3(seed, steps) if library == 'SB3 PPO' else run_xagents(seed, steps, runs_dir)


def first_reaching(run: dict, window: int = 20) -> int | None:
    """The step at which the mean of the last ``window`` training episodes first reached ``GOAL``."""
    rewards = np.asarray(run['episode_rewards'])
    for end in range(window, len(rewards) + 1):
        if rewards[end - window : end].mean() >= GOAL:
            return int(run['episode_steps'][end - 1])
    return None


def plot(runs: list[dict], steps: int, path: Path, window: int = 20) -> None:
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 4.5))
    colors = {'xagents PPO': 'tab:blue', 'SB3 PPO': 'tab:orange'}
    for run in runs:
        rewards = np.asarray(run['episode_rewards'])
        if len(rewards) < window:
            continue
        means = np.convolve(rewards, np.ones(window) / window, mode='valid')
        style = ['-', '--', ':', '-.'][run['seed'] % 4]
        axes.plot(
            run['episode_steps'][window - 1 :], means, style, color=colors[run['library']],
            label=f'{run["library"]}, seed {run["seed"]}',
        )  # fmt: skip
    axes.axhline(GOAL, color='gray', linewidth=0.8)
    axes.set(
        xlabel='steps', ylabel=f'training reward (mean of last {window} episodes)', xlim=(0, steps), ylim=(0, 1),
        title=f'PPO on {ENV_ID} (image and direction keys)',
    )  # fmt: skip
    axes.legend(loc='lower right')
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def write_results(runs: list[dict], steps: int, seeds: list[int]) -> list[str]:
    RESULTS.mkdir(exist_ok=True)
    compact = [{**run, 'episode_rewards': [round(reward, 4) for reward in run['episode_rewards']]} for run in runs]
    (RESULTS / 'minigrid.json').write_text(json.dumps(compact))
    plot(runs, steps, RESULTS / 'minigrid.png')
    lines = [
        f'# PPO on {ENV_ID} (keys image and direction), {steps:,} steps, seeds {seeds}',
        '',
        f'Greedy evaluation of the final policy over {EVAL_EPISODES} episodes per seed (goal: a mean of at least '
        f'{GOAL}; a reward is 1 - 0.9 x steps / 250 on reaching the goal, 0 otherwise). "Training reaches {GOAL}" '
        'is the first step where the mean of the last 20 training episodes (sampled actions) is at least '
        f'{GOAL}. Machine: {platform.machine()}, 2 cores shared with other jobs, so the times are indicative only.',
        '',
        f'| library | greedy mean per seed | greedy mean | training reaches {GOAL} at step | training time (s) |',
        '|---|---|---|---|---|',
    ]
    for library in LIBRARIES:
        mine = [run for run in runs if run['library'] == library]
        if not mine:
            continue
        means = [np.mean(run['rewards']) for run in mine]
        reached = ', '.join(f'{step:,}' if step else 'no' for step in map(first_reaching, mine))
        times = ', '.join(f'{run["seconds"]:.0f}' for run in mine)
        lines.append(
            f'| {library} | {", ".join(f"{mean:.3f}" for mean in means)} | {np.mean(means):.3f} | {reached} | {times} |'
        )
    (RESULTS / 'minigrid.md').write_text('\n'.join(lines) + '\n')
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=150_000)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    parser.add_argument('--libraries', nargs='+', choices=LIBRARIES, default=list(LIBRARIES))
    parser.add_argument(
        '--runs-dir', type=Path, default=Path(tempfile.gettempdir()) / 'minigrid-runs',
        help='where the xagents runs go (xagents-seedN); a finished run there is evaluated, not trained again',
    )  # fmt: skip
    parser.add_argument('--one', nargs=2, metavar=('LIBRARY', 'SEED'), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:  # a child process: one run, its result as JSON on the last line
        print(json.dumps(one_run(args.one[0], int(args.one[1]), args.steps, args.runs_dir)))
        return
    runs = []
    for seed in args.seeds:
        for library in args.libraries:
            command = [sys.executable, __file__, '--steps', str(args.steps), '--runs-dir', str(args.runs_dir)]
            command += ['--one', library, str(seed)]
            output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            result = json.loads(output.strip().splitlines()[-1])
            runs.append({'library': library, 'seed': seed, 'steps': args.steps, **result})
            greedy = np.mean(result['rewards'])
            print(f'{library}, seed {seed}: greedy {greedy:.3f}, {result["seconds"]:.0f} s', flush=True)
            write_results(runs, args.steps, args.seeds)
    print('\n'.join(write_results(runs, args.steps, args.seeds)))


if __name__ == '__main__':
    main()
