"""Where DQN's Pong update goes: the update's parts timed by ablation, in one process.

DQN with its PongNoFrameskip-v4 preset (4 envs, batch 32, Nature CNN, uint8 frames stacked
at sampling; a 10k buffer with 1k transitions, as ``pong_profile.py``). Each variant is the
compiled update with one part replaced, traced afresh, called on the same sampled batch:

- ``update``: ``agent.train_steps()``, sampling included (``pong_profile.py``'s ``update``);
- ``sample``: ``agent.sample_batches(1)`` alone;
- ``compiled``: the compiled call alone (``_train_batches`` on a batch sampled once);
- ``no_loop``: the same step and greedy actions without the compiled loop over gradient steps;
- ``no_greedy``: without the greedy actions for the 4 current observations;
- ``no_target``: without the target network's forward pass (targets from zeros);
- ``keras_adam``: Keras 3's own Adam apply (a dozen element-wise ops per variable) instead of
  ``xagents.nets.fused_adam`` (one ``ResourceApplyAdam`` per variable);
- ``xla_adam``: Keras 3's Adam apply compiled alone with XLA;
- ``sgd_apply``: the optimizer's apply replaced by one plain-SGD op per variable (a floor);
- ``no_clip``: without the global-norm clipping;
- ``forward`` / ``gradient``: ``pong_profile.py``'s bare network on the batch (32);
- ``cast``: the two uint8 batches scaled to float32 alone.

The variants alternate call by call in ``--rounds`` rounds (medians of ``--calls`` calls each),
so a machine whose speed drifts weighs on all alike; each round's ratio to ``compiled`` is printed,
in wall time and in process CPU time (steadier where other processes share the cores).
``--intra``/``--inter`` set TensorFlow's threads before its first op.

    python benchmarks/dqn_pong_update.py [--rounds 5] [--calls 20] [--intra 0] [--inter 0]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
os.environ.setdefault('CUDA_VISIBLE_DEVICES', '-1')

PONG = 'PongNoFrameskip-v4'


def make_agent():
    from xagents import DQN
    from xagents.core.config import preset_values
    from xagents.dqn.config import PRESETS

    values = dict(preset_values(PRESETS[PONG]), buffer_max_size=10_000, buffer_initial_size=1_000)
    agent = DQN.from_env(PONG, seed=0, quiet=True, **values)
    agent.reset_envs()
    agent.warm_up(lambda *_: None)
    return agent


def variants(agent) -> dict:
    """Each variant's call: the compiled update with one part changed (traced on first call)."""
    import numpy as np
    import tensorflow as tf

    from xagents.nets.compiled import ConcreteCalls

    try:
        from xagents.nets import fused_adam
        from xagents.nets.fused_adam import handle
    except ImportError:  # xagents before the fused Adam: its compiled update alone is compared
        fused_adam = None

    batch = agent.sample_batches(1)
    observations = agent.observations
    online = agent.model
    actions = agent.action_space.n

    def compiled_with(*changes):
        """``_train_batches`` traced with attributes of the agent (or its optimizer) replaced."""
        function = ConcreteCalls(agent.train_batches)
        saved = {}

        def call():
            for owner, name, value in changes:
                saved[id(owner), name] = owner, getattr(owner, name)
                object.__setattr__(owner, name, value)
            try:
                return function(batch, observations)
            finally:
                for (_, name), (owner, value) in saved.items():
                    object.__setattr__(owner, name, value)

        return lambda: [t.numpy() for t in tf.nest.flatten(call())]

    def zeros_model(x, training=False):
        return tf.zeros([tf.shape(x)[0], actions])

    def sgd_apply(optimizer, gradients, variables):
        for gradient, variable in zip(gradients, variables):
            tf.raw_ops.ResourceApplyGradientDescent(var=handle(variable), alpha=tf.constant(0.0), delta=gradient)

    def keras_adam(optimizer, gradients, variables):
        optimizer.apply_gradients(zip(gradients, variables))

    optimizer = online.optimizer
    xla = tf.function(lambda gradients: optimizer.apply(gradients, online.trainable_variables), jit_compile=True)
    forward = tf.function(lambda x: online(x, training=True))

    @tf.function
    def gradient(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(online(x, training=True))
        return tape.gradient(loss, online.trainable_variables)

    @tf.function
    def cast(x, y):
        return tf.cast(x, tf.float32) / 255, tf.cast(y, tf.float32) / 255

    def one_step(step_batch, observations):
        losses, _ = agent.gradient_step(**step_batch)
        return losses, agent.greedy_actions(observations)

    single = ConcreteCalls(one_step)
    first = {name: values[0] for name, values in batch.items()}
    frames = tf.constant(batch['observations'][0])
    next_frames = tf.constant(batch['next_observations'][0])
    clip = agent.config.grad_norm
    return {
        'update': agent.train_steps,
        'sample': lambda: agent.sample_batches(1),
        'compiled': compiled_with(),
        'no_loop': lambda: [t.numpy() for t in tf.nest.flatten(single(first, observations))],
        'no_greedy': compiled_with((agent, 'greedy_actions', lambda o: tf.zeros([tf.shape(o)[0]], tf.int32))),
        'no_target': compiled_with((agent, 'target_model', zeros_model)),
        **(
            {
                'keras_adam': compiled_with((fused_adam, 'apply_gradients', keras_adam)),
                'xla_adam': compiled_with((fused_adam, 'apply_gradients', lambda optimizer, grads, _: xla(grads))),
                'sgd_apply': compiled_with((fused_adam, 'apply_gradients', sgd_apply)),
            }
            if fused_adam
            else {}
        ),
        'no_clip': compiled_with((agent.config, 'grad_norm', None)) if clip else None,
        'forward': lambda: forward(frames).numpy(),
        'gradient': lambda: [t.numpy() for t in gradient(frames)],
        'cast': lambda: [np.asarray(t) for t in cast(frames, next_frames)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--calls', type=int, default=20)
    parser.add_argument('--intra', type=int, default=0, help="Intra-op threads (0: TensorFlow's default)")
    parser.add_argument('--inter', type=int, default=0, help="Inter-op threads (0: TensorFlow's default)")
    parser.add_argument('--only', nargs='*', help='Variants to time (default: all)')
    args = parser.parse_args()
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.intra)
    tf.config.threading.set_inter_op_parallelism_threads(args.inter)
    agent = make_agent()
    calls = {name: call for name, call in variants(agent).items() if call and (not args.only or name in args.only)}
    for call in calls.values():  # traces, then warms up
        for _ in range(3):
            call()
    clocks = {'wall': time.perf_counter, 'cpu': time.process_time}
    times = {(clock, name): [] for clock in clocks for name in calls}
    for _ in range(args.rounds):
        runs = {key: [] for key in times}
        for _ in range(args.calls):
            for name, call in calls.items():
                starts = {clock: read() for clock, read in clocks.items()}
                call()
                for clock, read in clocks.items():
                    runs[clock, name].append(read() - starts[clock])
        for key, run in runs.items():
            times[key].append(np.median(run) * 1e3)
    print(f'threads intra {args.intra} inter {args.inter}; median ms per call by round (ratio to compiled)')
    for clock in clocks:
        print(f' {clock} time')
        base = times.get((clock, 'compiled'))
        for name in calls:
            values = times[clock, name]
            ratios = '' if base is None else ' (' + ' '.join(f'{v / b:.2f}' for v, b in zip(values, base)) + ')'
            print(f'  {name:10} {np.median(values):7.2f}  ' + ' '.join(f'{v:.2f}' for v in values) + ratios)


if __name__ == '__main__':
    main()
