"""The original xagents import path for environments, models and plots."""

from xagents.envs.recipe import create_envs
from xagents.utils.history import plot_history
from xagents.utils.models import ModelReader

__all__ = ['ModelReader', 'create_envs', 'plot_history']
