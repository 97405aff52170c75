"""xagents vs Stable-Baselines3 / sb3-contrib on the same machine, in the same run.

Each task trains one xagents agent with its shipped per-env preset and, where one
exists, the matching Stable-Baselines3 (or sb3-contrib) agent with the RL Zoo
hyperparameters, for each seed, until the mean return of the last ``window`` training
episodes reaches the task's threshold or the step budget runs out; then both play
``EVAL_EPISODES`` greedy evaluation episodes. Throughput tasks (Atari Pong) train for a
fixed number of steps and measure steps/s next to the raw rate of the same vector env
stepped with random actions. Every run is a separate process so the libraries never
share threads or memory; peak memory is that process's maximum resident set.

Results go to ``--output`` (default ``benchmarks/results``): ``runs.json`` (every run,
appended as it finishes: an interrupted benchmark goes on where it stopped when started
again with the same output), ``results.csv`` and ``results.md`` (the tables), the
training histories in ``histories/`` (SB3's episodes in the xagents history format) and
the learning curves in ``curves/``, drawn by ``xagents plot``. The xagents run folders stay in
``agents/`` (not committed), for ``xagents play --run``.

    pip install -e .[bench]
    python benchmarks/compare.py                      # every task, seeds 0 1 2
    python benchmarks/compare.py --quick              # every task, seed 0
    python benchmarks/compare.py --tasks ppo-cartpole dqn-cartpole --seeds 0 1
    python benchmarks/compare.py --list
    python benchmarks/compare.py --tasks dqn-pong-gallery --no-peer   # a gallery task (hours; resumes)
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime
import importlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / 'results'
EVAL_EPISODES = 10
EVAL_SEED = 10_000  # evaluation envs are seeded EVAL_SEED + seed
RAW_ENV_STEPS = 2_000  # vector steps of random actions for the raw env rate
RESUMABLE_SAVE_INTERVAL = 300.0  # seconds between the latest checkpoints of a resumable task
ON_POLICY = ('a2c', 'acer', 'ppo', 'trpo')  # agents without a replay buffer to save


def linear(initial: float) -> Callable[[float], float]:
    return lambda progress: progress * initial


# ------------------------------------------------------------------ peers (RL Zoo settings)
def sb3_ppo_cartpole(envs, seed):
    from stable_baselines3 import PPO

    # RL Zoo anneals lr and clip linearly over 1e5 steps; xagents' preset over the task's budget.
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


def sb3_ppo_pendulum(envs, seed):
    from stable_baselines3 import PPO

    return PPO(
        'MlpPolicy',
        envs,
        n_steps=1024,
        gae_lambda=0.95,
        gamma=0.9,
        n_epochs=10,
        ent_coef=0.0,
        learning_rate=1e-3,
        clip_range=0.2,
        use_sde=True,
        sde_sample_freq=4,
        seed=seed,
        device='cpu',
    )


def sb3_ppo_lunarlander(envs, seed):
    from stable_baselines3 import PPO

    return PPO(
        'MlpPolicy',
        envs,
        n_steps=1024,
        batch_size=64,
        gae_lambda=0.98,
        gamma=0.999,
        n_epochs=4,
        ent_coef=0.01,
        seed=seed,
        device='cpu',
    )


def sb3_ppo_pong(envs, seed):
    from stable_baselines3 import PPO

    return PPO(
        'CnnPolicy',
        envs,
        n_steps=128,
        n_epochs=4,
        batch_size=256,
        learning_rate=linear(2.5e-4),
        clip_range=linear(0.1),
        vf_coef=0.5,
        ent_coef=0.01,
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


def sb3_dqn_lunarlander(envs, seed):
    from stable_baselines3 import DQN

    return DQN(
        'MlpPolicy',
        envs,
        learning_rate=6.3e-4,
        batch_size=128,
        buffer_size=50_000,
        learning_starts=0,
        gamma=0.99,
        target_update_interval=250,
        train_freq=4,
        gradient_steps=-1,
        exploration_fraction=0.12,
        exploration_final_eps=0.1,
        policy_kwargs=dict(net_arch=[256, 256]),
        seed=seed,
        device='cpu',
    )


def sb3_dqn_pong(envs, seed):
    from stable_baselines3 import DQN

    # RL Zoo's Atari settings, learning from step 1,000 (not 100,000) as the xagents run does, on
    # 4 envs with one gradient step per vector step: RL Zoo's 1 per 4 env steps, as xagents' preset.
    return DQN(
        'CnnPolicy',
        envs,
        learning_rate=1e-4,
        batch_size=32,
        buffer_size=100_000,
        learning_starts=1000,
        gamma=0.99,
        target_update_interval=1000,
        train_freq=1,
        gradient_steps=1,
        exploration_fraction=0.1,
        exploration_final_eps=0.01,
        optimize_memory_usage=False,
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


def sb3_sac_pendulum(envs, seed):
    from stable_baselines3 import SAC

    return SAC('MlpPolicy', envs, learning_rate=1e-3, seed=seed, device='cpu')


def sb3_sac_halfcheetah(envs, seed):
    from stable_baselines3 import SAC

    return SAC('MlpPolicy', envs, learning_starts=10_000, seed=seed, device='cpu')


def sb3_td3_halfcheetah(envs, seed):
    from stable_baselines3 import TD3
    from stable_baselines3.common.noise import NormalActionNoise

    actions = envs.action_space.shape[0]
    return TD3(
        'MlpPolicy',
        envs,
        learning_starts=10_000,
        action_noise=NormalActionNoise(np.zeros(actions), 0.1 * np.ones(actions)),
        seed=seed,
        device='cpu',
    )


def sb3_defaults(algorithm: str) -> Callable:
    """The peer with its library's defaults (beside an xagents run without presets)."""

    def make(envs, seed):
        import sb3_contrib
        import stable_baselines3

        library = sb3_contrib if algorithm == 'TRPO' else stable_baselines3
        return getattr(library, algorithm)('MlpPolicy', envs, seed=seed, device='cpu')

    make.__name__ = f'sb3_{algorithm.lower()}_defaults'
    return make


