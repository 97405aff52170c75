"""Standalone policies: raw observation in, env action out, as SavedModel, ONNX or TFLite."""
