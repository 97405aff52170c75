"""Where the training time of one ``compare.py`` task goes, in xagents and in Stable-Baselines3.

Trains each library on the task for ``--steps`` steps (the xagents preset with the task's
flags; SB3 with its RL Zoo settings from ``compare.py``), each in its own process, and
times its main methods during the run. xagents: acting (``explore`` or ``rollout_step``),
the env steps (``step_envs``) and the updates (``update``). SB3: acting (``predict``, or
the policy call of an on-policy rollout, inside ``collect_rollouts``), the env steps
(``VecEnv.step``) and the updates (``train``). What is left is each loop's own
bookkeeping (buffers, callbacks, logging).

    python benchmarks/training_split.py --task dqn-lunarlander [--steps 20000] [--output FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from compare import TASKS, peer_training_envs, positive_int

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
os.environ.setdefault('CUDA_VISIBLE_DEVICES', '-1')


def timing(method, seconds: dict[str, float], part: str):
    """``method``, adding the seconds each call takes to ``seconds[part]``."""

    def timed(*args, **kwargs):
        start = time.perf_counter()
        result = method(*args, **kwargs)
        seconds[part] += time.perf_counter() - start
        return result

    return timed


def xagents_split(task, steps: int) -> dict:
    import importlib
    import tempfile
    from pathlib import Path

    from xagents import agents
    from xagents.core.config import preset_values

    values = preset_values(importlib.import_module(f'xagents.{task.agent}.config').PRESETS.get(task.env, {}))
    values.update(task.flags)
    acting = 'explore' if hasattr(agents[task.agent], 'explore') else 'rollout_step'
    # The update: on-policy agents' update of a rollout, off-policy agents' update from the replay.
    updating = 'update' if hasattr(agents[task.agent], 'update') else 'update_from_replay'
    seconds = dict.fromkeys((acting, 'step_envs', 'update'), 0.0)
    with tempfile.TemporaryDirectory() as folder:
        agent = agents[task.agent].from_env(task.env, seed=0, quiet=True, output_dir=Path(folder) / 'run', **values)
        for part, method in ((acting, acting), ('step_envs', 'step_envs'), ('update', updating)):
            setattr(agent, method, timing(getattr(agent, method), seconds, part))
        start = time.perf_counter()
        agent.fit(max_steps=steps)
        return {'steps': agent.steps, 'wall_s': time.perf_counter() - start, 'seconds': seconds}


def sb3_split(task, steps: int) -> dict:
    model = task.peer(peer_training_envs(task, 0), 0)
    seconds = dict.fromkeys(('predict', 'step', 'train'), 0.0)
    model.predict = timing(model.predict, seconds, 'predict')
    model.policy.forward = timing(model.policy.forward, seconds, 'predict')  # on-policy rollouts call the policy
    model.env.step = timing(model.env.step, seconds, 'step')
    model.train = timing(model.train, seconds, 'train')
    start = time.perf_counter()
    model.learn(steps)
    return {'steps': model.num_timesteps, 'wall_s': time.perf_counter() - start, 'seconds': seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--task', choices=[name for name, task in TASKS.items() if task.peer], required=True)
    parser.add_argument('--steps', type=positive_int, default=20_000)
    parser.add_argument('--output', default=None, help='JSON file for the two runs')
    parser.add_argument('--one', choices=['xagents', 'sb3'], help=argparse.SUPPRESS)
    args = parser.parse_args()
    task = TASKS[args.task]
    if args.one:
        print('RESULT ' + json.dumps((xagents_split if args.one == 'xagents' else sb3_split)(task, args.steps)))
        return
    results = {'task': args.task}
    for library in ('xagents', 'sb3'):
        process = subprocess.run(
            [sys.executable, __file__, '--task', args.task, '--steps', str(args.steps), '--one', library],
            capture_output=True,
            text=True,
        )
        if process.returncode:
            sys.exit(f'{library} failed:\n{process.stderr[-3000:]}')
        run = results[library] = json.loads(process.stdout.split('RESULT ', 1)[1])
        wall = run['wall_s']
        parts = ', '.join(f'{part} {time:.1f} s ({time / wall:.0%})' for part, time in run['seconds'].items())
        rest = wall - sum(run['seconds'].values())
        print(
            f'{library} {args.task}: {run["steps"]:,} steps in {wall:.1f} s ({run["steps"] / wall:,.0f} steps/s): '
            f'{parts}, the rest {rest:.1f} s ({rest / wall:.0%})'
        )
    if args.output:
        with open(args.output, 'w') as file:
            json.dump(results, file, indent=2)


if __name__ == '__main__':
    main()
