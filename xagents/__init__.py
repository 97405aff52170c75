"""xagents: TensorFlow 2 deep reinforcement learning agents with a command line."""

import importlib

from xagents import _quiet

_quiet.install()  # the first `import tensorflow` prints none of its native start-up lines

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


def load(run_dir, checkpoint='best', env=None):
    """The trained agent of an xagents run folder, ready to ``predict`` or ``play``.

    ``checkpoint`` is ``best`` (default), ``latest`` or a step (the first snapshot at or after
    it); ``env`` gives the environment function again for a run made from one in ``__main__``.

    >>> agent = xagents.load('runs/ppo-CartPole-v1-20261201-120000')
    >>> action = agent.predict(observation)
    """
    from xagents.run.loading import load as load_run

    return load_run(run_dir, checkpoint, env)


def __getattr__(name):
    for key, (_, attribute) in AGENTS.items():
        if attribute == name:
            return agents[key]
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


__all__ = ['agents', 'AGENTS', 'load', *[attribute for _, attribute in AGENTS.values()]]
