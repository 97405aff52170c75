"""The training loop and its callbacks."""

from xagents.train.callbacks import Callback

# Exit codes of a run stopped by a signal, after saving: what shells report for them.
SIGNAL_EXIT_CODES = {'interrupted': 130, 'terminated': 143}

__all__ = ['Callback']