# ------------------------------------------------------------------------------ tasks
@dataclasses.dataclass
class Task:
    agent: str
    env: str
    threshold: float | None  # None: a throughput task
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
    # Longer than a session: the xagents run saves every few minutes (with its replay buffer) and a
    # later start of the benchmark resumes it from its run folder.
    resumable: bool = False
    # The threshold is on greedy evaluations of EVAL_EPISODES, run every this many steps (None: on the
    # mean of the last ``window`` training episodes).
    eval_interval: int | None = None
    # False: the agent's defaults alone (what a user's new task gets), beside the peer's defaults.
    presets: bool = True
    # A gallery task: the peer's published figure (no peer runs); the run's record, best checkpoint and
    # a gif of one greedy episode are kept in ``results/gallery/<task>`` (committed).
    gallery: str = ''
    name: str = ''  # the task's key in TASKS

    @property
    def throughput(self) -> bool:
        return self.threshold is None

    @property
    def peer_name(self) -> str:
        return 'SB3 ' + self.peer.__name__.split('_')[1].upper() if self.peer else ''


# RL Zoo's n_timesteps of the tasks below for each agent without a preset there (ACER on A2C's).
ACROBOT = dict(ppo=1_000_000, a2c=500_000, trpo=100_000, acer=500_000, dqn=100_000)
MOUNTAIN_CAR = dict(ppo=1_000_000, a2c=1_000_000, trpo=100_000, acer=1_000_000, dqn=120_000)
LUNAR_LANDER = dict(a2c=200_000, trpo=200_000, acer=200_000)  # PPO and DQN have presets
MOUNTAIN_CAR_CONTINUOUS = dict(ppo=20_000, a2c=100_000, trpo=50_000, ddpg=300_000, td3=300_000, sac=50_000)
LUNAR_LANDER_CONTINUOUS = dict(ppo=1_000_000, a2c=5_000_000, trpo=100_000, ddpg=300_000, td3=300_000, sac=500_000)
HOPPER = dict(ppo=1_000_000, a2c=1_000_000, trpo=1_000_000)  # MuJoCo: the on-policy agents (RL Zoo's 1M)
PONG = 'PongNoFrameskip-v4'
MUJOCO_START = dict(buffer_initial_size=10_000)  # RL Zoo's MuJoCo settings: 10,000 random steps first
CHEETAH = 'HalfCheetah-v5'
# RL Zoo's SAC settings for BipedalWalker-v3, without gSDE (xagents has none).
BIPEDAL_SAC = dict(
    lr=7.3e-4,
    buffer_max_size=300_000,
    buffer_batch_size=256,
    buffer_initial_size=10_000,
    gamma=0.98,
    tau=0.02,
    train_frequency=64,
    gradient_steps=64,
    net_arch=[400, 300],
)


def gallery_task(agent, env, threshold, budget, eval_interval, peer_figure, flags=None, window=10) -> Task:
    """A gallery task: resumable, stopped by greedy evaluations every ``eval_interval`` steps."""
    return Task(
        agent,
        env,
        threshold,
        budget,
        window=window,
        resumable=True,
        eval_interval=eval_interval,
        flags=flags or {},
        gallery=peer_figure,
    )


