"""xagents: TensorFlow 2 deep reinforcement learning agents with a command line."""

from xagents import _quiet

_quiet.install()  # the first `import tensorflow` prints none of its native start-up lines

from xagents.registry import AGENTS, __version__, agents  # noqa: E402


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


__all__ = ['agents', 'AGENTS', '__version__', 'load', *[attribute for _, attribute in AGENTS.values()]]
