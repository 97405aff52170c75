"""Where a Pong training step's time goes, in xagents and in Stable-Baselines3.

For PPO and DQN with their Pong settings (the xagents preset; SB3 with the RL Zoo
settings that ``compare.py`` uses), times the parts of one training iteration in each
library (medians of repeated calls):

- ``env_step``: one vector step (PPO 8 envs, DQN 4), with the library's own bookkeeping;
- ``act``: choosing the actions of one vector step (the CNN's forward pass on 8 or 4 frames);
  xagents' DQN also ``act_kept``: acting as in training, where the update's graph has already
  computed the greedy actions for those observations (only the exploration is left);
- ``update``: PPO: one update of a 1,024-transition rollout (4 epochs of 4 minibatches of
  256); DQN: one gradient step of 32, sampling included;
- ``forward`` / ``gradient``: the bare network on one update batch (256 for PPO, 32 for
  DQN): a forward pass, and a forward plus backward pass to the weight gradients.

From the first three it predicts training steps/s (PPO: 128 x (env + act) + update per
1,024 steps; DQN: env + act + update per 4 steps, xagents' act being ``act_kept``), to compare
with ``compare.py``'s measured rates. Each library runs in its own process, as in ``compare.py``,
and the two alternate for ``--rounds`` rounds: the speed of this kind of shared machine drifts
over minutes, so each round's ratio is printed as well as the medians.

Last, xagents trains as ``compare.py`` does (PPO 30,720 steps, DQN 10,000) with its main
methods timed (``training_split.py``): the share of the training time that acting, stepping
and updating take.

    python benchmarks/pong_profile.py [--rounds 3] [--output benchmarks/results/pong-profile.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

from compare import positive_int

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
os.environ.setdefault('CUDA_VISIBLE_DEVICES', '-1')

PONG = 'PongNoFrameskip-v4'
PPO_ENVS, PPO_STEPS, PPO_BATCH, PPO_EPOCHS = 8, 128, 256, 4
DQN_ENVS, DQN_BATCH = 4, 32


def timed_ms(function, calls: int, warmup: int = 3) -> float:
    """Median milliseconds per call over ``calls`` calls, after ``warmup`` calls."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2] * 1e3


def xagents_parts(calls: int) -> dict:
    import numpy as np
    import tensorflow as tf

    from xagents import DQN, PPO
    from xagents.core.config import preset_values
    from xagents.dqn.config import PRESETS as DQN_PRESETS
    from xagents.ppo.config import PRESETS as PPO_PRESETS

    def network(model, batch):
        observations = tf.constant(batch)
        forward = tf.function(lambda x: model(x, training=True))

        @tf.function
        def gradient(x):
            with tf.GradientTape() as tape:
                outputs = tf.nest.flatten(model(x, training=True))
                loss = tf.add_n([tf.reduce_sum(output) for output in outputs])
            return tape.gradient(loss, model.trainable_variables)

        # TensorFlow runs a function on the CPU synchronously: its outputs are computed when the call
        # returns, and are timed without copying them to NumPy (a copy of every gradient is no network cost).
        return {
            'forward': timed_ms(lambda: forward(observations), calls),
            'gradient': timed_ms(lambda: gradient(observations), calls),
        }

    results = {}
    agent = PPO.from_env(PONG, seed=0, quiet=True, **preset_values(PPO_PRESETS[PONG]))
    agent.reset_envs()
    observations = agent.observations
    actions = agent.rollout_step(observations)[0]
    rollout = agent.collect_rollout()
    frames = rollout['observations'].reshape(-1, *observations.shape[1:])[:PPO_BATCH]
    results['ppo'] = {
        'env_step': timed_ms(lambda: agent.step_envs(actions), calls * 10),
        'act': timed_ms(lambda: agent.rollout_step(observations), calls * 10),
        'update': timed_ms(lambda: agent.update(rollout), calls),
        **network(agent.model, frames),
    }
    agent.envs.close()

    values = dict(preset_values(DQN_PRESETS[PONG]), buffer_max_size=10_000, buffer_initial_size=1_000)
    agent = DQN.from_env(PONG, seed=0, quiet=True, **values)
    agent.reset_envs()
    agent.warm_up(lambda *_: None)
    observations = agent.observations
    actions = agent.explore(observations)
    frames = agent.sample()['observations']
    act = timed_ms(lambda: agent.explore(observations), calls * 10)
    # In training the update's graph also computes the greedy actions for the next acting step.
    agent.keep_greedy(observations, agent.train_steps()[1])
    results['dqn'] = {
        'env_step': timed_ms(lambda: agent.collect(actions), calls * 10),
        'act': act,
        'act_kept': timed_ms(lambda: agent.explore(observations), calls * 10),
        'update': timed_ms(agent.train_steps, calls * 10),
        'sample': timed_ms(lambda: agent.sample_batches(1), calls * 10),
        **network(agent.model, np.asarray(frames)),
    }
    return results