TASKS = {
    'ppo-cartpole': Task('ppo', 'CartPole-v1', 475, 300_000, sb3_ppo_cartpole, 8, peer_budget=100_000),
    'a2c-cartpole': Task('a2c', 'CartPole-v1', 475, 500_000, sb3_a2c_cartpole, 8),
    'trpo-cartpole': Task('trpo', 'CartPole-v1', 475, 100_000, sb3_trpo_cartpole, 2),
    'acer-cartpole': Task('acer', 'CartPole-v1', 475, 500_000),
    'dqn-cartpole': Task('dqn', 'CartPole-v1', 475, 300_000, sb3_dqn_cartpole, peer_budget=50_000),
    'ppo-pendulum': Task('ppo', 'Pendulum-v1', -400, 200_000, sb3_ppo_pendulum, 4, peer_budget=100_000),
    'td3-pendulum': Task('td3', 'Pendulum-v1', -200, 20_000, sb3_td3_pendulum, window=10),
    'ddpg-pendulum': Task('ddpg', 'Pendulum-v1', -200, 20_000, sb3_ddpg_pendulum, window=10),
    'trpo-pendulum': Task('trpo', 'Pendulum-v1', -200, 200_000, sb3_trpo_pendulum, 2, peer_budget=100_000),
    'a2c-pendulum': Task('a2c', 'Pendulum-v1', -400, 1_000_000, sb3_a2c_pendulum, 8, True),
    'ppo-lunarlander': Task('ppo', 'LunarLander-v3', 200, 1_000_000, sb3_ppo_lunarlander, 16),
    'dqn-lunarlander': Task('dqn', 'LunarLander-v3', 200, 200_000, sb3_dqn_lunarlander, peer_budget=100_000),
    'sac-pendulum': Task('sac', 'Pendulum-v1', -200, 20_000, sb3_sac_pendulum, window=10),
    'td3-halfcheetah': Task(
        'td3', CHEETAH, 4500, 300_000, sb3_td3_halfcheetah, window=10, resumable=True, eval_interval=10_000
    ),
    'sac-halfcheetah': Task(
        'sac', CHEETAH, 4500, 300_000, sb3_sac_halfcheetah, window=10, resumable=True, eval_interval=10_000
    ),
    'ppo-pong-learning': Task(
        'ppo', PONG, 18, 2_500_000, sb3_ppo_pong, 8, window=20, resumable=True, eval_interval=250_000
    ),
    'ppo-pong': Task('ppo', PONG, None, 30_000, sb3_ppo_pong, 8),
    # Without presets: each agent's defaults on a task, beside the peer's defaults, on one env each.
    **{
        f'{agent}-{env.split("-")[0].lower()}-defaults': Task(
            agent,
            env,
            threshold,
            budget,
            sb3_defaults(agent.upper()) if agent != 'acer' else None,
            window=window,
            presets=False,
        )
        for agent, env, threshold, budget, window in [
            ('ppo', 'CartPole-v1', 475, 200_000, 100),
            ('a2c', 'CartPole-v1', 475, 500_000, 100),
            ('trpo', 'CartPole-v1', 475, 200_000, 100),
            ('acer', 'CartPole-v1', 475, 500_000, 100),
            ('dqn', 'CartPole-v1', 475, 100_000, 100),
            ('ppo', 'Pendulum-v1', -400, 200_000, 100),
            ('td3', 'Pendulum-v1', -200, 50_000, 10),
            ('ddpg', 'Pendulum-v1', -200, 50_000, 10),
            ('sac', 'Pendulum-v1', -200, 50_000, 10),
            # Issue 33: the other classic-control and Box2D tasks each agent has no preset for, on RL
            # Zoo's budgets for them (n_timesteps; ACER, which RL Zoo lacks, on A2C's), gymnasium's
            # reward thresholds.
            *[(agent, 'Acrobot-v1', -100, budget, 100) for agent, budget in ACROBOT.items()],
            *[(agent, 'MountainCar-v0', -110, budget, 100) for agent, budget in MOUNTAIN_CAR.items()],
            *[(agent, 'LunarLander-v3', 200, budget, 100) for agent, budget in LUNAR_LANDER.items()],
            *[
                (agent, 'MountainCarContinuous-v0', 90, budget, 100)
                for agent, budget in MOUNTAIN_CAR_CONTINUOUS.items()
            ],
            *[
                (agent, 'LunarLanderContinuous-v3', 200, budget, 100)
                for agent, budget in LUNAR_LANDER_CONTINUOUS.items()
            ],
            *[(agent, 'Hopper-v5', 3800, budget, 100) for agent, budget in HOPPER.items()],
        ]
    },
    'dqn-pong': Task('dqn', PONG, None, 10_000, sb3_dqn_pong, 4, flags=dict(buffer_initial_size=1000)),
    # The original xagents' gallery, and MuJoCo: each stops at its first greedy evaluation (10 episodes)
    # at or above the threshold, and resumes from its run folder when started again.
    'sac-bipedalwalker-gallery': gallery_task(
        'sac', 'BipedalWalker-v3', 250, 500_000, 25_000, 'RL Zoo SAC: 298 at 500k steps (with gSDE)', BIPEDAL_SAC
    ),
    'td3-hopper-gallery': gallery_task(
        'td3', 'Hopper-v5', 2500, 300_000, 10_000, 'RL Zoo TD3 (Hopper-v3): 3,606 at 1M steps', MUJOCO_START
    ),
    'sac-hopper-gallery': gallery_task(
        'sac', 'Hopper-v5', 2000, 300_000, 10_000, 'RL Zoo SAC (Hopper-v3): 2,326 at 1M steps', MUJOCO_START
    ),
    # No threshold to stop at short of RL Zoo's 10M-step figure: the whole 2.5M-step budget.
    'ppo-breakout-gallery': gallery_task(
        'ppo', 'BreakoutNoFrameskip-v4', 398, 2_500_000, 250_000, 'RL Zoo PPO: 398 at 10M steps', window=20
    ),
    'dqn-pong-gallery': gallery_task(
        'dqn', PONG, 18, 2_500_000, 100_000, 'RL Zoo DQN: 20.6 at 10M steps', dict(double=True, dueling=True), 20
    ),
}
for _name, _task in TASKS.items():
    _task.name = _name


