import os

import pytest

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
os.environ.setdefault('CUDA_VISIBLE_DEVICES', '-1')
# XLA compiles take seconds per agent: the tests run without them, except those that ask (test_speed.py).
os.environ.setdefault('XAGENTS_JIT', '0')

# TensorFlow fixes its threads at its first op, for the whole process. The first agent a test builds would
# fix them for every later test (``--threads auto``: one thread of each for PPO): one op here keeps
# TensorFlow's default for the test process, as the off-policy and image tests want.
import tensorflow as tf  # noqa: E402

tf.constant(0) + 0


@pytest.fixture(autouse=True)
def _in_a_temporary_folder(tmp_path, monkeypatch):
    """Every test runs in its own temporary folder: a default run directory (runs/...) lands there too."""
    monkeypatch.chdir(tmp_path)
