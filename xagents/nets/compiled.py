"""Compiled training steps called at the lowest cost per call."""

from __future__ import annotations

import itertools

import numpy as np
import tensorflow as tf
from tensorflow.python.eager import cancellation, context, execute, record
from tensorflow.python.eager.polymorphic_function import atomic_function
from tensorflow.python.framework.ops import EagerTensor


class ConcreteCalls:
    """A ``tf.function`` called through one concrete function per input signature.

    A training step is called once per env step on the default off-policy path, always
    with the same shapes. A ``tf.function`` call works out its inputs' trace types and
    matches them against its traces, and a concrete function's own call binds and checks
    its arguments again; the flat call of the concrete function for those shapes skips
    both: DQN batch 32 took 860-890 µs a call against 1,520-1,630 (TD3 2,460 against 3,230)
    on a 2-core machine, the same graph and the same results. The call goes straight to the
    runtime (``run_concrete``).

    Arguments are nests (dicts, tuples) of tensors, arrays or numbers, all made tensors. Each
    new combination of shapes and dtypes is traced once.
    """

    def __init__(self, function, jit_compile: bool = False):
        self.function = tf.function(function, jit_compile=jit_compile)
        self.concrete = {}

    def __call__(self, *args):
        flat = [tensor_of(value) for value in tf.nest.flatten(args)]
        key = tuple((tensor.dtype, tuple(tensor.shape)) for tensor in flat)
        concrete = self.concrete.get(key)
        if concrete is None:
            concrete = self.concrete[key] = self.function.get_concrete_function(*tf.nest.pack_sequence_as(args, flat))
        # The flat inputs of a function of tensors only are its arguments' flattening, in order.
        return run_concrete(concrete, flat)


def run_concrete(concrete, flat: list[tf.Tensor]):
    """The outputs of ``concrete`` on the tensors ``flat``, executed as the one op it is.

    Where nothing can record a gradient (eager, no tape, no cancellation), the concrete function's
    own flat call does nothing but checks and context managers before this execution: skipping
    them, a DQN batch-32 update call took a median 1,641-1,977 µs against 2,037-2,437 and SAC's
    4,967 against 5,347, alternating in one process under load. Elsewhere it makes that call.
    """
    eager = context.context()
    if not eager.executing_eagerly() or record.could_possibly_record() or cancellation.context() is not None:
        return concrete._call_flat(flat, concrete.captured_inputs)
    function = concrete._inference_function
    with atomic_function.InterpolateRuntimeError(function):  # errors name the op and its line, as before
        outputs = execute.execute(
            function.name.decode(),
            num_outputs=len(function.function_type.flat_outputs),
            inputs=flat + list(concrete.captured_inputs),
            attrs=tuple(itertools.chain(*eager.function_call_options.as_attrs().items())),
            ctx=eager,
        )
    return function.function_type.pack_output(outputs or None)


def tensor_of(value) -> tf.Tensor:
    """``value`` as a tensor. An array goes straight to the eager tensor that ``tf.constant`` makes of
    it in the end, past ``tf.constant``'s layers of Python: the 7 arrays of a DQN batch took 44-97 µs
    against 63-129 through ``tf.constant``, alternating under load (``tf.convert_to_tensor`` is slower still).
    Like ``tf.constant`` it copies the array first: an aligned array's tensor would share its memory."""
    if isinstance(value, np.ndarray):
        eager = context.context()
        eager.ensure_initialized()
        return EagerTensor(value.copy(), eager.device_name, None)
    return tf.convert_to_tensor(value)