# ------------------------------------------------------------------------- one run
def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def history_rows(steps, rewards, lengths, times, window: int) -> dict[str, list]:
    """Episodes in the xagents history columns (so ``xagents plot`` draws SB3's curves too)."""
    means = [float(np.mean(rewards[max(0, i + 1 - window) : i + 1])) for i in range(len(rewards))]
    return {
        'episode': list(range(1, len(rewards) + 1)),
        'step': [int(step) for step in steps],
        'time': [float(t) for t in times],
        'episode_reward': [float(r) for r in rewards],
        'mean_reward': means,
        'best_reward': list(np.maximum.accumulate(means)) if means else [],
        'episode_length': [int(length) for length in lengths],
    }


def raw_env_rate(envs, actions: Callable[[], np.ndarray]) -> float:
    """Steps/s (all envs) of a vector env, already reset, stepped with random actions."""
    start = time.perf_counter()
    for _ in range(RAW_ENV_STEPS):
        envs.step(actions())
    return RAW_ENV_STEPS * envs.num_envs / (time.perf_counter() - start)


def evaluation_target(threshold: float):
    """A callback that stops training once a greedy evaluation's mean reaches ``threshold``."""
    from xagents.train.callbacks import Callback

    class Stop(Callback):
        def on_evaluation(self, trainer, summary):
            if summary['mean_reward'] >= threshold:
                trainer.stop('target', f'greedy evaluation mean {summary["mean_reward"]:,.1f} reached {threshold:g}')

    return Stop()


def run_xagents(task: Task, seed: int, history: Path) -> dict:
    from xagents import agents
    from xagents.core.config import preset_values
    from xagents.envs.recipe import create_envs
    from xagents.run.checkpoints import has_checkpoint

    presets = importlib.import_module(f'xagents.{task.agent}.config').PRESETS if task.presets else {}
    values = preset_values(presets.get(task.env, {}))  # the task's budget, not the preset's
    values.update(task.flags, reward_buffer_size=task.window)
    if task.resumable:
        values.update(
            save_interval=RESUMABLE_SAVE_INTERVAL, **({} if task.agent in ON_POLICY else {'save_buffer': True})
        )
    if task.eval_interval:
        values.update(eval_interval=task.eval_interval, eval_episodes=EVAL_EPISODES)
    n_envs = values.pop('n_envs', 1)
    # The run folder stays (not committed) for ``xagents play --run``; an unfinished one of a
    # resumable task is continued.
    folder = history.parent.parent / 'agents' / history.stem
    resume = task.resumable and has_checkpoint(folder / 'latest')
    if not resume:
        shutil.rmtree(folder, ignore_errors=True)
    agent = agents[task.agent].from_env(task.env, n_envs=n_envs, seed=seed, quiet=True, output_dir=folder, **values)
    earlier = {}
    if resume:
        agent.resume(folder)
        # Every step the run was resumed at, kept in its folder across the starts of the benchmark.
        resumes = folder / 'resumed-at.json'
        steps = [*(json.loads(resumes.read_text()) if resumes.is_file() else []), agent.steps]
        resumes.write_text(json.dumps(steps))
        earlier = {'resumed_at_steps': steps, 'wall_s_before': agent.run_folder.state.get('elapsed', 0.0)}
    start = time.perf_counter()
    if task.eval_interval:
        reason = agent.fit(max_steps=task.budget, callbacks=[evaluation_target(task.threshold)])
    else:
        reason = agent.fit(target_reward=task.threshold, max_steps=task.budget)
    if reason in ('terminated', 'interrupted'):  # saved: the next start of the benchmark resumes it
        sys.exit(f'{task.agent} on {task.env} stopped ({reason}) at step {agent.steps:,}: start again to resume')
    wall = time.perf_counter() - start + earlier.get('wall_s_before', 0.0)
    shutil.copy(folder / 'history.parquet', history)
    result = {'steps': agent.steps, 'wall_s': wall, 'reached': reason == 'target', 'final_mean': agent.mean_reward}
    result |= earlier
    if task.gallery:
        keep_gallery_run(task, folder, history.parent.parent / 'gallery' / task.name, seed)
        import pyarrow.parquet as pq

        evaluations = pq.read_table(folder / 'evaluations.parquet').to_pylist()
        result['evaluations'] = [
            {key: row[key] for key in ('step', 'mean_reward', 'std_reward')} for row in evaluations
        ]
        result['machine'] = cpu_name()
    if task.throughput:
        envs = create_envs(task.env, n_envs, preprocess=values.get('preprocess', False))
        envs.reset(seed=seed)
        result['raw_env_steps_per_s'] = raw_env_rate(envs, lambda: envs.action_space.sample())
    else:
        episodes = agent.play(EVAL_EPISODES, seed=EVAL_SEED + seed)
        result['eval_rewards'] = [episode['reward'] for episode in episodes]
    return result


