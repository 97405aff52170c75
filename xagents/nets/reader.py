"""Keras models from ``.cfg`` files, as in the original xagents.

A file is a list of sections applied in order::

    [convolutional-0]     filters, size, stride, activation, initializer, gain
    [flatten-0]
    [dense-0]             units, activation, initializer, gain
    [dense-1]             output=1 (units supplied by the agent)

``common=1`` marks the end of a shared trunk: every layer after an ``output=1`` layer
starts again from the last common layer (or the input when there is none), so one file
describes either a shared-trunk actor-critic or two separate networks.

A convolution applied to height x width observations sees them with one channel; a dense
layer applied to more than one axis (observations, or a convolution's outputs) sees them
flattened.
"""

from __future__ import annotations

import configparser
import itertools
import os
import re
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

ACTIVATIONS = {'relu', 'tanh', 'sigmoid', 'elu', 'selu', 'gelu', 'swish', 'softplus', 'linear', 'leaky_relu'}
INITIALIZERS = {'orthogonal', 'glorot_uniform', 'glorot_normal', 'he_uniform', 'he_normal', 'zeros'}
SECTION = re.compile(r'^(convolutional|dense|flatten)-\d+$')
KEYS = {
    'convolutional': {'filters', 'size', 'stride', 'activation', 'initializer', 'gain', 'common', 'output', 'padding'},
    'dense': {'units', 'activation', 'initializer', 'gain', 'common', 'output'},
    'flatten': {'common'},
}


class ModelConfigError(ValueError):
    """A model ``.cfg`` file that cannot be built."""


