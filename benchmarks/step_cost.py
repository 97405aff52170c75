"""Where a PPO rollout step's time goes: the compiled policy call against the environment step.

Measures, for PPO with its CartPole-v1 preset (8 envs), the time of one ``rollout_step`` (the
``tf.function`` policy call plus the host transfers), one vector-env step, and the same policy
computed in NumPy from the model's weights (checked to give the same logits and values). The
NumPy figure is the headroom for host-side inference of small models.

    python benchmarks/step_cost.py [--calls 3000] [--output benchmarks/results/step-cost.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')


def mlp_tower(inputs, layers):
    """Apply Dense layers, given as (kernel, bias, activation name) NumPy triples."""
    import numpy as np

    x = inputs
    for kernel, bias, activation in layers:
        x = x @ kernel + bias
        if activation == 'tanh':
            x = np.tanh(x)
        elif activation == 'relu':
            x = np.maximum(x, 0)
    return x


def towers(model):
    """Each output's Dense layers as NumPy triples, for a model whose outputs are Dense towers on the
    input; the weights are read once, as a rollout would after each update."""
    result = []
    for output in model.outputs:
        chain, node = [], output._keras_history.operation
        while hasattr(node, 'kernel'):
            chain.append((node.kernel.numpy(), node.bias.numpy(), node.activation.__name__))
            parents = node._inbound_nodes[0].input_tensors
            node = parents[0]._keras_history.operation
        result.append(chain[::-1])
    return result


def timed(function, calls: int) -> float:
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
    from xagents.ppo.cli import PRESETS

    preset = PRESETS['CartPole-v1']
    agent = PPO.from_env('CartPole-v1', quiet=True, seed=0, **preset)
    observations = agent.envs.reset(seed=0)[0].astype(np.float32)
    policy_tower, value_tower = towers(agent.models['model'])
    logits, values = mlp_tower(observations, policy_tower), mlp_tower(observations, value_tower)
    expected_logits, expected_values = agent.models['model'](observations)
    np.testing.assert_allclose(logits, expected_logits.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(values, expected_values.numpy(), rtol=1e-4, atol=1e-5)
    rng = np.random.default_rng(0)
    n_envs, index = agent.n_envs, np.arange(agent.n_envs)

    def numpy_step():
        logits = mlp_tower(observations, policy_tower)
        mlp_tower(observations, value_tower)
        shifted = logits - logits.max(1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
        actions = (logits + rng.gumbel(size=logits.shape)).argmax(1)
        return actions, log_probs[index, actions]

    actions = np.zeros(n_envs, dtype=np.int64)
    results = {
        'n_envs': n_envs,
        'tf_function_rollout_step_us': timed(lambda: agent.rollout_step(observations), args.calls),
        'numpy_policy_step_us': timed(numpy_step, args.calls),
        'env_step_us': timed(lambda: agent.envs.step(actions), args.calls),
        'machine': f'{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}',
    }
    print(
        f'PPO CartPole-v1 preset, {n_envs} envs, per vector step: compiled policy call '
        f'{results["tf_function_rollout_step_us"]:.0f} us, the same policy in NumPy '
        f'{results["numpy_policy_step_us"]:.0f} us, environment step {results["env_step_us"]:.0f} us'
    )
    if args.output:
        with open(args.output, 'w') as file:
            json.dump(results, file, indent=2)


if __name__ == '__main__':
    main()
