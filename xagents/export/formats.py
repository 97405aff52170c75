"""Writing a :class:`~xagents.export.policy.Policy` as a SavedModel, an ONNX model or a TFLite model."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import warnings
from pathlib import Path

import tensorflow as tf

from xagents.export import FORMATS, require_writer
from xagents.export.policy import OUTPUT_NAME, Policy

ONNX_OPSET = 17


def _saved_model(policy: Policy, output: Path) -> None:
    tf.saved_model.save(policy, str(output), signatures={'serving_default': policy.concrete()})


def _tflite(policy: Policy, output: Path) -> None:
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    # The converter keeps Keras 3 variables as resource variables that its interpreter never
    # initializes (every output NaN): freeze them into constants first, then keep the
    # input and output names with a function around the frozen one.
    frozen = convert_variables_to_constants_v2(policy.concrete())
    specs = policy.input_specs
    if policy.keys is None and len(specs) == 1:
        named = tf.function(lambda observation: {OUTPUT_NAME: frozen(observation)[0]}, input_signature=specs)
    elif policy.keys is None:
        named = tf.function(
            lambda observation, action_mask: {OUTPUT_NAME: frozen(observation, action_mask)[0]},
            input_signature=specs,
        )
    else:  # one input per key, named after it
        named = tf.function(lambda *inputs: {OUTPUT_NAME: frozen(*inputs)[0]}, input_signature=specs)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([named.get_concrete_function()], tf.Module())
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # tf.lite's notice that LiteRT is its new home
        model = converter.convert()
    output.write_bytes(model)


def _onnx(policy: Policy, output: Path) -> None:
    tf2onnx = require_writer('onnx')
    model, _ = tf2onnx.convert.from_function(policy.serve, input_signature=policy.input_specs, opset=ONNX_OPSET)
    output.write_bytes(model.SerializeToString())


WRITERS = {'saved_model': _saved_model, 'onnx': _onnx, 'tflite': _tflite}


def temporary_path(output: str | os.PathLike) -> Path:
    """Where an export to ``output`` is written until complete: a hidden name in the same folder."""
    output = Path(output)
    return output.with_name(f'.{output.name}.tmp')


def export(agent, output: str | os.PathLike, format: str) -> Path:
    """Write the agent's greedy policy to ``output`` (a folder for ``saved_model``, a file otherwise).

    An existing ``output`` is an error: an export never writes over files. The policy is written
    under :func:`temporary_path` and renamed to ``output`` once complete, so ``output`` is whole or
    absent; any exception (a KeyboardInterrupt too) removes the temporary.
    """
    if format not in WRITERS:
        raise ValueError(f'unknown export format {format!r}, expected one of: {", ".join(FORMATS)}')
    require_writer(format)
    output = Path(output)
    if output.exists():
        raise ValueError(f'{output} already exists: give a new --output path')
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_path(output)
    _remove(temporary)  # one fixed name: what a kill -9 left is written over, not piled up
    try:
        WRITERS[format](Policy(agent), temporary)
        with _signals_held():
            if output.exists():  # made by someone else meanwhile: it stays as it is
                raise ValueError(f'{output} already exists: give a new --output path')
            os.replace(temporary, output)
    finally:
        with _signals_held():
            _remove(temporary)
    return output


@contextlib.contextmanager
def _signals_held():
    """Ctrl-C and SIGTERM wait until the block is done (then arrive): a rename or a clean-up is never
    cut halfway, so no half-removed temporary is left."""
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()
