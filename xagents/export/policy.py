"""An agent's greedy policy as one TensorFlow graph, with everything ``predict`` does inside it.

The graph takes a batch of raw observations as the env returns them (``float32`` vectors
or ``uint8`` images; Dict observations as one input per key, named after it) and returns the
env actions: observation normalization with the statistics saved with the weights, the
networks, argmax (per dimension of a MultiDiscrete, the likelier value of each bit of a
MultiBinary) or mean, and the rescaling of continuous actions to the env's bounds. Integer
actions are ``int64``, of shape ``(n,)`` for Discrete and ``(n, dimensions)`` for MultiDiscrete
and MultiBinary. An agent that acts with action masks is exported with one more input,
``action_mask`` (boolean, ``(n, units)`` as the env gives them): the greedy action among the
legal ones. (One signature per file: an input that may be left out is not portable across
SavedModel, ONNX and TFLite.)
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import tensorflow as tf

from xagents.nets.multi_input import key_dtype
from xagents.nets.observations import model_input_dtype

INPUT_NAME = 'observation'
OUTPUT_NAME = 'action'
MASK_NAME = 'action_mask'


def output_signature(space: gym.Space) -> str:
    """What an exported policy returns for actions of ``space``, as ``xagents export`` prints it."""
    if isinstance(space, gym.spaces.Box):
        return f'float32 (n, {space.shape[0]})'
    if isinstance(space, gym.spaces.Discrete):
        return f'int64 (n,) in 0..{space.n - 1}'
    highs = space.nvec - 1 if isinstance(space, gym.spaces.MultiDiscrete) else np.ones(space.shape, np.int64)
    shape = f'int64 (n, {space.shape[0]})'
    if np.all(highs == highs[0]):
        return f'{shape} in 0..{highs[0]}'
    return f'{shape}, per dimension in ' + ', '.join(f'0..{high}' for high in highs)


def _constant(value) -> tf.Variable:
    # Variables, not captured constants: every converter freezes them into the exported graph.
    return tf.Variable(np.asarray(value, np.float32), trainable=False)


def _statistics(normalizer) -> tuple[tf.Variable, tf.Variable, float]:
    """The mean, the spread and the clip of an observation normalizer."""
    std = np.sqrt(normalizer.stats.var + normalizer.epsilon)
    return _constant(normalizer.stats.mean), _constant(std), float(normalizer.clip)


def _normalized(observations: tf.Tensor, mean: tf.Variable, std: tf.Variable, clip: float) -> tf.Tensor:
    return tf.clip_by_value((tf.cast(observations, tf.float32) - mean) / std, -clip, clip)


class Policy(tf.Module):
    """``policy(observations) -> {'action': actions}`` for one agent, as a traceable module.

    Args:
        agent: A trained agent (``xagents.load(run_dir)``).
    """

    def __init__(self, agent):
        super().__init__(name='policy')
        space = agent.observation_space
        if isinstance(space, gym.spaces.Dict):
            self.keys = list(space.spaces)
            self.input_specs = [
                tf.TensorSpec([None, *subspace.shape], key_dtype(subspace), name=key)
                for key, subspace in space.spaces.items()
            ]
        else:
            self.keys = None
            self.input_specs = [tf.TensorSpec([None, *space.shape], model_input_dtype(space), name=INPUT_NAME)]
        self.networks = list(agent.models.values())  # tracked, so their weights are saved
        normalizer = agent.obs_normalizer
        self.normalizer = None
        if normalizer is not None and self.keys is not None:  # each vector key with its statistics
            self.normalizer = {key: _statistics(each) for key, each in normalizer.normalizers.items()}
        elif normalizer is not None:
            self.normalizer = _statistics(normalizer)
        self.bounds = None
        if isinstance(agent.action_space, gym.spaces.Box):
            self.bounds = [_constant(value) for value in agent.action_bounds()]
        self.greedy_actions = agent.greedy_actions
        if agent.masks is not None:
            self.input_specs.append(tf.TensorSpec([None, agent.masks.units], tf.bool, name=MASK_NAME))
        actions = self.actions if self.keys is None else self.key_actions
        self.serve = tf.function(actions, input_signature=self.input_specs)

    def actions(self, observations: tf.Tensor, masks: tf.Tensor | None = None) -> dict[str, tf.Tensor]:
        inputs = observations
        if self.normalizer is not None and self.keys is not None:
            inputs = dict(observations)
            for key, statistics in self.normalizer.items():
                inputs[key] = _normalized(observations[key], *statistics)
        elif self.normalizer is not None:
            inputs = _normalized(observations, *self.normalizer)
        actions = self.greedy_actions(inputs) if masks is None else self.greedy_actions(inputs, masks)
        if self.bounds is None:
            return {OUTPUT_NAME: tf.cast(actions, tf.int64)}
        low, high, center, scale = self.bounds
        return {OUTPUT_NAME: center + scale * tf.clip_by_value(actions, low, high)}

    def key_actions(self, *inputs: tf.Tensor) -> dict[str, tf.Tensor]:
        """``actions`` of Dict observations given as one tensor per key, in the order of ``keys``
        (then the masks, when the policy takes them)."""
        masks = inputs[len(self.keys)] if len(inputs) > len(self.keys) else None
        return self.actions(dict(zip(self.keys, inputs)), masks)

    def __call__(self, observations, masks=None) -> dict[str, tf.Tensor]:
        inputs = [observations] if self.keys is None else [observations[key] for key in self.keys]
        return self.serve(*inputs, *([] if masks is None else [masks]))

    def concrete(self):
        return self.serve.get_concrete_function()
