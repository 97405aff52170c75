"""The original xagents' import path (``from xagents.utils.common import ...``), kept for its users.

It holds no code: the model reader lives in :mod:`xagents.nets.reader`, the envs in
:mod:`xagents.envs.recipe` and the plots in :mod:`xagents.run.history`.
"""

from xagents.envs.recipe import create_envs
from xagents.nets.reader import ModelReader
from xagents.run.curves import plot_history

__all__ = ['ModelReader', 'create_envs', 'plot_history']