def cpu_name() -> str:
    """The processor's model name and core count, as this machine's gallery runs record it."""
    names = [line.split(':', 1)[1].strip() for line in open('/proc/cpuinfo') if line.startswith('model name')]
    return f'{names[0] if names else platform.machine()}, {os.cpu_count()} cores'


def keep_gallery_run(task: Task, folder: Path, kept: Path, seed: int) -> None:
    """The run folder without its latest checkpoint and replay buffer (``xagents play --run`` plays it),
    and a gif of one greedy episode of its best checkpoint, in ``kept`` (``<output>/gallery/<task>``)."""
    shutil.rmtree(kept, ignore_errors=True)
    wanted = ('config.json', 'history.parquet', 'evaluations.parquet', 'models')
    shutil.copytree(
        folder,
        kept,
        ignore=lambda path, names: [
            name for name in names if Path(path) == folder and not (name in wanted or name.startswith('best'))
        ],
    )
    draw_gallery_gif(task, kept, seed)


# Greedy episodes played for the gallery gif, which shows the one of median return (a typical episode:
# neither the best nor the worst of a policy whose episodes differ), at about GIF_FPS frames a second of
# the env's time (MuJoCo renders 125: every frame of a 1,000-step Hopper episode made a gif of 16 MB).
GIF_EPISODES, GIF_FPS = 5, 20


