"""The agents xagents has, by name, and its version: what every layer may ask without importing the others.

Agent classes are imported on first use, so the command line answers ``--help`` without TensorFlow.
"""

import importlib

__version__ = '0.2.0'

# agent name -> (module, class); imported lazily so `xagents --help` does not load TensorFlow.
AGENTS = {
    'a2c': ('xagents.a2c.agent', 'A2C'),
    'acer': ('xagents.acer.agent', 'ACER'),
    'ddpg': ('xagents.ddpg.agent', 'DDPG'),
    'dqn': ('xagents.dqn.agent', 'DQN'),
    'ppo': ('xagents.ppo.agent', 'PPO'),
    'sac': ('xagents.sac.agent', 'SAC'),
    'td3': ('xagents.td3.agent', 'TD3'),
    'trpo': ('xagents.trpo.agent', 'TRPO'),
}


class _Registry(dict):
    """``agents['ppo']`` -> the PPO class, imported on first use."""

    def __missing__(self, name):
        if name not in AGENTS:
            raise KeyError(f'unknown agent {name!r}, expected one of {", ".join(AGENTS)}')
        module, attribute = AGENTS[name]
        self[name] = getattr(importlib.import_module(module), attribute)
        return self[name]


agents = _Registry()
