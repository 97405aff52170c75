"""The training loop and its callbacks."""

from xagents.train.callbacks import Callback

__all__ = ['Callback']