def draw_gallery_gif(task: Task, kept: Path, seed: int) -> None:
    """The gif of ``kept``'s best checkpoint: of ``GIF_EPISODES`` greedy episodes (env seeds
    ``EVAL_SEED + seed`` on), the one of median return, in a process of its own."""
    command = [sys.executable, __file__, '--gif-of', task.name, str(kept), '--seeds', str(seed)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def gif_of_median_episode(task: Task, kept: Path, seed: int) -> None:
    import xagents
    from xagents.play.recording import video_fps

    agent = xagents.load(kept)
    seeds = [EVAL_SEED + seed + index for index in range(GIF_EPISODES)]
    rewards = [agent.play(1, seed=episode_seed)[0]['reward'] for episode_seed in seeds]
    median = seeds[int(np.argsort(rewards)[len(rewards) // 2])]
    every = max(1, round(video_fps(agent.envs, agent.env_recipe.preprocess) / GIF_FPS))
    episode = agent.play(1, seed=median, gif=str(kept / f'{task.name}.gif'), frame_frequency=every)[0]
    record = {'seeds': seeds, 'rewards': rewards, 'gif_seed': median, 'gif_reward': episode['reward']}
    record['frame_frequency'] = every
    (kept / 'gif.json').write_text(json.dumps(record, indent=1))


def peer_envs(env_id: str, n_envs: int, seed: int):
    """SB3's vector env of ``env_id``: for Pong, its Atari wrappers and a 4-frame stack."""
    from stable_baselines3.common.env_util import make_atari_env, make_vec_env
    from stable_baselines3.common.vec_env import VecFrameStack

    if env_id != PONG:
        return make_vec_env(env_id, n_envs=n_envs, seed=seed)
    from xagents.envs.atari import register_atari

    register_atari(env_id)
    return VecFrameStack(make_atari_env(env_id, n_envs=n_envs, seed=seed), 4)


def peer_training_envs(task: Task, seed: int):
    """The envs the task's SB3 agent trains on (normalized where RL Zoo normalizes)."""
    from stable_baselines3.common.vec_env import VecNormalize

    envs = peer_envs(task.env, task.peer_envs, seed)
    return VecNormalize(envs, gamma=0.9) if task.peer_normalize else envs


def positive_int(text: str) -> int:
    """An argparse type: a whole number above 0."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f'expected a whole number above 0, got {text!r}')
    return int(text)


def run_peer(task: Task, seed: int, history: Path) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.vec_env import VecNormalize

    episodes = {'steps': [], 'rewards': [], 'lengths': [], 'times': []}
    evaluations = []  # greedy means of the tasks stopped by an evaluation, as xagents' --eval-interval

    def reached() -> bool:
        if task.throughput:
            return False
        if task.eval_interval:
            return bool(evaluations) and evaluations[-1] >= task.threshold
        recent = episodes['rewards'][-task.window :]
        return len(recent) == task.window and np.mean(recent) >= task.threshold

    class Record(BaseCallback):
        """Keeps every finished episode (and runs the task's evaluations); stops at the threshold."""

        def _on_step(self) -> bool:
            for info in self.locals['infos']:
                if 'episode' in info:
                    episodes['steps'].append(self.num_timesteps)
                    episodes['rewards'].append(info['episode']['r'])
                    episodes['lengths'].append(info['episode']['l'])
                    episodes['times'].append(time.perf_counter() - start)
            if task.eval_interval and self.num_timesteps >= task.eval_interval * (len(evaluations) + 1):
                rewards, _ = evaluate_policy(self.model, evaluation, EVAL_EPISODES, deterministic=True)
                evaluations.append(float(rewards))
            return not reached()

    envs = peer_training_envs(task, seed)
    evaluation = None if task.throughput else peer_envs(task.env, 1, EVAL_SEED + seed)
    if task.peer_normalize and evaluation is not None:
        evaluation = VecNormalize(evaluation, training=False, norm_reward=False)
        evaluation.obs_rms = envs.obs_rms
    model = task.peer(envs, seed)
    start = time.perf_counter()
    model.learn(task.budget if task.throughput else task.peer_budget or task.budget, callback=Record())
    wall = time.perf_counter() - start
    rows = history_rows(episodes['steps'], episodes['rewards'], episodes['lengths'], episodes['times'], task.window)
    pq.write_table(pa.table(rows), history)
    recent = episodes['rewards'][-task.window :]
    result = {
        'steps': model.num_timesteps,
        'wall_s': wall,
        'reached': bool(reached()),
        'final_mean': float(np.mean(recent)) if recent else float('nan'),
    }
    if task.throughput:
        result['raw_env_steps_per_s'] = raw_env_rate(
            envs, lambda: np.array([envs.action_space.sample()] * envs.num_envs)
        )
        return result
    rewards, _ = evaluate_policy(model, evaluation, EVAL_EPISODES, deterministic=True, return_episode_rewards=True)
    result['eval_rewards'] = [float(reward) for reward in rewards]
    return result


# -------------------------------------------------------------------------- tables
def library_summary(task: Task, runs: list[dict]) -> dict:
    """Means over seeds of one library's runs of one task."""
    wall = [run['wall_s'] for run in runs]
    summary = {
        'seeds': len(runs),
        'wall_s': float(np.mean(wall)),
        'wall_std': float(np.std(wall)),
        'steps_per_s': float(np.mean([run['steps'] / run['wall_s'] for run in runs])),
        'peak_memory_mb': float(np.mean([run['peak_memory_mb'] for run in runs])),
        # Runs continued in a later session from their run folder.
        'resumed': sum(bool(resume_steps(run)) for run in runs),
    }
    if task.throughput:
        summary['raw_env_steps_per_s'] = float(np.mean([run['raw_env_steps_per_s'] for run in runs]))
        return summary
    eval_means = [float(np.mean(run['eval_rewards'])) for run in runs]
    reached = [run['steps'] for run in runs if run['reached']]
    summary |= {
        'reached': len(reached),
        'eval_mean': float(np.mean(eval_means)),
        'eval_std': float(np.std(eval_means)),
        'steps_to_threshold': float(np.mean(reached)) if reached else None,
        'final_training_means': [run['final_mean'] for run in runs if not run['reached']],
    }
    return summary


def summaries(runs: list[dict]) -> dict[str, dict[str, dict]]:
    result = {}
    for name, task in TASKS.items():
        for library in ('xagents', 'sb3'):
            mine = [run for run in runs if run['task'] == name and run['library'] == library]
            if mine:
                result.setdefault(name, {})[library] = library_summary(task, mine)
    return result


def reached_cell(task: Task, summary: dict) -> str:
    cell = f'{summary["reached"]}/{summary["seeds"]}'
    if summary.get('resumed'):
        cell += f' ({summary["resumed"]} resumed from its run folder)'
    if summary['final_training_means']:
        worst = min(summary['final_training_means'])
        cell += f' (missed by up to {task.threshold - worst:,.0f}: final mean {worst:,.0f})'
    return cell


def learning_table(results: dict) -> list[str]:
    lines = [
        '| task | library | reached (seeds) | steps to threshold | eval score | wall time (s) | steps/s '
        '| peak memory (MB) | wall time vs SB3 | steps/s vs SB3 |',
        '|---|---|---|---|---|---|---|---|---|---|',
    ]
    for name, libraries in results.items():
        task = TASKS[name]
        if task.throughput or task.gallery:
            continue
        for library, s in libraries.items():
            ratios = ['', '']
            if library == 'xagents' and 'sb3' in libraries:
                peer = libraries['sb3']
                ratios = [
                    f'**{s["wall_s"] / peer["wall_s"]:.2f}**',
                    f'**{s["steps_per_s"] / peer["steps_per_s"]:.2f}x**',
                ]
            steps = '-' if s['steps_to_threshold'] is None else f'{s["steps_to_threshold"]:,.0f}'
            label = f'{name} (≥ {task.threshold:g})' if library == 'xagents' else ''
            lines.append(
                f'| {label} | {"xagents" if library == "xagents" else task.peer_name} | {reached_cell(task, s)} '
                f'| {steps} | {s["eval_mean"]:,.1f} ± {s["eval_std"]:,.1f} | {s["wall_s"]:,.1f} ± {s["wall_std"]:,.1f} '
                f'| {s["steps_per_s"]:,.0f} | {s["peak_memory_mb"]:,.0f} | {ratios[0]} | {ratios[1]} |'
            )
    return lines


def throughput_table(results: dict) -> list[str]:
    lines = [
        '| task | library | training steps/s | raw vector env steps/s | training / raw | peak memory (MB) '
        '| steps/s vs SB3 |',
        '|---|---|---|---|---|---|---|',
    ]
    for name, libraries in results.items():
        task = TASKS[name]
        if not task.throughput:
            continue
        for library, s in libraries.items():
            ratio = ''
            if library == 'xagents' and 'sb3' in libraries:
                ratio = f'**{s["steps_per_s"] / libraries["sb3"]["steps_per_s"]:.2f}x**'
            lines.append(
                f'| {name if library == "xagents" else ""} | {"xagents" if library == "xagents" else task.peer_name} '
                f'| {s["steps_per_s"]:,.0f} | {s["raw_env_steps_per_s"]:,.0f} '
                f'| {s["steps_per_s"] / s["raw_env_steps_per_s"]:.2f} | {s["peak_memory_mb"]:,.0f} | {ratio} |'
            )
    return lines


def hours_minutes(seconds: float) -> str:
    return f'{seconds // 3600:.0f} h {seconds % 3600 // 60:02.0f} min'


def resume_steps(run: dict) -> list[int]:
    """The steps a run was resumed at (runs stored before 2026-12-07 kept the last one only)."""
    return run.get('resumed_at_steps', [run['resumed_at_step']] if 'resumed_at_step' in run else [])


def gallery_table(runs: list[dict]) -> list[str]:
    """The gallery's runs: the greedy evaluation it stopped at (or its last), wall time and machine."""
    lines = [
        '| task | agent | steps | greedy eval (10 episodes) | wall time | machine | resumed | peer (published) |',
        '|---|---|---|---|---|---|---|---|',
    ]
    for run in runs:
        task = TASKS.get(run['task'])
        if not task or not task.gallery:
            continue
        last = run['evaluations'][-1]
        verdict = f'≥ {task.threshold:g}' if run['reached'] else f'below {task.threshold:g}'
        steps = resume_steps(run)
        resumed = f'yes, at step{"s" * (len(steps) > 1)} {", ".join(f"{step:,}" for step in steps)}' if steps else 'no'
        lines.append(
            f'| {task.env} | {task.agent.upper()} | {run["steps"]:,} | {last["mean_reward"]:,.1f} '
            f'± {last["std_reward"]:,.1f} ({verdict}) | {hours_minutes(run["wall_s"])} | {run["machine"]} '
            f'| {resumed} | {task.gallery} |'
        )
    return lines


def write_tables(output: Path, meta: dict, runs: list[dict]) -> str:
    results = summaries(runs)
    with open(output / 'results.csv', 'w', newline='') as file:
        writer = csv.writer(file)
        keys = sorted({key for libraries in results.values() for s in libraries.values() for key in s})
        writer.writerow(['task', 'library', *keys])
        for name, libraries in results.items():
            for library, s in libraries.items():
                writer.writerow([name, library, *(s.get(key, '') for key in keys)])
    tables = [table for table in (learning_table(results), throughput_table(results)) if len(table) > 2]
    gallery = gallery_table(runs)
    if len(gallery) > 2:
        tables.append(gallery)
    text = '\n\n'.join([f'Machine: {meta["machine"]}. {meta["versions"]}.', *('\n'.join(table) for table in tables)])
    text += '\n'
    (output / 'results.md').write_text(text)
    return text


def plot_curves(output: Path, runs: list[dict]) -> None:
    """One learning-curve figure per task (mean ± std over seeds), by ``xagents plot``."""
    (output / 'curves').mkdir(exist_ok=True)
    for name, task in TASKS.items():
        mine = sorted(
            (run for run in runs if run['task'] == name and not task.throughput), key=lambda run: run['library']
        )
        if not mine:
            continue
        labels = ['xagents' if run['library'] == 'xagents' else task.peer_name for run in mine]
        subprocess.run(
            [sys.executable, '-m', 'xagents', 'plot', *(str(output / run['history']) for run in mine)]
            + ['--labels', *labels, '--env', f'{task.agent.upper()} on {task.env}']
            + ['--output', str(output / 'curves' / f'{name}.png')],
            check=True,
        )


# ------------------------------------------------------------------------------ main
def commit() -> str:
    """The xagents commit a run used, with ``+changes`` when the work tree differed from it."""
    root = Path(__file__).parent.parent
    git = lambda *args: subprocess.run(['git', *args], cwd=root, capture_output=True, text=True).stdout.strip()  # noqa: E731
    head = git('rev-parse', '--short', 'HEAD') or 'unknown'
    changed = git('status', '--porcelain', '--untracked-files=no', '--', 'xagents', 'benchmarks/compare.py')
    return head + ('+changes' if changed else '')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    gallery = [name for name, task in TASKS.items() if task.gallery]  # hours each: run when named
    parser.add_argument(
        '--tasks', nargs='+', choices=list(TASKS), default=[name for name in TASKS if name not in gallery]
    )
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--quick', action='store_true', help='One seed (0)')
    parser.add_argument('--no-peer', action='store_true', help='Run xagents only')
    parser.add_argument('--output', type=Path, default=RESULTS, help='Folder for the results (default: %(default)s)')
    parser.add_argument('--list', action='store_true', help='List the tasks and exit')
    parser.add_argument('--plot-only', action='store_true', help='Draw the curves of the runs stored, run nothing')
    parser.add_argument('--one', nargs=3, metavar=('TASK', 'LIBRARY', 'HISTORY'), help=argparse.SUPPRESS)
    parser.add_argument('--gif-of', nargs=2, metavar=('TASK', 'FOLDER'), help="Draw a gallery run's gif again")
    args = parser.parse_args()
    if args.list:
        for name, task in TASKS.items():
            goal = 'throughput' if task.throughput else f'threshold {task.threshold:g}'
            print(f'{name:24} {task.agent} on {task.env}, {goal}, {task.peer_name or "no peer"}')
        return
    if args.gif_of:
        if args.gif_of[0] not in gallery or not (Path(args.gif_of[1]) / 'config.json').is_file():
            parser.error(f'--gif-of takes a gallery task ({", ".join(gallery)}) and its run folder')
        gif_of_median_episode(TASKS[args.gif_of[0]], Path(args.gif_of[1]), args.seeds[0])
        return
    if args.one:
        task = TASKS[args.one[0]]
        result = (run_xagents if args.one[1] == 'xagents' else run_peer)(task, args.seeds[0], Path(args.one[2]))
        print('RESULT ' + json.dumps(result | {'peak_memory_mb': peak_memory_mb()}, default=float))
        return
    seeds = [0] if args.quick else args.seeds
    output = args.output
    if args.plot_only:
        plot_curves(output, json.loads((output / 'runs.json').read_text())['runs'])
        return
    (output / 'histories').mkdir(parents=True, exist_ok=True)
    import stable_baselines3
    import tensorflow as tf
    import torch

    meta = {
        'machine': f'{platform.processor() or platform.machine()}, {os.cpu_count()} cores, '
        f'Python {platform.python_version()}',
        'versions': f'TensorFlow {tf.__version__}, Stable-Baselines3 {stable_baselines3.__version__}, '
        f'PyTorch {torch.__version__}',
    }
    store = output / 'runs.json'
    runs = json.loads(store.read_text())['runs'] if store.is_file() else []
    for name in args.tasks:
        task = TASKS[name]
        libraries = ['xagents'] + (['sb3'] if task.peer and not args.no_peer else [])
        for seed in [0] if task.throughput else seeds:
            for library in libraries:
                if any(run['task'] == name and run['library'] == library and run['seed'] == seed for run in runs):
                    continue
                history = Path('histories') / f'{name}-{library}-seed{seed}.parquet'
                process = subprocess.run(
                    [sys.executable, __file__, '--one', name, library, str(output / history), '--seeds', str(seed)],
                    capture_output=True,
                    text=True,
                    env={**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2', 'CUDA_VISIBLE_DEVICES': '-1'},
                )
                if process.returncode:
                    sys.exit(f'{name} {library} seed {seed} failed:\n{process.stderr[-3000:]}')
                result = json.loads(process.stdout.split('RESULT ', 1)[1])
                run = {'task': name, 'library': library, 'seed': seed, 'history': str(history), **result}
                run['finished'] = datetime.datetime.now().isoformat(timespec='seconds')
                run['commit'] = commit()
                # Read again: another runner (a task of its own, the same output) may have added runs since.
                runs = json.loads(store.read_text())['runs'] if store.is_file() else []
                runs.append(run)
                store.write_text(json.dumps({**meta, 'runs': runs}, indent=1, default=float))
                print(name, library, seed, {key: run[key] for key in ('steps', 'wall_s', 'reached')}, flush=True)
    print(write_tables(output, meta, runs))
    plot_curves(output, runs)


if __name__ == '__main__':
    main()
