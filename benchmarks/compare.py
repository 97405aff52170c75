"""xagents vs Stable-Baselines3 / sb3-contrib on the same machine, in the same run.

Each task trains one xagents agent with its shipped per-env preset and, where one
exists, the matching Stable-Baselines3 (or sb3-contrib) agent with the RL Zoo
hyperparameters, for each seed, until the mean return of the last 100 episodes
reaches the task's threshold or the step budget runs out. Every run is a separate
process so the libraries never share threads or memory. Results go to
``benchmarks/results/<task>.{json,md}``.

    pip install -e .[bench]
    python benchmarks/compare.py --tasks ppo-cartpole a2c-cartpole --seeds 0 1 2
    python benchmarks/compare.py --list
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / 'results'


def linear(initial: float) -> Callable[[float], float]:
    return lambda progress: progress * initial


def sb3_ppo_cartpole(envs, seed):
    from stable_baselines3 import PPO

    # RL Zoo anneals lr and clip linearly over 1e5 steps; xagents keeps them constant.
    return PPO(
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
    )


def sb3_a2c_cartpole(envs, seed):
    from stable_baselines3 import A2C

    return A2C('MlpPolicy', envs, ent_coef=0.0, seed=seed, device='cpu')


def sb3_a2c_pendulum(envs, seed):
    import torch
    from stable_baselines3 import A2C

    return A2C(
        'MlpPolicy',
        envs,
        ent_coef=0.0,
        max_grad_norm=0.5,
        n_steps=8,
        gae_lambda=0.9,
        vf_coef=0.4,
        gamma=0.9,
        use_rms_prop=True,
        normalize_advantage=False,
        learning_rate=linear(7e-4),
        use_sde=True,
        policy_kwargs=dict(log_std_init=-2, ortho_init=False, activation_fn=torch.nn.Tanh),
        seed=seed,
        device='cpu',
    )


def sb3_trpo_cartpole(envs, seed):
    from sb3_contrib import TRPO

    return TRPO(
        'MlpPolicy',
        envs,
        n_steps=512,
        batch_size=512,
        cg_damping=1e-3,
        gae_lambda=0.98,
        gamma=0.99,
        learning_rate=1e-3,
        n_critic_updates=20,
        seed=seed,
        device='cpu',
    )


def sb3_trpo_pendulum(envs, seed):
    from sb3_contrib import TRPO

    return TRPO(
        'MlpPolicy',
        envs,
        n_steps=1024,
        gamma=0.9,
        n_critic_updates=15,
        use_sde=True,
        sde_sample_freq=4,
        seed=seed,
        device='cpu',
    )


def sb3_dqn_cartpole(envs, seed):
    from stable_baselines3 import DQN

    return DQN(
        'MlpPolicy',
        envs,
        learning_rate=2.3e-3,
        batch_size=64,
        buffer_size=100_000,
        learning_starts=1000,
        gamma=0.99,
        target_update_interval=10,
        train_freq=256,
        gradient_steps=128,
        exploration_fraction=0.16,
        exploration_final_eps=0.04,
        policy_kwargs=dict(net_arch=[256, 256]),
        seed=seed,
        device='cpu',
    )


def sb3_td3_pendulum(envs, seed, algorithm='TD3'):
    import stable_baselines3
    from stable_baselines3.common.noise import NormalActionNoise

    actions = envs.action_space.shape[0]
    return getattr(stable_baselines3, algorithm)(
        'MlpPolicy',
        envs,
        gamma=0.98,
        buffer_size=200_000,
        learning_starts=10_000,
        action_noise=NormalActionNoise(np.zeros(actions), 0.1 * np.ones(actions)),
        gradient_steps=-1,
        train_freq=(1, 'episode'),
        learning_rate=1e-3,
        policy_kwargs=dict(net_arch=[400, 300]),
        seed=seed,
        device='cpu',
    )


def sb3_ddpg_pendulum(envs, seed):
    return sb3_td3_pendulum(envs, seed, 'DDPG')


@dataclasses.dataclass
class Task:
    agent: str
    env: str
    threshold: float
    budget: int
    peer: Callable | None = None
    peer_envs: int = 1
    peer_normalize: bool = False
    # RL Zoo's n_timesteps: the peer's schedules (linear lr, exploration) run over it.
    peer_budget: int | None = None
    # Episodes in the mean compared with the threshold.
    window: int = 100
    # Flags on top of the agent's preset.
    flags: dict = dataclasses.field(default_factory=dict)


TASKS = {
    'ppo-cartpole': Task('ppo', 'CartPole-v1', 475, 300_000, sb3_ppo_cartpole, 8, peer_budget=100_000),
    'a2c-cartpole': Task('a2c', 'CartPole-v1', 475, 500_000, sb3_a2c_cartpole, 8),
    'trpo-cartpole': Task('trpo', 'CartPole-v1', 475, 100_000, sb3_trpo_cartpole, 2),
    'acer-cartpole': Task('acer', 'CartPole-v1', 475, 500_000),
    'dqn-cartpole': Task('dqn', 'CartPole-v1', 475, 300_000, sb3_dqn_cartpole, peer_budget=50_000),
    'dqn-plain-cartpole': Task('dqn', 'CartPole-v1', 475, 300_000, flags=dict(dueling=False, n_step=1)),
    'dqn-per-cartpole': Task('dqn', 'CartPole-v1', 475, 300_000, flags=dict(prioritized=True)),
    'td3-pendulum': Task('td3', 'Pendulum-v1', -200, 20_000, sb3_td3_pendulum, window=10),
    'ddpg-pendulum': Task('ddpg', 'Pendulum-v1', -200, 20_000, sb3_ddpg_pendulum, window=10),
    'trpo-pendulum': Task('trpo', 'Pendulum-v1', -250, 200_000, sb3_trpo_pendulum, 2, peer_budget=100_000),
    'a2c-pendulum': Task('a2c', 'Pendulum-v1', -400, 1_000_000, sb3_a2c_pendulum, 8, True),
}


def run_xagents(task: Task, seed: int) -> dict:
    import importlib

    from xagents import agents

    values = dict(importlib.import_module(f'xagents.{task.agent}.cli').PRESETS.get(task.env, {}))
    values.update(task.flags, reward_buffer_size=task.window)
    n_envs = values.pop('n_envs', 1)
    with tempfile.TemporaryDirectory() as folder:
        agent = agents[task.agent].from_env(task.env, n_envs=n_envs, seed=seed, quiet=True, output_dir=folder, **values)
        start = time.perf_counter()
        reason = agent.fit(target_reward=task.threshold, max_steps=task.budget)
        wall = time.perf_counter() - start
    return {'steps': agent.steps, 'wall_s': wall, 'reached': reason == 'target', 'final_mean': agent.mean_reward}


def run_peer(task: Task, seed: int) -> dict:
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    class StopAtThreshold(BaseCallback):
        def _on_step(self) -> bool:
            rewards = [info['r'] for info in self.model.ep_info_buffer][-task.window :]
            return not (len(rewards) == task.window and np.mean(rewards) >= task.threshold)

    envs = make_vec_env(task.env, n_envs=task.peer_envs, seed=seed)
    if task.peer_normalize:
        envs = VecNormalize(envs, gamma=0.9)
    model = task.peer(envs, seed)
    start = time.perf_counter()
    model.learn(task.peer_budget or task.budget, callback=StopAtThreshold())
    wall = time.perf_counter() - start
    rewards = [info['r'] for info in model.ep_info_buffer][-task.window :]
    reached = len(rewards) == task.window and np.mean(rewards) >= task.threshold
    return {'steps': model.num_timesteps, 'wall_s': wall, 'reached': bool(reached), 'final_mean': np.mean(rewards)}


def flag(name: str, value) -> str:
    """``name=value`` as the command line writes it (``--x``, ``--no-x``, ``--x 3``)."""
    name = name.replace('_', '-')
    if isinstance(value, bool):
        return f'--{name}' if value else f'--no-{name}'
    return f'--{name} {value}'


def summarize(name: str, task: Task, rows: list[dict]) -> str:
    lines = [
        f'### {name}: {task.agent.upper()} on {task.env}'
        + ''.join(f' {flag(key, value)}' for key, value in task.flags.items())
        + f', mean of {task.window} episodes >= {task.threshold:g}, '
        f'budget {task.budget:,} steps'
        + (f' (peer: {task.peer_budget:,}, its RL Zoo n_timesteps)' if task.peer_budget else ''),
        '',
        '| library | seed | reached | steps | wall time (s) | steps/s |',
        '|---|---|---|---|---|---|',
    ]
    for row in rows:
        reached = 'yes' if row['reached'] else f'no (mean {row["final_mean"]:.0f})'
        lines.append(
            f'| {row["library"]} | {row["seed"]} | {reached} '
            f'| {row["steps"]:,} | {row["wall_s"]:.1f} | {row["steps"] / row["wall_s"]:,.0f} |'
        )
    libraries = [library for library in ('xagents', 'sb3') if any(row['library'] == library for row in rows)]
    means = {}
    for library in libraries:
        mine = [row for row in rows if row['library'] == library]
        wall = [row['wall_s'] for row in mine]
        speed = [row['steps'] / row['wall_s'] for row in mine]
        means[library] = (np.mean(wall), np.mean(speed))
        lines.append(
            f'| **{library}** | mean | {sum(row["reached"] for row in mine)}/{len(mine)} | '
            f'{np.mean([row["steps"] for row in mine]):,.0f} | {np.mean(wall):.1f} ± {np.std(wall):.1f} | '
            f'{np.mean(speed):,.0f} |'
        )
    if len(means) == 2:
        lines += [
            '',
            f'Wall time xagents / SB3: **{means["xagents"][0] / means["sb3"][0]:.2f}**; '
            f'training steps/s xagents / SB3: **{means["xagents"][1] / means["sb3"][1]:.2f}x** '
            '(wall times include runs that stopped at the budget).',
        ]
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--tasks', nargs='+', choices=list(TASKS), default=list(TASKS))
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--no-peer', action='store_true', help='Run xagents only')
    parser.add_argument('--list', action='store_true', help='List the tasks and exit')
    parser.add_argument('--one', nargs=2, metavar=('TASK', 'LIBRARY'), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.list:
        for name, task in TASKS.items():
            peer = 'SB3 ' + task.peer.__name__.split('_')[1].upper() if task.peer else 'no peer'
            print(f'{name:15} {task.agent} on {task.env}, threshold {task.threshold:g}, {peer}')
        return
    if args.one:
        task = TASKS[args.one[0]]
        result = (run_xagents if args.one[1] == 'xagents' else run_peer)(task, args.seeds[0])
        print('RESULT ' + json.dumps(result, default=float))
        return
    machine = (
        f'{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}'
    )
    RESULTS.mkdir(exist_ok=True)
    for name in args.tasks:
        task = TASKS[name]
        libraries = ['xagents'] + (['sb3'] if task.peer and not args.no_peer else [])
        rows = []
        for seed in args.seeds:
            for library in libraries:
                output = subprocess.run(
                    [sys.executable, __file__, '--one', name, library, '--seeds', str(seed)],
                    capture_output=True,
                    text=True,
                    check=True,
                    env={**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2', 'CUDA_VISIBLE_DEVICES': '-1'},
                ).stdout
                row = json.loads(output.split('RESULT ', 1)[1]) | {'library': library, 'seed': seed}
                print(name, row, flush=True)
                rows.append(row)
        (RESULTS / f'{name}.json').write_text(json.dumps({'machine': machine, 'task': name, 'runs': rows}, indent=2))
        table = summarize(name, task, rows)
        (RESULTS / f'{name}.md').write_text(f'Machine: {machine}\n\n{table}\n')
        print(table, flush=True)


if __name__ == '__main__':
    main()
