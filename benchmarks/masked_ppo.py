"""xagents' PPO with action masks beside sb3-contrib's MaskablePPO, on the same masked env.

The env is the tests' ``Keypad-v0`` with ``graded=True``: one or two of six keys are legal each step
(``action_masks()``), an illegal key ends the episode with -10, the lowest legal key gives 1 and
another legal one 0.2, for 20 steps. Masked random play scores about 16, the best policy 20,
unmasked random play about -10. Both libraries train with the same settings (4 envs, rollouts of
128 steps per env, 4 epochs of 4 minibatches, lr 3e-4, GAE 0.95, gamma 0.99, clip 0.2, no entropy
bonus, 64x64 tanh networks) for the same steps, then play ``EVAL_EPISODES`` greedy episodes with
masks; xagents also trains once without masks, for the difference masking makes. Each run is a
separate process. Results go to ``benchmarks/results/masked-ppo.json`` and ``masked-ppo.md``.

    pip install sb3-contrib
    python benchmarks/masked_ppo.py --steps 20000 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / 'results'
ENV = 'xagents.tests.tiny_envs:Keypad-v0'
ENV_KWARGS = {'graded': True}
EVAL_EPISODES = 50
EVAL_SEED = 10_000


def run_xagents(seed: int, steps: int, masks: bool) -> dict:
    from xagents import PPO

    agent = PPO.from_env(
        ENV, env_kwargs=ENV_KWARGS, n_envs=4, seed=seed, n_steps=128, ppo_epochs=4, mini_batches=4, lr=3e-4,
        lam=0.95, gamma=0.99, clip_range=0.2, entropy_coef=0.0, mask_actions=masks, quiet=True,
    )  # fmt: skip
    start = time.perf_counter()
    agent.fit(max_steps=steps)
    seconds = time.perf_counter() - start
    rewards = [result['reward'] for result in agent.play(episodes=EVAL_EPISODES, seed=EVAL_SEED + seed)]
    return {'seconds': seconds, 'rewards': rewards, 'training_mean_reward': agent.mean_reward}


def run_sb3(seed: int, steps: int) -> dict:
    import gymnasium as gym
    from sb3_contrib import MaskablePPO
    from sb3_contrib.common.maskable.utils import get_action_masks
    from stable_baselines3.common.env_util import make_vec_env

    import xagents.tests.tiny_envs  # noqa: F401  (registers Keypad-v0)

    envs = make_vec_env('Keypad-v0', n_envs=4, seed=seed, env_kwargs=ENV_KWARGS)
    model = MaskablePPO(
        'MlpPolicy', envs, n_steps=128, batch_size=128, n_epochs=4, learning_rate=3e-4, gae_lambda=0.95,
        gamma=0.99, clip_range=0.2, ent_coef=0.0, seed=seed, device='cpu',
    )  # fmt: skip
    start = time.perf_counter()
    model.learn(total_timesteps=steps)
    seconds = time.perf_counter() - start
    env = gym.make('Keypad-v0', **ENV_KWARGS)
    rewards = []
    for episode in range(EVAL_EPISODES):
        observation, _ = env.reset(seed=EVAL_SEED + seed + episode)
        total, done = 0.0, False
        while not done:
            action, _ = model.predict(observation, deterministic=True, action_masks=get_action_masks(env))
            observation, reward, terminated, truncated, _ = env.step(action)
            total, done = total + reward, terminated or truncated
        rewards.append(total)
    training = float(np.mean([info['r'] for info in model.ep_info_buffer]))  # its last 100 episodes
    return {'seconds': seconds, 'rewards': rewards, 'training_mean_reward': training}


def one_run(library: str, seed: int, steps: int) -> dict:
    if library == 'sb3-contrib MaskablePPO':
        return run_sb3(seed, steps)
    return run_xagents(seed, steps, masks=library == 'xagents PPO masked')


LIBRARIES = ('xagents PPO masked', 'sb3-contrib MaskablePPO', 'xagents PPO unmasked')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=20_000)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--one', nargs=2, metavar=('LIBRARY', 'SEED'), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:  # a child process: one run, its result as JSON on the last line
        print(json.dumps(one_run(args.one[0], int(args.one[1]), args.steps)))
        return
    runs = []
    for seed in args.seeds:
        for library in LIBRARIES:
            command = [sys.executable, __file__, '--steps', str(args.steps), '--one', library, str(seed)]
            output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            result = json.loads(output.strip().splitlines()[-1])
            runs.append({'library': library, 'seed': seed, 'steps': args.steps, **result})
            greedy, training = np.mean(result['rewards']), result['training_mean_reward']
            print(f'{library}, seed {seed}: greedy {greedy:.2f}, training {training:.2f}, {result["seconds"]:.1f} s')
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / 'masked-ppo.json').write_text(json.dumps(runs, indent=1))
    lines = [
        f'# PPO with action masks on Keypad-v0 (graded), {args.steps:,} steps, seeds {args.seeds}',
        '',
        f'Greedy evaluation over {EVAL_EPISODES} episodes per seed, with masks (without for the unmasked run: an '
        'illegal key ends the episode with -10); best 20, masked random about 16.',
        '',
        'The training mean is that of the last 100 training episodes (sampled actions).',
        '',
        '| library | greedy mean per seed | greedy mean | training mean per seed | training time per seed (s) |',
        '|---|---|---|---|---|',
    ]
    for library in LIBRARIES:
        mine = [run for run in runs if run['library'] == library]
        means = [np.mean(run['rewards']) for run in mine]
        times = ', '.join(f'{run["seconds"]:.1f}' for run in mine)
        training = ', '.join(f'{run["training_mean_reward"]:.2f}' for run in mine)
        per_seed = ', '.join(f'{mean:.2f}' for mean in means)
        lines.append(f'| {library} | {per_seed} | {np.mean(means):.2f} | {training} | {times} |')
    (RESULTS / 'masked-ppo.md').write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
