import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
os.environ.setdefault('CUDA_VISIBLE_DEVICES', '-1')
# XLA compiles take seconds per agent: the tests run without them, except those that ask (test_speed.py).
os.environ.setdefault('XAGENTS_JIT', '0')
