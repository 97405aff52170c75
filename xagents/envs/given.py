"""Environments given as objects to ``from_env``: a ``gymnasium.Env`` instance or a vector env.

An object is trained on as it is; evaluation, play and resume make more of the same from its
spec (the registered id and its kwargs), which is also what the run saves. So an object needs a
spec, and an instance is one env: it cannot be copied into ``n_envs`` of them.
"""

from __future__ import annotations

import functools

import gymnasium as gym
from gymnasium.vector import AutoresetMode

from xagents.envs.autoreset import same_step
from xagents.envs.checks import check_spaces
from xagents.envs.recipe import EnvRecipe

# Options of the envs xagents makes itself, which an env object already made has decided.
MAKING_OPTIONS = ('preprocess', 'async_envs', 'env_kwargs', 'obs_keys', 'frame_stack')
# Keys of a spec's kwargs that are not the env's own: the render mode (each maker's), gym.make_vec's
# (xagents makes its vector envs itself) and the time limit (kept below only where it is the env's own).
NOT_THE_ENVS = ('render_mode', 'num_envs', 'vectorization_mode', 'vector_kwargs', 'wrappers', 'max_episode_steps')


def recipe_of(env: gym.Env | gym.vector.VectorEnv) -> EnvRecipe:
    """How to make more of ``env``: its spec's id, kwargs and time limit (the render mode is each maker's own)."""
    spec = env.spec
    what = type(env).__name__
    if spec is None:
        raise ValueError(
            f'{what} has no spec (it was not made by gym.make), so xagents cannot make more of it for '
            'evaluation, play and resume: give its class or a function returning it to from_env'
        )
    wrappers = [wrapper.name for wrapper in getattr(spec, 'additional_wrappers', ())]
    # gym.make_vec's wrappers= (functions, kept in the spec) and vector wrappers (not in it at all)
    wrappers += [getattr(w, '__name__', type(w).__name__) for w in (spec.kwargs or {}).get('wrappers') or ()]
    if isinstance(env, gym.vector.VectorWrapper):
        wrappers.append(type(env).__name__)
    if wrappers:
        raise ValueError(
            f'{spec.id} has wrappers added after it was made ({", ".join(wrappers)}), which the envs made again '
            f'for evaluation, play and resume would lack: give from_env a function that makes one env wrapped '
            '(and n_envs)'
        )
    kwargs = {key: value for key, value in (spec.kwargs or {}).items() if key not in NOT_THE_ENVS}
    registered = gym.envs.registry.get(spec.id)
    # gym.make_vec of a native vector env keeps its time limit in the kwargs, gym.make in the spec
    limit = (spec.kwargs or {}).get('max_episode_steps', spec.max_episode_steps)
    if registered is not None and limit != registered.max_episode_steps:  # a time limit of its own
        kwargs['max_episode_steps'] = limit
    return EnvRecipe(spec.id, kwargs)


def given_envs(env: gym.Env | gym.vector.VectorEnv, n_envs: int, **making) -> gym.vector.VectorEnv:
    """The vector env to train on for an env object (with ``envs.recipe``, how to make more).

    ``making`` are the other options of ``from_env`` (``MAKING_OPTIONS``): given, they are an error.
    """
    given = sorted(name for name in MAKING_OPTIONS if making.get(name))
    if given:
        raise ValueError(f'{", ".join(given)}: options of the envs xagents makes from an id; this env is made already')
    recipe = recipe_of(env)
    if isinstance(env, gym.vector.VectorEnv):
        if n_envs not in (1, env.num_envs):
            raise ValueError(f'n_envs={n_envs}, but the vector env given has {env.num_envs}: drop n_envs')
        envs = same_step(env)
    else:
        if n_envs != 1:
            raise ValueError(
                f"one env instance cannot be copied into n_envs={n_envs}: give its id, from_env('{recipe.name}', "
                f'n_envs={n_envs}), or a vector env (gym.make_vec)'
            )
        check_spaces(env.observation_space, env.action_space, recipe.name)
        envs = gym.vector.SyncVectorEnv([functools.partial(_the_env, env)], autoreset_mode=AutoresetMode.SAME_STEP)
        envs.spec = env.spec
    envs.recipe = recipe
    return envs


def _the_env(env: gym.Env) -> gym.Env:
    return env
