"""Hindsight experience replay: xagents with and without ``--her`` beside SB3's ``HerReplayBuffer``.

Two sparse-reward goal tasks of the tests' ``tiny_envs``:

- ``bits``: ``BitFlip-v0`` with 15 bits (Andrychowicz et al. 2017): an action flips one bit, the reward is
  -1 until the bits match the goal (0, and the episode ends), 15 steps at most. DQN, one env, gamma
  0.98, lr 1e-3, batches of 256, 1,000 random steps first, one update per step, target copied every
  500 steps, epsilon from 1 to 0.02 over the first tenth, 256x256 ReLU networks, gradients clipped at 10.
- ``reach``: ``PointReach-v0`` made harder: move a point in 3 dimensions (an action in [-1, 1]^3 moves
  it by a tenth of it) to a goal within 0.05 in 50 steps, start and goal uniform in [-1, 1]^3 (reward
  -1 outside, 0 inside; success is being inside at the last step; 300 random-play episodes never
  entered the goal at any step). The 2-D default (radius 0.1, 20 steps, [-0.5, 0.5]) was too easy: SAC
  without HER solved it. gymnasium-robotics' FetchReach does not run with the installed mujoco 4.0.
  SAC, one env, gamma 0.95, lr 1e-3, tau 0.05, batches of 256, 1,000 random steps first, one update
  per step, 256x256 networks.

HER relabels 4 goals per real transition (``future``) in both libraries. Each run is a separate
process; it records the success (``info['is_success']`` at each episode's end) of every training
episode, then plays ``EVAL_EPISODES`` greedy episodes. Results go to ``benchmarks/results/her-<task>.json``,
``her.md`` (both tasks' tables, rewritten from the JSON files there) and the curves
``her-<task>.png``: the training success rate (last 100 episodes, 20 for ``reach``) against steps,
averaged over seeds (the band spans the seeds).

    python benchmarks/her.py --task bits --steps 30000 --seeds 0 1
    python benchmarks/her.py --task reach --steps 10000 --seeds 0 1

SB3 runs on one torch thread (two threads on a loaded 2-core machine spun for an hour). Each
invocation adds its runs to the task's JSON, so runs and seeds may be run apart, in parallel.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / 'results'
EVAL_EPISODES = 50
EVAL_SEED = 10_000
TASKS = {
    'bits': {
        'env': 'xagents.tests.tiny_envs:BitFlip-v0',
        'kwargs': {'n': 15},
        'agent': 'dqn',
        'xagents': dict(
            gamma=0.98, lr=1e-3, buffer_batch_size=256, buffer_initial_size=1000, train_frequency=1,
            target_sync_steps=500, exploration_fraction=0.1, epsilon_end=0.02,
        ),
        'sb3': dict(
            gamma=0.98, learning_rate=1e-3, batch_size=256, learning_starts=1000, train_freq=1,
            target_update_interval=500, exploration_fraction=0.1, exploration_final_eps=0.02,
            policy_kwargs=dict(net_arch=[256, 256]),
        ),
    },
    'reach': {
        'env': 'xagents.tests.tiny_envs:PointReach-v0',
        'kwargs': {'dims': 3, 'radius': 0.05, 'spread': 1.0, 'length': 50},
        'agent': 'sac',
        'window': 20,  # 200 episodes: the curve's rate is over the last 20 (1,000 steps), not 100
        'xagents': dict(gamma=0.95, lr=1e-3, tau=0.05, buffer_batch_size=256, buffer_initial_size=1000),
        'sb3': dict(gamma=0.95, learning_rate=1e-3, tau=0.05, batch_size=256, learning_starts=1000),
    },
}  # fmt: skip
RUNS = ('xagents + HER', 'xagents', 'SB3 + HER')


def evaluate(predict, task: dict, seed: int) -> list[float]:
    """Success (1 or 0) of ``EVAL_EPISODES`` greedy episodes of one env, played with ``predict``."""
    import gymnasium as gym

    import xagents.tests.tiny_envs  # noqa: F401  (registers the envs)

    env = gym.make(task['env'].split(':')[1], **task['kwargs'])
    successes = []
    for episode in range(EVAL_EPISODES):
        observation, _ = env.reset(seed=EVAL_SEED + 100 * seed + episode)
        done = False
        while not done:
            observation, _, terminated, truncated, info = env.step(predict(observation))
            done = terminated or truncated
        successes.append(float(info['is_success']))
    return successes


def run_xagents(task: dict, seed: int, steps: int, her: bool) -> dict:
    import pyarrow.parquet as pq

    import xagents

    with tempfile.TemporaryDirectory() as folder:
        agent = xagents.agents[task['agent']].from_env(
            task['env'], env_kwargs=task['kwargs'], seed=seed, her=her, output_dir=folder, quiet=True, **task['xagents']
        )
        start = time.perf_counter()
        agent.fit(max_steps=steps)
        seconds = time.perf_counter() - start
        history = pq.read_table(Path(folder) / 'history.parquet').to_pydict()

    def predict(observation):
        batch = {key: value[None] for key, value in observation.items()}
        return agent.predict(batch)[0]

    curve = {'steps': history['step'], 'success': history['success']}
    return {'seconds': seconds, 'curve': curve, 'eval': evaluate(predict, task, seed)}


def run_sb3(task: dict, seed: int, steps: int) -> dict:
    import gymnasium as gym
    import stable_baselines3
    import torch
    from stable_baselines3 import HerReplayBuffer
    from stable_baselines3.common.callbacks import BaseCallback

    import xagents.tests.tiny_envs  # noqa: F401

    # One thread, as in minigrid_doorkey.py: on 2 cores shared with other jobs PyTorch's threads spin,
    # and the earlier SB3 runs here had not finished after 50 minutes.
    torch.set_num_threads(1)

    class Successes(BaseCallback):
        def __init__(self):
            super().__init__()
            self.curve = {'steps': [], 'success': []}

        def _on_step(self) -> bool:
            for done, info in zip(self.locals['dones'], self.locals['infos']):
                if done:
                    self.curve['steps'].append(self.num_timesteps)
                    self.curve['success'].append(float(info['is_success']))
            return True

    env = gym.make(task['env'].split(':')[1], **task['kwargs'])
    algorithm = getattr(stable_baselines3, task['agent'].upper())
    her = dict(n_sampled_goal=4, goal_selection_strategy='future')
    model = algorithm(
        'MultiInputPolicy', env, replay_buffer_class=HerReplayBuffer, replay_buffer_kwargs=her, seed=seed,
        device='cpu', **task['sb3'],
    )  # fmt: skip
    callback = Successes()
    start = time.perf_counter()
    model.learn(total_timesteps=steps, callback=callback)
    seconds = time.perf_counter() - start
    successes = evaluate(lambda observation: model.predict(observation, deterministic=True)[0], task, seed)
    return {'seconds': seconds, 'curve': callback.curve, 'eval': successes}


def one_run(run: str, task: dict, seed: int, steps: int) -> dict:
    if run == 'SB3 + HER':
        return run_sb3(task, seed, steps)
    return run_xagents(task, seed, steps, her=run == 'xagents + HER')


def success_rate(curve: dict, grid: np.ndarray, window: int = 100) -> np.ndarray:
    """The success rate of the last ``window`` training episodes at each step of ``grid``."""
    steps, success = np.asarray(curve['steps']), np.asarray(curve['success'], float)
    rolling = np.array([success[max(0, index - window + 1) : index + 1].mean() for index in range(len(success))])
    ends = np.searchsorted(steps, grid, side='right') - 1
    return np.where(ends >= 0, rolling[np.maximum(ends, 0)], 0.0)


def plot(name: str, runs: list[dict], steps: int) -> None:
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    task = TASKS[name]
    window = task.get('window', 100)
    grid = np.linspace(0, steps, 200)
    figure, ax = plt.subplots(figsize=(7, 4))
    for label in [label for label in RUNS if any(run['run'] == label for run in runs)]:
        curves = np.stack([success_rate(run['curve'], grid, window) for run in runs if run['run'] == label])
        seeds = len(curves)
        (line,) = ax.plot(grid, curves.mean(0), label=f'{label} (n={seeds})')
        ax.fill_between(grid, curves.min(0), curves.max(0), color=line.get_color(), alpha=0.2)
    ax.set_title(f'{task["agent"].upper()} on {task["env"].split(":")[1]} {task["kwargs"] or ""}', fontsize=10)
    ax.set_xlabel('steps')
    ax.set_ylabel(f'training success rate (last {window} episodes)')
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend()
    figure.tight_layout()
    figure.savefig(RESULTS / f'her-{name}.png', dpi=100)


def table() -> list[str]:
    """The markdown of every task whose JSON results are in ``RESULTS``."""
    lines = [
        '# Hindsight experience replay',
        '',
        'Made by `benchmarks/her.py` (its docstring has the settings), with the commands below each',
        'task. Times are indicative: a 2-core machine shared with other jobs and these runs in parallel.',
        '',
    ]
    for name in TASKS:
        path = RESULTS / f'her-{name}.json'
        if not path.exists():
            continue
        stored = json.loads(path.read_text())
        runs, steps = stored['runs'], stored['steps']
        seeds = sorted({run['seed'] for run in runs})
        lines += [f'## {name}', '', *[f'    {command}' for command in stored['commands']], '']
        lines += [
            f'{steps:,} steps, seeds {seeds}. Greedy success over {EVAL_EPISODES} episodes per seed after training; '
            'training success of the last 100 episodes.',
            '',
            f'![success rate](her-{name}.png)',
            '',
            '| run | greedy success per seed | greedy mean | training success per seed | time per seed (s) |',
            '|---|---|---|---|---|',
        ]
        for label in RUNS:
            mine = [run for run in runs if run['run'] == label]
            if not mine:
                continue
            greedy = [np.mean(run['eval']) for run in mine]
            training = [np.mean(run['curve']['success'][-100:]) for run in mine]
            times = ', '.join(f'{run["seconds"]:.0f}' for run in mine)
            lines.append(
                f'| {label} | {", ".join(f"{value:.2f}" for value in greedy)} | {np.mean(greedy):.2f} | '
                f'{", ".join(f"{value:.2f}" for value in training)} | {times} |'
            )
        lines.append('')
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--task', choices=list(TASKS), default='bits')
    parser.add_argument('--steps', type=int, default=30_000)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    parser.add_argument('--runs', nargs='+', choices=RUNS, default=list(RUNS))
    parser.add_argument('--one', nargs=2, metavar=('RUN', 'SEED'), help=argparse.SUPPRESS)
    args = parser.parse_args()
    task = TASKS[args.task]
    if args.one:  # a child process: one run, its result as JSON on the last line
        print(json.dumps(one_run(args.one[0], task, int(args.one[1]), args.steps)))
        return
    RESULTS.mkdir(exist_ok=True)
    seeds = ' '.join(map(str, args.seeds))
    command = f'python benchmarks/her.py --task {args.task} --steps {args.steps} --seeds {seeds}'
    if args.runs != list(RUNS):
        command += ' --runs ' + ' '.join(f"'{run}'" for run in args.runs)
    runs = []
    for seed in args.seeds:
        for run in args.runs:
            child = [sys.executable, __file__, '--task', args.task, '--steps', str(args.steps), '--one', run, str(seed)]
            output = subprocess.run(child, capture_output=True, text=True, check=True).stdout
            result = json.loads(output.strip().splitlines()[-1])
            runs.append({'run': run, 'seed': seed, **result})
            last = np.mean(result['curve']['success'][-100:])
            print(f'{run}, seed {seed}: greedy {np.mean(result["eval"]):.2f}, training {last:.2f}, '
                  f'{result["seconds"]:.0f} s', flush=True)  # fmt: skip
            store(args.task, args.steps, command, runs[-1:])
    print('\n'.join(table()))


def store(name: str, steps: int, command: str, runs: list[dict]) -> None:
    """Add ``runs`` to the task's JSON (replacing the same run and seed; several invocations, one at a
    time by a lock, may add to it), then redraw its curve and rewrite ``her.md``."""
    path = RESULTS / f'her-{name}.json'
    with open(Path(tempfile.gettempdir()) / 'xagents-her-benchmark.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stored = json.loads(path.read_text()) if path.exists() else {'steps': steps, 'runs': []}
        if stored['steps'] != steps:
            stored = {'steps': steps, 'runs': []}
        commands = stored.pop('commands', [stored.pop('command')] if 'command' in stored else [])
        stored['commands'] = commands + [command] * (command not in commands)
        new = {(run['run'], run['seed']) for run in runs}
        kept = [run for run in stored['runs'] if (run['run'], run['seed']) not in new]
        stored['runs'] = sorted(kept + runs, key=lambda run: (run['seed'], RUNS.index(run['run'])))
        path.write_text(json.dumps(stored))
        plot(name, stored['runs'], steps)
        (RESULTS / 'her.md').write_text('\n'.join(table()) + '\n')


if __name__ == '__main__':
    main()
