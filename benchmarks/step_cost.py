"""Where a PPO rollout step's time goes: acting in NumPy, acting by a compiled TensorFlow call, the env step.

Measures, for PPO with its CartPole-v1 preset (8 envs), one ``rollout_step`` (actions,
log-probabilities and values for every env) with host inference (the default: the
dense model in NumPy) and without it (``--no-host-inference``: a ``tf.function`` call
plus the host transfers), and one vector-env step.

    python benchmarks/step_cost.py [--calls 3000] [--output benchmarks/results/step-cost.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')


def timed(function, calls: int) -> float:
    """Mean microseconds per call, after 100 warm-up calls."""
    for _ in range(min(100, calls)):
        function()
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - start) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--calls', type=int, default=3000)
    parser.add_argument('--output', default=None)
    args = parser.parse_args()
    import numpy as np

    from xagents import PPO
    from xagents.core.config import preset_values
    from xagents.ppo.config import PRESETS

    agent = PPO.from_env('CartPole-v1', quiet=True, seed=0, **preset_values(PRESETS['CartPole-v1']))
    observations = agent.envs.reset(seed=0)[0].astype(np.float32)
    actions = np.zeros(agent.n_envs, dtype=np.int64)
    results = {
        'n_envs': agent.n_envs,
        'host_rollout_step_us': timed(lambda: agent.rollout_step(observations), args.calls),
    }
    agent.config.host_inference = False
    agent.hosts.clear()
    results['tf_function_rollout_step_us'] = timed(lambda: agent.rollout_step(observations), args.calls)
    results['env_step_us'] = timed(lambda: agent.envs.step(actions), args.calls)
    results['machine'] = f'{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}'
    print(
        f'PPO CartPole-v1 preset, {agent.n_envs} envs, per vector step: acting in NumPy '
        f'{results["host_rollout_step_us"]:.0f} us, by the compiled TensorFlow call '
        f'{results["tf_function_rollout_step_us"]:.0f} us, environment step {results["env_step_us"]:.0f} us'
    )
    if args.output:
        with open(args.output, 'w') as file:
            json.dump(results, file, indent=2)


if __name__ == '__main__':
    main()