def sb3_parts(calls: int) -> dict:
    import numpy as np
    import torch
    from compare import peer_envs, sb3_dqn_pong, sb3_ppo_pong
    from stable_baselines3.common.utils import obs_as_tensor

    def network(policy, batch, actions):
        observations = obs_as_tensor(batch, policy.device)
        actions = None if actions is None else torch.as_tensor(actions)

        def forward():
            with torch.no_grad():
                return [t.numpy() for t in forward_outputs(policy, observations, actions)]

        def gradient():
            policy.zero_grad()
            loss = sum(t.sum() for t in forward_outputs(policy, observations, actions))
            loss.backward()
            return [p.grad.numpy() for p in policy.parameters() if p.grad is not None]

        return {'forward': timed_ms(forward, calls), 'gradient': timed_ms(gradient, calls)}

    def forward_outputs(policy, observations, actions):
        if hasattr(policy, 'q_net'):
            return [policy.q_net(observations)]
        return list(policy.evaluate_actions(observations, actions)[:2])

    results = {}
    envs = peer_envs(PONG, PPO_ENVS, 0)
    model = sb3_ppo_pong(envs, 0)
    model.learn(PPO_ENVS * PPO_STEPS)  # one rollout and one update: the buffer holds a rollout
    observations = model._last_obs
    actions = np.array([envs.action_space.sample() for _ in range(PPO_ENVS)])

    def act():
        with torch.no_grad():
            outputs = model.policy(obs_as_tensor(observations, model.device))
        return outputs[0].cpu().numpy()

    frames = model.rollout_buffer.observations.reshape(-1, *observations.shape[1:])[:PPO_BATCH]
    results['ppo'] = {
        'env_step': timed_ms(lambda: envs.step(actions), calls * 10),
        'act': timed_ms(act, calls * 10),
        'update': timed_ms(model.train, calls),
        **network(model.policy, frames, np.zeros(PPO_BATCH, dtype=np.int64)),
    }
    envs.close()

    envs = peer_envs(PONG, DQN_ENVS, 0)
    model = sb3_dqn_pong(envs, 0)
    model.learn(1_100)
    observations = model._last_obs
    actions = np.array([envs.action_space.sample() for _ in range(DQN_ENVS)])
    frames = model.replay_buffer.sample(DQN_BATCH).observations.numpy()
    results['dqn'] = {
        'env_step': timed_ms(lambda: envs.step(actions), calls * 10),
        'act': timed_ms(lambda: model.predict(observations), calls * 10),
        'update': timed_ms(lambda: model.train(gradient_steps=1, batch_size=DQN_BATCH), calls * 10),
        'sample': timed_ms(lambda: model.replay_buffer.sample(DQN_BATCH), calls * 10),
        **network(model.policy, frames, None),
    }
    return results


def training_parts(calls: int) -> dict:
    """xagents' training time by method in runs of ``compare.py``'s Pong tasks (``training_split.py``)."""
    from compare import TASKS
    from training_split import xagents_split

    return {agent: xagents_split(TASKS[f'{agent}-pong'], TASKS[f'{agent}-pong'].budget) for agent in ('ppo', 'dqn')}


def predicted_rate(parts: dict, agent: str) -> float:
    """Training steps/s from the parts' times."""
    if agent == 'ppo':
        return PPO_ENVS * PPO_STEPS / (PPO_STEPS * (parts['env_step'] + parts['act']) + parts['update']) * 1e3
    # xagents' update computes the next greedy actions (``act_kept``: acting then only adds exploration).
    return DQN_ENVS / (parts['env_step'] + parts.get('act_kept', parts['act']) + parts['update']) * 1e3


