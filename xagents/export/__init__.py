"""Standalone policies: raw observation in, env action out, as SavedModel, ONNX or TFLite."""

from xagents.extras import require

# The formats a policy is exported to (here so that the command line knows them without TensorFlow).
FORMATS = ('saved_model', 'onnx', 'tflite')


def require_writer(format: str):
    """The converter an export to ``format`` needs beyond TensorFlow (tf2onnx for ONNX), or None;
    a :class:`~xagents.extras.MissingExtra` naming the export extra when it is not installed."""
    return require('tf2onnx', 'export', '--format onnx') if format == 'onnx' else None
