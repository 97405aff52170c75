"""Building an agent: its config, optimizers and models, and the environments of ``from_env``."""

from __future__ import annotations

import dataclasses
import functools
import sys
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import keras
import numpy as np

from xagents.core import schedules
from xagents.core.config import AgentConfig, preprocess_defaults
from xagents.core.renamed import current_names, unknown_names
from xagents.core.threads import thread_setting, use_threads
from xagents.envs.atari import is_atari
from xagents.envs.given import given_envs
from xagents.envs.recipe import EnvRecipe
from xagents.nets.arch import net_arch_files
from xagents.nets.host import HostModel
from xagents.nets.multi_input import build_multi_input_model
from xagents.nets.observations import convolutional, model_input_dtype, network_kind
from xagents.nets.reader import ModelReader, convolutions_fit


def draw_seed() -> int:
    """A seed from the OS's entropy, below 2**31 (NumPy's, Keras' and the envs' seeds, plus step counts, fit)."""
    return int(np.random.SeedSequence().entropy % 2**31)


class Building:
    """The class methods that make an agent (mixed into :class:`xagents.core.agent.Agent`)."""

    Config = AgentConfig
    model_roles: tuple[str, ...] = ('model',)
    # Default `.cfg` basenames per role, without the ann-/cnn-/cnn-small- prefix.
    model_configs: tuple[str, ...] = ('actor-critic',)
    # Whether the agent takes Dict observations (a multi-input network, dicts of arrays in its data path).
    takes_dict_observations = False
    # Whether the agent learns from fresh rollouts (A2C, ACER, PPO, TRPO): its ``auto`` threads depend on it.
    on_policy = False

    @classmethod
    def make_config(cls, **hyperparameters) -> AgentConfig:
        """The agent's config; without a seed, one drawn, so that the run keeps (and can repeat) it."""
        hyperparameters = current_names(cls.Config, hyperparameters, deprecated=True)
        if hyperparameters.get('seed') is None:
            hyperparameters['seed'] = draw_seed()
        names = {field.name for field in dataclasses.fields(cls.Config)}
        unknown = sorted(set(hyperparameters) - names)
        if unknown:
            raise cls.unknown_error(unknown)
        return cls.Config(**hyperparameters)

    @classmethod
    def unknown_error(cls, unknown: list[str], also: tuple[str, ...] = ()) -> TypeError:
        """The error of unknown keywords, with a "did you mean" among the fields and ``also``."""
        her = ' (hindsight experience replay is for DQN, DDPG, TD3 and SAC)' if 'her' in unknown else ''
        known = [field.name for field in dataclasses.fields(cls.Config) if field.init] + list(also)
        return TypeError(f'{cls.__name__} got unknown hyperparameter(s): {unknown_names(unknown, known)}{her}')

    @classmethod
    def check_envs(cls, envs: gym.vector.VectorEnv) -> None:
        """Raise a clear error when the environment's spaces do not suit the agent."""

    @classmethod
    def action_space_error(cls, envs: gym.vector.VectorEnv, needs: str) -> ValueError:
        """The error of an agent that needs ``needs`` (and the agents to use for a MultiDiscrete or MultiBinary)."""
        space = envs.single_action_space
        others = ''
        if isinstance(space, (gym.spaces.MultiDiscrete, gym.spaces.MultiBinary)):
            others = f'; {type(space).__name__} actions are taken by PPO, A2C and TRPO'
        name = envs.spec.id if envs.spec is not None else 'the env'
        return ValueError(f'{cls.__name__} needs {needs}, {name} has {space}{others}')

    @classmethod
    def check_observation_space(cls, envs: gym.vector.VectorEnv) -> None:
        """A clear error for Dict observations given to an agent that does not take them."""
        space = envs.single_observation_space
        if isinstance(space, gym.spaces.Dict) and not cls.takes_dict_observations:
            name = envs.spec.id if envs.spec else 'the env'
            raise ValueError(
                f'{cls.__name__} does not take Dict observations yet ({name} gives keys {" ".join(space.spaces)}): '
                f'train {dict_agents(space, envs.single_action_space)}, or flatten them '
                '(gymnasium.wrappers.FlattenObservation)'
            )

    @classmethod
    def use_threads(cls, config: AgentConfig, space: gym.Space) -> tuple[int, int]:
        """TensorFlow's threads set as ``config.threads`` asks for the agent on observations ``space``
        (:mod:`xagents.core.threads`); the (intra-op, inter-op) threads in use."""
        return use_threads(config.threads, thread_setting(cls.on_policy, convolutional(space)))

    @functools.cached_property
    def xla_updates(self) -> bool:
        """Whether the updates compile with XLA: ``jit_compile`` on and every model dense (XLA's CPU
        convolutions are far slower than TensorFlow's own kernels: a PPO Pong update did not finish
        2,048 steps in 400 s, against 3.4 s without XLA). Known from the first use on, which ``compiled`` makes
        before any update is traced (``HostModel.of`` reads the weights, which a trace cannot)."""
        return self.config.jit_compile and all(HostModel.of(model) is not None for model in self.models.values())

    def make_optimizer(self) -> keras.optimizers.Optimizer:
        config = self.config
        return keras.optimizers.Adam(
            learning_rate=schedules.initial(config.lr),
            epsilon=config.opt_epsilon,
            beta_1=config.beta1,
            beta_2=config.beta2,
        )

    @classmethod
    def output_units(cls, envs: gym.vector.VectorEnv, config: AgentConfig) -> list[list[int]]:
        """Units of each role's ``output=1`` layers for ``envs``."""
        raise NotImplementedError

    @classmethod
    def default_model_files(cls, observation_space: gym.Space) -> list[Path]:
        """``ann-*.cfg`` for vectors; for images, ``cnn-*.cfg`` (NatureCNN) where its convolutions fit
        them (36x36 and larger), else ``cnn-small-*.cfg``."""
        folder = Path(sys.modules[cls.__module__].__file__).parent / 'models'
        if isinstance(observation_space, gym.spaces.Dict):  # the dense layers after the keys' features
            return [folder / f'ann-{name}.cfg' for name in cls.model_configs]
        kind = network_kind(observation_space)
        files = [folder / f'{kind}-{name}.cfg' for name in cls.model_configs]
        if kind == 'cnn' and not all(convolutions_fit(file, observation_space.shape) for file in files):
            files = [folder / f'cnn-small-{name}.cfg' for name in cls.model_configs]
        return files

    @classmethod
    def cnn_file_for(cls, name: str) -> Callable[[tuple[int, ...]], Path]:
        """The agent's CNN file of the model ``name`` for images of a shape (Dict observations' image keys)."""
        folder = Path(sys.modules[cls.__module__].__file__).parent / 'models'

        def cnn_file(shape: tuple[int, ...]) -> Path:
            file = folder / f'cnn-{name}.cfg'
            return file if convolutions_fit(file, shape) else folder / f'cnn-small-{name}.cfg'

        return cnn_file

    @classmethod
    def build_models(cls, envs, model_files=None, config: AgentConfig | None = None) -> list[keras.Model]:
        """Models for ``envs`` from ``.cfg`` files (default: the agent's own)."""
        config = config or cls.Config()
        space = envs.single_observation_space
        files = model_files or cls.default_model_files(space)
        if len(files) != len(cls.model_roles):
            raise ValueError(f'{cls.__name__} needs {len(cls.model_roles)} model file(s), got {len(files)}')
        if config.seed is not None:
            keras.utils.set_random_seed(config.seed)
        if isinstance(space, gym.spaces.Dict):
            return [
                build_multi_input_model(path, cls.cnn_file_for(name), units, space, seed=config.seed)
                for path, name, units in zip(files, cls.model_configs, cls.output_units(envs, config))
            ]
        input_dtype = model_input_dtype(space)
        return [
            ModelReader(path, units, space.shape, seed=config.seed, input_dtype=input_dtype).build_model()
            for path, units in zip(files, cls.output_units(envs, config))
        ]

    @classmethod
    def from_env(
        cls,
        env: str | Callable[..., gym.Env] | gym.Env | gym.vector.VectorEnv,
        n_envs: int = 1,
        preprocess: bool = False,
        max_frame: bool = True,
        async_envs: bool = False,
        env_kwargs: dict | None = None,
        model_files: list[str] | None = None,
        obs_keys: list[str] | None = None,
        frame_stack: int | None = None,
        net_arch: list[int] | None = None,
        activation: str | None = None,
        **hyperparameters,
    ):
        """Make the environments and default models, then the agent.

        ``env`` is a registered id, ``package.module:EnvId`` (the module registers it), a
        function returning a ``gymnasium.Env``, or an env object made by gymnasium: a
        ``gym.make(...)`` instance (one env: ``n_envs`` stays 1) or a ``gym.make_vec(...)`` vector
        env (any autoreset mode of a sync or CartPole vector env). An object is trained on as it is;
        evaluation, play and the saved run make more from its spec (id and kwargs), so it needs
        one and no wrappers of its own (give a function for those). ``env_kwargs`` reach every environment made;
        ``obs_keys`` chooses the keys of a Dict observation the agent sees (default: all);
        ``frame_stack`` makes each observation the last N (:mod:`xagents.envs.frame_stack`).
        ``net_arch`` (``[256, 256]``: the hidden layer sizes of every network; for images, of the dense
        layers after the CNN) and ``activation`` (``'tanh'``, ``'relu'``, ...; SB3's ``activation_fn``
        by name) change the default networks (:mod:`xagents.nets.arch`); with ``model_files``, an error.
        ``hyperparameters`` are the fields of ``Config`` and the options of the agent's fits
        (``output_dir``, ``quiet``, ``eval_interval``, ...: see ``__init__``).

        >>> agent = PPO.from_env('CartPole-v1', n_envs=16, seed=1)
        """
        # Old names of renamed hyperparameters warn here, once, and reach the agent as the names now.
        hyperparameters = preprocess_defaults(current_names(cls.Config, hyperparameters, deprecated=True), preprocess)
        own, options = cls.split_training_options(hyperparameters, also=FROM_ENV_ARGUMENTS)
        config = cls.make_config(**own)
        drawn = own.get('seed') is None
        hyperparameters['seed'] = config.seed  # the same drawn seed builds the models and the agent
        if isinstance(env, (gym.Env, gym.vector.VectorEnv)):
            making = dict(preprocess=preprocess, async_envs=async_envs, env_kwargs=env_kwargs, obs_keys=obs_keys)
            envs = given_envs(env, n_envs, frame_stack=frame_stack, **making)
            recipe = envs.recipe
        else:
            recipe = EnvRecipe(env, dict(env_kwargs or {}), preprocess, max_frame, async_envs, obs_keys, frame_stack)
            envs = recipe.make(n_envs, render_mode='rgb_array' if options and options.records_videos else None)
        if not preprocess and model_files is None and envs.spec is not None and is_atari(envs.spec):
            envs.close()
            raise ValueError(
                f'{recipe.name} gives raw 210x160 colour frames, not what the CNN models are made for: add '
                '--preprocess (84x84 grayscale, 4 stacked frames), or give your own --model'
            )
        try:
            cls.check_observation_space(envs)
            cls.check_envs(envs)
            cls.use_threads(config, envs.single_observation_space)  # before TensorFlow's first op
            if net_arch is not None or activation is not None:
                if model_files is not None:
                    raise ValueError('net_arch and activation change the default networks: give them or model files')
                model_files = net_arch_files(
                    cls.default_model_files(envs.single_observation_space), net_arch, activation
                )
            models = cls.build_models(envs, model_files, config)
            agent = cls(envs, *models, **hyperparameters)
            agent.seed_drawn = drawn
        except BaseException:
            envs.close()
            raise
        agent.model_files = [
            str(path) for path in (model_files or cls.default_model_files(envs.single_observation_space))
        ]
        agent.networks = {'net_arch': net_arch and list(net_arch), 'activation': activation}  # saved with the run
        return agent


# The arguments of from_env besides the hyperparameters, for a "did you mean".
FROM_ENV_ARGUMENTS = ('n_envs', 'preprocess', 'max_frame', 'async_envs', 'env_kwargs', 'model_files', 'obs_keys')
FROM_ENV_ARGUMENTS += ('frame_stack', 'net_arch', 'activation')


def dict_agents(space: gym.spaces.Dict, action_space: gym.Space) -> str:
    """The agents that take Dict observations ``space`` with ``action_space``."""
    names = ['PPO', 'A2C', 'TRPO']
    names += ['ACER', 'DQN'] if isinstance(action_space, gym.spaces.Discrete) else []
    names += ['DDPG', 'TD3', 'SAC'] if isinstance(action_space, gym.spaces.Box) else []
    return f'{", ".join(names[:-1])} or {names[-1]}'