def bound_rate(parts: dict, agent: str) -> float:
    """Training steps/s if the networks cost only their bare compute (``forward`` and ``gradient``
    measured alone, acting scaled linearly from the update batch) and the env steps what they cost.

    PPO per rollout of 1,024: 128 env steps, 4 forwards of 256 (acting), 16 gradients of 256.
    DQN per vector step of 4: one env step, a forward of 4 (acting, 1/8 of the 32 one), a forward
    of 32 (the target network on the next observations) and a gradient of 32.
    """
    if agent == 'ppo':
        rollout = PPO_ENVS * PPO_STEPS
        network = rollout / PPO_BATCH * (parts['forward'] + PPO_EPOCHS * parts['gradient'])
        return rollout / (PPO_STEPS * parts['env_step'] + network) * 1e3
    network = parts['forward'] * (1 + DQN_ENVS / DQN_BATCH) + parts['gradient']
    return DQN_ENVS / (parts['env_step'] + network) * 1e3


def run_library(library: str, calls: int) -> dict:
    """One library's parts (or the xagents training runs), measured in a process of its own."""
    command = [sys.executable, __file__, '--one', library, '--calls', str(calls)]
    process = subprocess.run(command, capture_output=True, text=True)
    if process.returncode:
        sys.exit(f'{library} failed:\n{process.stderr[-3000:]}')
    return json.loads(process.stdout.split('RESULT ', 1)[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--calls', type=positive_int, default=20, help='Timed calls of an update (10x per-step parts)')
    parser.add_argument('--rounds', type=positive_int, default=3, help='Rounds of both libraries, one after the other')
    parser.add_argument('--output', default=None)
    parser.add_argument('--one', choices=['xagents', 'sb3', 'training'], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        measure = {'xagents': xagents_parts, 'sb3': sb3_parts, 'training': training_parts}[args.one]
        print('RESULT ' + json.dumps(measure(args.calls)))
        return
    import numpy as np

    libraries = ('xagents', 'sb3')
    rounds = [{library: run_library(library, args.calls) for library in libraries} for _ in range(args.rounds)]
    results = {
        'machine': f'{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}',
        'rounds': rounds,
    }
    for agent in ('ppo', 'dqn'):
        rounds_text = f'{args.rounds} round' + 's' * (args.rounds > 1)
        print(f'{agent.upper()} Pong, median of {rounds_text}, milliseconds: xagents, SB3, ratio (per round)')
        for part in [part for part in rounds[0]['xagents'][agent] if part in rounds[0]['sb3'][agent]]:
            ours, theirs = ([run[library][agent][part] for run in rounds] for library in libraries)
            per_round = ' '.join(f'{a / b:.2f}' for a, b in zip(ours, theirs))
            ours, theirs = np.median(ours), np.median(theirs)
            print(f'  {part:9} {ours:8.2f} {theirs:8.2f}  {ours / theirs:5.2f} ({per_round})')
        rates = [[predicted_rate(run[library][agent], agent) for library in libraries] for run in rounds]
        per_round = ' '.join(f'{ours / theirs:.2f}x' for ours, theirs in rates)
        print(f'  predicted training steps/s per round, xagents / SB3: {per_round}')
        results[f'{agent}_predicted_steps_per_s'] = rates
        bounds = [[bound_rate(run[library][agent], agent) for library in libraries] for run in rounds]
        for (ours, theirs), (our_bound, their_bound) in zip(rates, bounds):
            print(
                f'  compute bound: xagents {our_bound:.0f} steps/s (predicted {ours:.0f}, {ours / our_bound:.0%}), '
                f'SB3 {their_bound:.0f} (predicted {theirs:.0f}); 2x SB3 is {2 * theirs:.0f}'
                + (' (above the bound)' if 2 * theirs > our_bound else '')
            )
        results[f'{agent}_bound_steps_per_s'] = bounds
    results['training'] = run_library('training', args.calls)
    for agent, run in results['training'].items():
        shares = ', '.join(f'{part} {time:.1f} s ({time / run["wall_s"]:.0%})' for part, time in run['seconds'].items())
        print(f'xagents {agent.upper()} training, {run["steps"]:,} steps in {run["wall_s"]:.1f} s: {shares}')
    if args.output:
        with open(args.output, 'w') as file:
            json.dump(results, file, indent=2)


if __name__ == '__main__':
    main()
