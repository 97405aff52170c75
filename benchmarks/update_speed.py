"""The update alone, SAC and TD3 at SB3's defaults: xagents' compiled update beside SBX's (SB3 on JAX).

Pendulum-v1, one env, batch 256, one gradient step per call, the same networks on both sides (SAC
256x256, TD3 400x300, two critics), 1,000 warm-up transitions. Each measurement is a fresh process
that fills the buffer, calls the update ``--warm`` times (tracing and compiling), then times
``--calls`` calls in five chunks and keeps the median chunk: microseconds per call, sampling the
batch included on both sides (xagents' ``update_from_replay``, SBX's ``train(1, 256)``). The
variants alternate round by round, so a machine that slows down weighs on all of them alike.

A variant is a library and the environment its process runs with (``NAME=library[,KEY=VALUE]...``):
``PYTHONPATH`` picks an xagents tree (a baseline next to a change), ``XLA_FLAGS``, ``TF_XLA_FLAGS``,
``XAGENTS_INTRA_OP`` (TensorFlow's intra-op threads) or ``XAGENTS_JIT=0`` (no XLA) a setting. SBX runs on
JAX's CPU backend (``JAX_PLATFORMS=cpu``) with JAX's own thread settings (one_step.py's ``import_sbx``).

    python benchmarks/update_speed.py --agents sac td3 --rounds 4 \\
        --variant xagents=xagents --variant sbx=sbx [--output benchmarks/results/update-speed]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
WARM_UP, BATCH = 1000, 256  # one_step.py's warm-up; SB3's batch


def chunked(call, calls: int, chunks: int = 5) -> tuple[float, float]:
    """Microseconds per ``call()``, wall and CPU (the process's threads together): the medians of ``chunks``
    chunks of ``calls // chunks`` calls. CPU time says less about a busy machine's queueing than wall time."""
    size = max(1, calls // chunks)
    wall, cpu = [], []
    for _ in range(chunks):
        start, start_cpu = time.perf_counter(), time.process_time()
        for _ in range(size):
            call()
        wall.append((time.perf_counter() - start) / size * 1e6)
        cpu.append((time.process_time() - start_cpu) / size * 1e6)
    return statistics.median(wall), statistics.median(cpu)


def run_xagents(agent_name: str, warm: int, calls: int) -> tuple[float, float]:
    intra = int(os.environ.get('XAGENTS_INTRA_OP', '0'))
    import tensorflow as tf

    if intra:
        tf.config.threading.set_intra_op_parallelism_threads(intra)
    import xagents

    jit = os.environ.get('XAGENTS_JIT', '1') == '1'
    settings = dict(
        jit_compile=jit, buffer_batch_size=BATCH, buffer_initial_size=WARM_UP, buffer_max_size=100_000, seed=0
    )
    agent = xagents.agents[agent_name].from_env(
        'Pendulum-v1', train_frequency=1, gradient_steps=1, quiet=True, **settings
    )
    agent.reset_envs()
    agent.warm_up(lambda *_: None)
    for _ in range(warm):
        agent.update_from_replay()
    return chunked(agent.update_from_replay, calls)


def run_sbx(agent_name: str, warm: int, calls: int) -> tuple[float, float]:
    from one_step import import_sbx, peer_model

    model = peer_model(getattr(import_sbx(), agent_name.upper()), 'Pendulum-v1', agent_name, BATCH)
    model.learn(WARM_UP + warm)
    return chunked(lambda: model.train(gradient_steps=1, batch_size=BATCH), calls)


def one(library: str, environment: dict, agent: str, warm: int, calls: int) -> list[float]:
    """One measurement in a fresh process with ``environment`` added to this one's."""
    command = [sys.executable, __file__, '--one', library, agent, '--warm', str(warm), '--calls', str(calls)]
    env = {**os.environ, **environment}
    output = subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout
    return json.loads(output.strip().splitlines()[-1])


def parse_variant(text: str) -> tuple[str, str, dict]:
    """``NAME=library[,KEY=VALUE]...`` -> (name, library, environment)."""
    name, _, rest = text.partition('=')
    library, *pairs = rest.split(',')
    if library not in ('xagents', 'sbx'):
        raise SystemExit(f'variant {text!r}: the library is xagents or sbx')
    return name, library, dict(pair.split('=', 1) for pair in pairs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--agents', nargs='+', default=['sac', 'td3'], choices=['sac', 'td3'])
    parser.add_argument('--variant', action='append', help='NAME=library[,KEY=VALUE]... (repeatable)')
    parser.add_argument('--rounds', type=int, default=4)
    parser.add_argument('--warm', type=int, default=300, help='untimed calls first (tracing, compiling)')
    parser.add_argument('--calls', type=int, default=500, help='timed calls per measurement')
    parser.add_argument('--output', help='write OUTPUT.json and OUTPUT.md')
    parser.add_argument('--one', nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        sys.path.insert(0, str(Path(__file__).parent))
        library, agent = args.one
        print(json.dumps((run_xagents if library == 'xagents' else run_sbx)(agent, args.warm, args.calls)))
        return
    variants = [parse_variant(text) for text in args.variant or ['xagents=xagents', 'sbx=sbx']]
    measured = {agent: {name: [] for name, _, _ in variants} for agent in args.agents}
    cpu = {agent: {name: [] for name, _, _ in variants} for agent in args.agents}
    for round_index in range(args.rounds):
        for agent in args.agents:
            for name, library, environment in variants:
                wall, cpu_time = one(library, environment, agent, args.warm, args.calls)
                measured[agent][name].append(wall)
                cpu[agent][name].append(cpu_time)
                print(f'round {round_index + 1} {agent} {name}: {wall:.0f} µs a call ({cpu_time:.0f} CPU)', flush=True)
    first = variants[0][0]
    lines = [
        f'| agent | variant | µs a call (each round) | median | {first} / variant (each round) | CPU µs (median) |',
        '|---|---|---|---|---|---|',
    ]
    for agent, by_name in measured.items():
        for name, values in by_name.items():
            ratios = [base / value for base, value in zip(by_name[first], values)]
            lines.append(
                f'| {agent} | {name} | {" ".join(f"{v:.0f}" for v in values)} | {statistics.median(values):.0f} '
                f'| {" ".join(f"{r:.2f}" for r in ratios)} (median {statistics.median(ratios):.2f}) '
                f'| {statistics.median(cpu[agent][name]):.0f} |'
            )
    print('\n'.join(lines))
    if args.output:
        output = Path(args.output)
        output.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            'machine': f'{platform.processor() or platform.machine()}, {os.cpu_count()} cores',
            'command': ' '.join(sys.argv),
            'variants': {name: {'library': library, 'environment': env} for name, library, env in variants},
            'warm': args.warm,
            'calls': args.calls,
        }
        results = {'meta': meta, 'us_per_call': measured, 'cpu_us_per_call': cpu}
        output.with_suffix('.json').write_text(json.dumps(results, indent=2))
        output.with_suffix('.md').write_text('\n'.join(lines) + '\n')


if __name__ == '__main__':
    main()