def _spatial_size(size: int, kernel: int, stride: int, padding: str) -> int:
    if padding == 'same':
        return -(-size // stride)
    return (size - kernel) // stride + 1


def convolutions_fit(cfg_file: str | os.PathLike, image_shape: tuple[int, ...]) -> bool:
    """Whether the convolutions of ``cfg_file`` leave a positive height and width for ``image_shape``."""
    parser = configparser.ConfigParser()
    parser.read(cfg_file)
    sides = list(image_shape[:2])
    for section in parser.sections():
        if section.startswith('convolutional'):
            options = parser[section]
            kernel, stride = int(options.get('size', 1)), int(options.get('stride', 1))
            sides = [_spatial_size(side, kernel, stride, options.get('padding', 'valid')) for side in sides]
    return min(sides) >= 1


class LogStd(keras.layers.Layer):
    """State-independent log standard deviation of a Gaussian policy, one per action."""

    def __init__(self, units: int, initial: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.units, self.initial = units, initial
        self.log_std = self.add_weight(shape=(units,), initializer=keras.initializers.Constant(initial), name='log_std')

    def call(self, inputs):
        return tf.zeros_like(inputs[:, :1]) + self.log_std

    def get_config(self):
        return {**super().get_config(), 'units': self.units, 'initial': self.initial}


def with_log_std(model: keras.Model, action_dims: int) -> keras.Model:
    """The same model with a state-independent log-std output appended, for a Gaussian policy.

    A model that already has a ``log_std`` output is returned as it is.
    """
    if any(layer.name == 'log_std' for layer in model.layers):
        return model
    log_std = LogStd(action_dims, name='log_std')(model.outputs[0])
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    extended = keras.Model(inputs, [*model.outputs, log_std])
    if getattr(model, 'optimizer', None) is not None:
        extended.compile(optimizer=model.optimizer)
    return extended


class ModelReader:
    """Build a Keras model from a ``.cfg`` file.

    Args:
        cfg_file: Path to the ``.cfg`` file.
        output_units: Units of the ``output=1`` layers without ``units``, in order.
        input_shape: Shape of one observation. ``uint8`` inputs are scaled to [0, 1] in the model.
        optimizer: Optimizer attached to the model (``model.optimizer``), or None.
        seed: Seed for the initializers.
        input_dtype: dtype of the observations.
    """

    def __init__(
        self,
        cfg_file: str | os.PathLike,
        output_units: list[int],
        input_shape: tuple[int, ...] | int,
        optimizer: keras.optimizers.Optimizer | None = None,
        seed: int | None = None,
        input_dtype: str | np.dtype = 'float32',
    ):
        self.path = Path(cfg_file)
        if not self.path.is_file():
            raise ModelConfigError(f'model file not found: {cfg_file}')
        self.parser = configparser.ConfigParser()
        try:
            self.parser.read(self.path)
        except configparser.Error as error:
            raise ModelConfigError(f'{cfg_file}: {str(error).splitlines()[0]}') from None
        self.output_units = [int(units) for units in output_units]
        self.input_shape = (input_shape,) if isinstance(input_shape, (int, np.integer)) else tuple(input_shape)
        self.optimizer = optimizer
        self.seed = seed
        self.input_dtype = np.dtype(input_dtype).name

    def _error(self, section: str, message: str) -> ModelConfigError:
        return ModelConfigError(f'{self.path}: [{section}] {message}')

    def _initializer(self, section: str, options) -> keras.initializers.Initializer:
        name = options.get('initializer', 'glorot_uniform')
        if name not in INITIALIZERS:
            raise self._error(section, f'unknown initializer {name!r}, expected one of {sorted(INITIALIZERS)}')
        seed = None if self.seed is None else self.seed + len(self._layers)
        if name == 'orthogonal':
            return keras.initializers.Orthogonal(gain=float(options.get('gain', 1.0)), seed=seed)
        if name == 'zeros':
            return keras.initializers.Zeros()
        return keras.initializers.get({'class_name': name, 'config': {'seed': seed}})

    def _activation(self, section: str, options) -> str | None:
        activation = options.get('activation')
        if activation is not None and activation not in ACTIVATIONS:
            raise self._error(section, f'unknown activation {activation!r}, expected one of {sorted(ACTIVATIONS)}')
        return activation

    def _int(self, section: str, options, key: str, default=None) -> int:
        if key not in options:
            if default is None:
                raise self._error(section, f'missing {key}')
            return default
        try:
            value = int(options[key])
        except ValueError:
            raise self._error(section, f'{key} must be an integer, got {options[key]!r}') from None
        if value < 1:
            raise self._error(section, f'{key} must be positive, got {value}')
        return value

    def _layer(self, section: str, output_index: int) -> keras.layers.Layer:
        kind = section.split('-')[0]
        options = self.parser[section]
        unknown = set(options) - KEYS[kind]
        if unknown:
            raise self._error(section, f'unknown option(s) {sorted(unknown)}')
        if kind == 'flatten':
            return keras.layers.Flatten()
        common = dict(
            activation=self._activation(section, options), kernel_initializer=self._initializer(section, options)
        )
        if kind == 'convolutional':
            return keras.layers.Conv2D(
                self._int(section, options, 'filters'),
                self._int(section, options, 'size'),
                self._int(section, options, 'stride', 1),
                padding=options.get('padding', 'valid'),
                **common,
            )
        if 'units' in options:
            units = self._int(section, options, 'units')
        elif options.get('output') == '1':
            if output_index >= len(self.output_units):
                raise self._error(section, f'more output layers than the {len(self.output_units)} output units given')
            units = self.output_units[output_index]
        else:
            raise self._error(section, 'missing units')
        return keras.layers.Dense(units, **common)

    @staticmethod
    def _shaped_for(layer: keras.layers.Layer, x):
        """``x`` with a channel axis for a convolution of height x width inputs, flattened for a dense layer."""
        if isinstance(layer, keras.layers.Conv2D) and len(x.shape) == 3:
            return keras.layers.Reshape((*x.shape[1:], 1))(x)
        if isinstance(layer, keras.layers.Dense) and len(x.shape) > 2:
            return keras.layers.Flatten()(x)
        return x

    def _check_sections(self) -> list[str]:
        sections = self.parser.sections()
        if not sections:
            raise ModelConfigError(f'{self.path}: no layers')
        for section in sections:
            if not SECTION.match(section):
                raise self._error(section, 'unknown section, expected convolutional-N, dense-N or flatten-N')
        return sections

    def _apply(self, section: str, x, output_index: int):
        layer = self._layer(section, output_index)
        self._layers.append(layer)
        x = self._shaped_for(layer, x)
        try:
            return layer(x)
        except ValueError as error:
            raise self._error(section, f'cannot be applied: {str(error).splitlines()[0]}') from None

    def features(self, x):
        """``x`` through the layers before the first dense one (a CNN file's convolutions and flatten),
        as one feature vector per observation: the image part of a multi-input network."""
        self._layers = []
        for section in self._check_sections():
            if section.startswith('dense'):
                break
            x = self._apply(section, x, 0)
        return keras.layers.Flatten()(x) if len(x.shape) > 2 else x

    def build_model(self, inputs=None, x=None, dense_only: bool = False) -> keras.Model:
        """Build (and compile with the optimizer, if given) the described model; given ``inputs`` (one
        Input or a dict of them) and ``x`` (the features computed from them), the layers start from ``x``:
        with ``dense_only``, from the file's first dense layer (its convolutions having made features)."""
        sections = self._check_sections()
        if dense_only:
            sections = list(itertools.dropwhile(lambda section: not section.startswith('dense'), sections))
        self._layers = []
        if inputs is None:
            inputs = keras.Input(self.input_shape, dtype=self.input_dtype)
            x = keras.layers.Rescaling(1 / 255)(inputs) if self.input_dtype == 'uint8' else inputs
        trunk, outputs = x, []
        for section in sections:
            options = self.parser[section]
            x = self._apply(section, x, len(outputs))
            if options.get('common') == '1':
                trunk = x
            if options.get('output') == '1':
                outputs.append(x)
                x = trunk
        if len(outputs) != len(self.output_units):
            raise ModelConfigError(
                f'{self.path}: {len(outputs)} output layer(s), the agent needs {len(self.output_units)}'
            )
        for output in outputs:
            if len(output.shape) != 2:
                raise ModelConfigError(
                    f'{self.path}: outputs of shape {tuple(output.shape)[1:]} per observation, not one vector: '
                    'make each output=1 layer a dense one'
                )
        model = keras.Model(inputs, outputs)
        if self.optimizer is not None:
            model.compile(optimizer=self.optimizer)
        return model
