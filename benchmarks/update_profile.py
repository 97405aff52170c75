"""Op by op: where one off-policy update call spends its time, in xagents (TensorFlow's XLA) and SBX (JAX's).

Each library trains its agent with ``one_step.py``'s settings (the same networks, batch and env) in a process
of its own, then traces ``--calls`` training steps with its own profiler (``tf.profiler`` or
``jax.profiler``: both write XLA's XSpace protobuf). The traces are read here, in TensorFlow's process,
and each library's compiled update is summed by kind of op (dots, fusions, copies, ...) per training step,
beside the wall time of the step's update call. The kernels of the dots are where the arithmetic is:
what is neither they nor the other ops is the runtime's dispatch and waiting.

    python benchmarks/update_profile.py --agent sac --batch 32
    python benchmarks/update_profile.py --agent td3 --batch 256 --calls 200
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import one_step

# Events of the runtimes around the kernels (the calls, executors and waits), not kernels themselves.
RUNTIME = (
    'EagerExecute',
    'TFE_',
    'EagerLocal',
    'EagerKernel',
    '__inference',
    'CpuExecutable',
    'ThunkExecutor',
    'BlockUntil',
    'KernelAndDevice',
    'PjitFunction',
    'PjRt',
    'end:',
    'while.',  # a compiled loop (DQN's steps): its body's kernels are events of their own
)
KINDS = [
    ('dot', re.compile(r'^(MatMul|dot|.*_dot_|.*dot_fusion|gemm|custom-call)', re.I)),
    ('fusion', re.compile(r'fusion', re.I)),
    ('copy', re.compile(r'^copy', re.I)),
    ('input conversion', re.compile(r'^(tf\.constant|EagerCopyToDevice|_EagerConst|device_put)', re.I)),
]


def kind_of(name: str) -> str:
    return next((kind for kind, pattern in KINDS if pattern.search(name)), 'other ops')


def profile_xagents(agent_name: str, batch: int, calls: int, folder: Path) -> float:
    import tensorflow as tf

    import xagents

    settings = dict(buffer_batch_size=batch, buffer_initial_size=one_step.WARM_UP, buffer_max_size=100_000, seed=0)
    agent = xagents.agents[agent_name].from_env(
        one_step.ENVS[agent_name], train_frequency=1, gradient_steps=1, quiet=True, **settings
    )
    agent.reset_envs()
    agent.warm_up(lambda *_: None)
    for _ in range(one_step.COMPILE_STEPS):
        agent.iterate()
    update = agent.train_steps if hasattr(agent, 'train_steps') else agent._train
    batches, observations = agent.sample_batches(1), agent.observations
    call = (lambda: update()) if hasattr(agent, 'train_steps') else (lambda: update(batches, observations))
    start = time.perf_counter()
    for _ in range(calls):
        call()
    wall = (time.perf_counter() - start) / calls
    tf.profiler.experimental.start(str(folder))
    for _ in range(calls):
        call()
    tf.profiler.experimental.stop()
    return wall


def profile_sbx(agent_name: str, batch: int, calls: int, folder: Path) -> float:
    from stable_baselines3.common.env_util import make_vec_env

    algorithms = one_step.import_sbx()
    import jax

    envs = make_vec_env(one_step.ENVS[agent_name], n_envs=1, seed=0)
    model = one_step.peer_model(getattr(algorithms, agent_name.upper()), envs, agent_name, batch)
    model.learn(one_step.WARM_UP + one_step.COMPILE_STEPS)
    # SBX's train samples and then calls its jitted update: the update alone is its train less the sampling.
    sample = model.replay_buffer.sample
    sampled = []
    model.replay_buffer.sample = lambda *args, **kwargs: sampled.append(sample(*args, **kwargs)) or sampled[-1]
    model.train(gradient_steps=1, batch_size=batch)
    model.replay_buffer.sample = lambda *args, **kwargs: sampled[-1]
    start = time.perf_counter()
    for _ in range(calls):
        model.train(gradient_steps=1, batch_size=batch)
    wall = (time.perf_counter() - start) / calls
    jax.profiler.start_trace(str(folder))
    for _ in range(calls):
        model.train(gradient_steps=1, batch_size=batch)
    jax.profiler.stop_trace()
    return wall


def kernel_times(folder: Path, calls: int, names_shown: int = 0) -> dict[str, float]:
    """µs per call by kind of op, summed over every thread (the runtime's own events left out); the
    ``names_shown`` longest names printed."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    (path,) = sorted(folder.rglob('*.xplane.pb'))[-1:]
    space = xplane_pb2.XSpace()
    space.ParseFromString(path.read_bytes())
    totals, by_name = collections.Counter(), collections.Counter()
    for plane in space.planes:
        names = {key: value.name for key, value in plane.event_metadata.items()}
        for line in plane.lines:
            for event in line.events:
                name = names.get(event.metadata_id, '')
                if name and not name.startswith(RUNTIME) and not name.startswith(('$', 'train', 'Python')):
                    totals[kind_of(name)] += event.duration_ps / 1e6 / calls
                    by_name[(line.name, name)] += event.duration_ps / 1e6 / calls
    for (line, name), value in by_name.most_common(names_shown):
        print(f'  {value:8,.1f} µs  [{line[:20]}] {name[:100]}')
    return dict(totals)


def one(library: str, agent: str, batch: int, calls: int, names_shown: int = 0) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, __file__, '--one', library, '--agent', agent, '--batch', str(batch)]
        command += ['--calls', str(calls), '--folder', folder]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        wall = json.loads(output.strip().splitlines()[-1])['wall_us']
        return {'library': library, 'wall_us': wall, 'kernels_us': kernel_times(Path(folder), calls, names_shown)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--agent', default='sac', choices=['sac', 'td3', 'ddpg', 'dqn'])
    parser.add_argument('--batch', type=int, default=32)
    parser.add_argument('--calls', type=int, default=300)
    parser.add_argument('--libraries', nargs='+', default=['xagents', 'sbx'])
    parser.add_argument('--names', type=int, default=0, help='Print the events that take longest (a count)')
    parser.add_argument('--one', help=argparse.SUPPRESS)
    parser.add_argument('--folder', type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        profile = profile_xagents if args.one == 'xagents' else profile_sbx
        wall = profile(args.agent, args.batch, args.calls, args.folder)
        print(json.dumps({'wall_us': wall * 1e6}))
        return
    for library in args.libraries:
        result = one(library, args.agent, args.batch, args.calls, args.names)
        kernels = result['kernels_us']
        shown = ', '.join(f'{kind} {value:,.0f}' for kind, value in sorted(kernels.items(), key=lambda item: -item[1]))
        print(
            f'{library:8} {args.agent} batch {args.batch}: update call {result["wall_us"]:,.0f} µs; kernels summed '
            f'over threads {sum(kernels.values()):,.0f} µs ({shown})',
            flush=True,
        )


if __name__ == '__main__':
    main()
