"""XLA settings on the one-step off-policy path: each variant in a fresh process, alternating, 2 rounds.

Variants: TensorFlow's defaults; ``XLA_FLAGS=--xla_cpu_use_thunk_runtime=false`` (XLA's older CPU
runtime); ``XAGENTS_JIT=0`` (no XLA); and, with ``--base-tree``, another checkout of xagents (the
run of 2026-12-07 gave a2efad0, before DQN's fused Adam). Each runs ``one_step.py``'s xagents path
(batch 32 or 256, one env, 1,000 timed steps). A process's speed drifts on a shared machine, so
compare each variant's update call against its own env step + buffer add (which no variant
touches): the ratio cancels the drift.

    python benchmarks/xla_flags.py [--base-tree PATH] [--output benchmarks/results/xla-flags.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

CONFIGS = [('dqn', 32), ('td3', 32), ('sac', 32), ('sac', 256)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--base-tree', help='another xagents checkout, run as one more variant')
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--output', default='benchmarks/results/xla-flags.json')
    parser.add_argument('--variants', nargs='+', help='Run only these variants (default: all)')
    parser.add_argument('--configs', nargs='+', help='Only these agent-batch pairs, as sac-32 (default: all)')
    args = parser.parse_args()
    variants = {
        'default': {},
        'thunk-off': {'XLA_FLAGS': '--xla_cpu_use_thunk_runtime=false'},
        'no-xla': {'XAGENTS_JIT': '0'},
        # YNNPACK's kernels (XNNPACK's successor) for XLA's dots and the element-wise ops fused with them,
        # as JAX's XLA uses by default: TensorFlow 2.21's XLA has them behind an experimental flag.
        'ynn-dot': {'XLA_FLAGS': '--xla_cpu_experimental_ynn_fusion_type=individual_dot,dot'},
        'ynn-all': {'XLA_FLAGS': '--xla_cpu_experimental_ynn_fusion_type=individual_dot,dot,eltwise,reduce'},
        **({'base-tree': {'PYTHONPATH': args.base_tree}} if args.base_tree else {}),
    }
    variants = {name: value for name, value in variants.items() if not args.variants or name in args.variants}
    configs = [(agent, batch) for agent, batch in CONFIGS if not args.configs or f'{agent}-{batch}' in args.configs]
    one_step = str(Path(__file__).parent / 'one_step.py')
    results = {}
    for round_ in range(args.rounds):
        for agent, batch in configs:
            for name in list(variants) if round_ % 2 == 0 else list(variants)[::-1]:
                env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '3', **variants[name]}
                command = [sys.executable, one_step, '--one', agent, str(batch), '1', 'xagents', '--steps', '1000']
                output = subprocess.run(command, capture_output=True, text=True, env=env, check=True).stdout
                run = json.loads(output.strip().splitlines()[-1])
                parts = run['breakdown_us']
                run['update_per_env_step'] = parts['update call'] / parts['env step + buffer add']
                results.setdefault(f'{agent}-{batch}', {}).setdefault(name, []).append(run)
                print(
                    f'round {round_ + 1} {agent} {batch} {name}: {run["steps_per_second"]:.0f} steps/s, '
                    f'update / env step {run["update_per_env_step"]:.2f}',
                    flush=True,
                )
    Path(args.output).write_text(json.dumps(results, indent=1))


if __name__ == '__main__':
    main()
