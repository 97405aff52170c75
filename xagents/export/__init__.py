"""Standalone policies: raw observation in, env action out, as SavedModel, ONNX or TFLite."""

# The formats a policy is exported to (here so that the command line knows them without TensorFlow).
FORMATS = ('saved_model', 'onnx', 'tflite')
