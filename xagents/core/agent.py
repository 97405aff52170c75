"""The agent core: config, models, optimizers, acting, and stepping the vector env.

An agent turns vector-env steps into transitions for its learner and into records of
finished episodes; ``iterate`` collects experience and updates once. It knows nothing
about files, the console, histories or evaluation, and holds no run folder: the training
loop and its options (:mod:`xagents.train`), the run folder and its session
(:mod:`xagents.run`) and the player (:mod:`xagents.play`) do that. The entry points
``fit``, ``play``, ``resume``, ``load_weights`` and ``run_folder``
(:mod:`xagents.core.entry_points`, the one door upward) import their owner when called.
Differences between agents are declared as class attributes, never detected.
"""

from __future__ import annotations

import time
from collections import deque

import gymnasium as gym
import keras
import numpy as np
import tensorflow as tf

from xagents.core import schedules
from xagents.core.building import Building
from xagents.core.entry_points import EntryPoints
from xagents.core.masking import ActionMasks
from xagents.core.predicting import predict_actions, sb3_result
from xagents.core.schema import flag_name, scheduled_fields
from xagents.envs.autoreset import final_observations, final_success, same_step
from xagents.envs.normalizers import KeyNormalizer, ObservationNormalizer, RewardNormalizer
from xagents.envs.recipe import EnvRecipe
from xagents.nets.compiled import ConcreteCalls
from xagents.nets.host import HostModel
from xagents.nets.multi_input import vector_keys
from xagents.nets.observations import is_image


class Agent(Building, EntryPoints):
    """Base of every agent.

    Args:
        envs: A vector environment from :func:`xagents.envs.recipe.create_envs`.
        *models: Keras models, one per entry of ``model_roles``.
        **hyperparameters: Fields of ``Config``, and the options of the agent's fits
            (:class:`xagents.train.options.TrainingOptions`: ``output_dir``, ``checkpoints``,
            ``history_checkpoint``, ``quiet``, ``eval_interval``, ...; ``fit`` takes them too).
    """

    # The replay buffer the run folder saves with the latest checkpoint (off-policy agents).
    replay_buffer = None
    # Schedulable hyperparameters the compiled losses read (as variables in ``graph_values``); lr
    # is set on the optimizers.
    graph_hyperparameters: tuple[str, ...] = ()
    # Whether the agent never picks an action masked by the env (``policy`` and ``random_actions`` take masks).
    takes_masks = False

    def __init__(self, envs: gym.vector.VectorEnv, *models: keras.Model, **hyperparameters):
        hyperparameters, self.training_options = self.split_training_options(hyperparameters)
        # Whether the seed was drawn here (no seed given): training says so, with the seed that repeats it.
        self.seed_drawn = hyperparameters.get('seed') is None
        self.config = self.make_config(**hyperparameters)
        if len(models) != len(self.model_roles):
            raise ValueError(f'{type(self).__name__} takes {len(self.model_roles)} model(s), got {len(models)}')
        self.envs = envs = same_step(envs)  # a gym.make_vec env resets in the next step by default
        self.n_envs = envs.num_envs
        self.check_observation_space(envs)
        self.check_envs(envs)
        self.threads = self.use_threads(self.config, envs.single_observation_space)  # (intra-op, inter-op)
        self.action_space = envs.single_action_space
        self.observation_space = envs.single_observation_space
        self.models = dict(zip(self.model_roles, models))
        for model in self.models.values():
            if getattr(model, 'optimizer', None) is None:
                model.compile(optimizer=self.make_optimizer())
            model.optimizer.build(model.trainable_variables)
        self.rng = np.random.default_rng(self.config.seed)
        self.tf_rng = tf.random.Generator.from_seed(self.config.seed)
        if self.config.normalize_obs and is_image(self.observation_space):
            raise ValueError(
                f'--normalize-obs is for vectors: these observations are images '
                f'{self.observation_space.shape} uint8, which the models scale to [0, 1]; drop it'
            )
        self.obs_normalizer = self.make_obs_normalizer() if self.config.normalize_obs else None
        self.reward_normalizer = (
            RewardNormalizer(self.n_envs, self.config.gamma) if self.config.normalize_reward else None
        )
        # How the envs were made, for evaluation, play and the run's config.json (from_env sets it).
        self.env_recipe = getattr(envs, 'recipe', None) or EnvRecipe(envs.spec.id if envs.spec else 'unknown')
        self.model_files: list[str] | None = None
        self.masks = ActionMasks.of(envs, self.env_id, self.config.mask_actions, type(self).__name__, self.takes_masks)
        self.reset_counters()
        # The total steps the current fit may reach (its max_steps, None without one): what a
        # default given as a share of the run (DQN's epsilon decay) is measured against.
        self.budget: int | None = None
        self.schedules = scheduled_fields(self.config)
        self.scheduled_optimizers: list[keras.optimizers.Optimizer] = []
        self.graph_values = {
            name: tf.Variable(schedules.initial(getattr(self.config, name)), dtype=tf.float32, trainable=False)
            for name in self.graph_hyperparameters
        }
        self.hosts: dict[str, HostModel | None] = {}
        self.greedy_kept: tuple | None = None  # (weights version, observations, greedy actions)

    def make_obs_normalizer(self) -> ObservationNormalizer | KeyNormalizer:
        """Running statistics of the observations: of each vector key of Dict observations."""
        space = self.observation_space
        if not isinstance(space, gym.spaces.Dict):
            return ObservationNormalizer(space.shape)
        return KeyNormalizer(vector_keys(space))

    def reset_counters(self) -> None:
        """Steps, episodes, rewards and the state of the envs' current episodes, as before any training."""
        self.steps = 0
        self.episodes = 0
        self.episode_rewards: deque[float] = deque(maxlen=self.config.reward_buffer_size)
        self.mean_reward = float('nan')
        self.best_reward = float('-inf')
        self.losses: dict[str, float] = {}
        self.finished: list[dict] = []  # records of episodes finished since the loop last took them
        # While episodes are counted, the loop holds interrupts: no checkpoint counts one without its record.
        self.counting_episodes = False
        self.weights_version = 0
        self.observations: np.ndarray | None = None
        self.raw_observations: np.ndarray | None = None
        self.episode_returns = np.zeros(self.n_envs)
        self.episode_lengths = np.zeros(self.n_envs, np.int64)
        self.lives: np.ndarray | None = None
        self.action_masks: np.ndarray | None = None  # the legal actions of the current observations

    @property
    def env_id(self) -> str:
        """The environment as the user named it (``package.module:EnvId`` included)."""
        return self.env_recipe.name

    def host(self, role: str) -> HostModel | None:
        """The NumPy version of a model, with current weights, or None (TensorFlow acts): None when
        ``host_inference`` is off or the model has layers without a NumPy version (convolutions)."""
        if role not in self.hosts:
            self.hosts[role] = HostModel.of(self.models[role]) if self.config.host_inference else None
            if self.hosts[role] is not None:
                self.hosts[role].version = self.weights_version
        host = self.hosts[role]
        if host is not None and host.version != self.weights_version:
            host.refresh()
            host.version = self.weights_version
        return host

    def keep_greedy(self, observations: np.ndarray, actions: tf.Tensor) -> None:
        """Greedy actions an update computed in its own graph for ``observations``, with the weights
        it left: the next acting step on those observations takes them instead of a call of its own
        (or a copy of the new weights to the host)."""
        self.greedy_kept = (self.weights_version, observations, actions)

    def kept_greedy(self, observations: np.ndarray) -> np.ndarray | None:
        """The greedy actions kept for ``observations`` (the same array) and the current weights, or None."""
        kept = self.greedy_kept
        if kept is None or kept[0] != self.weights_version or kept[1] is not observations:
            return None
        return np.array(kept[2])

    def compiled(self, function):
        """``function`` compiled (``ConcreteCalls``), with XLA where ``xla_updates`` says."""
        return ConcreteCalls(function, jit_compile=self.xla_updates)

    def weights_changed(self) -> None:
        """Tell the host models to read the weights again (after training or loading).

        The agent calls it itself after each update; call it after setting a model's
        weights by hand.
        """
        self.weights_version += 1

    # ------------------------------------------------------------ subclass API
    def policy(self, observations: np.ndarray, *, deterministic: bool, masks: np.ndarray | None = None) -> np.ndarray:
        """Actions for a batch of (normalized) observations, among the legal ones of ``masks`` when given."""
        raise NotImplementedError

    def train_iteration(self) -> dict[str, float]:
        """Collect experience, update, and return the latest losses."""
        raise NotImplementedError

    def warm_up(self, progress) -> None:
        """Experience needed before the first update, told to ``progress(label, unit, done, total)``."""

    def trackables(self) -> dict:
        """Objects saved for resuming beyond the models and their optimizers."""
        return {}

    def role_trackables(self, role: str) -> dict:
        """Networks saved and loaded with a role's model (TD3's second critic with the critic)."""
        return {}

    def random_actions(self, n: int | None = None, masks: np.ndarray | None = None) -> np.ndarray:
        """Uniformly random actions for ``n`` envs (default: the agent's), as ``policy`` would give them
        (among the legal ones of ``masks`` when given)."""
        space, n = self.action_space, n or self.n_envs
        if masks is not None:
            return self.masks.random_actions(masks, self.rng)
        if isinstance(space, gym.spaces.Discrete):
            return self.rng.integers(0, space.n, n)
        if isinstance(space, (gym.spaces.MultiDiscrete, gym.spaces.MultiBinary)):
            high = space.nvec if isinstance(space, gym.spaces.MultiDiscrete) else 2
            return self.rng.integers(0, high, (n, *space.shape))
        return self.rng.uniform(space.low, space.high, (n, *space.shape)).astype(space.dtype)

    def action_bounds(self) -> tuple[np.ndarray, ...]:
        """``(low, high, center, scale)`` of a Box action space: the env takes ``center + scale *
        clip(action, low, high)`` of a policy action. Policies act in the env's bounds by default."""
        space = self.action_space
        return space.low, space.high, np.zeros_like(space.low), np.ones_like(space.low)

    def env_actions(self, actions: np.ndarray) -> np.ndarray:
        """Actions as the environment takes them (continuous actions clipped to bounds, then rescaled)."""
        if not isinstance(self.action_space, gym.spaces.Box):
            return actions
        low, high, center, scale = self.action_bounds()
        return center + scale * np.clip(actions, low, high)

    def greedy_actions(self, observations: tf.Tensor) -> tf.Tensor:
        """The most likely (greedy / mean) policy actions for normalized observations, in TensorFlow
        (what an exported policy computes); ``policy(..., deterministic=True)`` gives the same."""
        raise NotImplementedError

    def predict(
        self, observations, deterministic: bool = True, action_masks=None, *, sb3=False, state=None, episode_start=None
    ):
        """Env actions for raw observations: one observation (shaped as the space) gives one action, a
        batch (one more leading axis) one each. The action alone, not SB3's ``(action, state)``:
        ``sb3=True`` returns ``(action, state)``, so ``action, _ = agent.predict(obs, sb3=True)`` reads
        right for both, and SB3's ``state``/``episode_start`` are taken (the state comes back as given:
        no policy here is recurrent). Greedy by default for every agent (SB3: ``deterministic=False``);
        ``deterministic=False`` acts as in training. Normalization, rescaling and dtype are handled
        here: the action goes to ``env.step`` as it is. ``action_masks`` (one per observation, as the
        env gives them) keeps the actions among the legal ones."""
        actions = predict_actions(self, observations, deterministic, action_masks)
        return sb3_result(actions, sb3, state, episode_start)

    def set_budget(self, max_steps: int | None) -> None:
        """The total steps the current fit may reach: what schedules and shares of the run are measured against."""
        if max_steps is None and self.schedules:
            flags = ', '.join(f'{flag_name(name)} {getattr(self.config, name)}' for name in self.schedules)
            raise ValueError(f'{flags}: a schedule runs over --max-steps, give it')
        self.budget = max_steps
        # What an lr schedule sets before each iteration (found once, not on every step).
        self.scheduled_optimizers = self.optimizers() if 'lr' in self.schedules else []

    def optimizers(self) -> list[keras.optimizers.Optimizer]:
        """Every optimizer of the agent (those of its models and of what it trains besides them)."""
        extra = [value for value in self.trackables().values() if isinstance(value, keras.optimizers.Optimizer)]
        return [model.optimizer for model in self.models.values()] + extra

    def follow_schedules(self) -> None:
        """Every scheduled hyperparameter at its value for the current step of the budget."""
        progress = self.steps / self.budget
        for name in self.schedules:
            value = schedules.value_at(getattr(self.config, name), progress)
            if name == 'lr':
                for optimizer in self.scheduled_optimizers:
                    optimizer.learning_rate.assign(value)
            else:
                self.graph_values[name].assign(value)

    def iterate(self) -> dict[str, float]:
        """One ``train_iteration`` (schedules followed first); its losses are kept as floats in ``losses``."""
        if self.schedules:
            self.follow_schedules()
        self.losses = {name: float(value) for name, value in self.train_iteration().items()}
        return self.losses

    def take_finished(self) -> list[dict]:
        """The records of the episodes finished since the last call."""
        finished, self.finished = self.finished, []
        return finished

    # --------------------------------------------------------- environment step
    def normalize_observations(self, observations: np.ndarray, update: bool = False) -> np.ndarray:
        if self.obs_normalizer is None:
            return observations
        return self.obs_normalizer(observations, update)

    def reset_envs(self) -> None:
        seed = None if self.config.seed is None else self.config.seed + self.steps
        raw, info = self.envs.reset(seed=seed)
        self.lives = info.get('lives')
        if self.masks is not None:
            self.action_masks = self.masks.read(self.envs, info)
        self.observations = self.normalize_observations(raw, update=True)
        self.raw_observations = raw
        self.episode_returns[:] = 0
        self.episode_lengths[:] = 0

    def step_envs(self, actions: np.ndarray) -> dict[str, np.ndarray]:
        """Step all envs once and return the transition as the learner should see it.

        Returns a dict with ``observations`` (the next ones, already reset where an
        episode ended), ``final_observations`` (where an episode ended, its last one:
        bootstrap from it on truncation), ``rewards`` (clipped / normalized for
        training), ``terminals`` (true ends, plus life loss when configured),
        ``truncated`` and ``dones`` (episode ended either way).
        """
        raw, rewards, terminated, truncated, info = self.envs.step(self.env_actions(actions))
        if self.masks is not None:
            self.action_masks = self.masks.read(self.envs, info)
        done = terminated | truncated
        self.steps += self.n_envs
        self.episode_returns += rewards
        self.episode_lengths += 1
        if done.any():
            self.finish_episodes(done, info)
        final_raw = final_observations(info, raw, done)
        terminals = terminated.copy()
        lives = info.get('lives')
        if self.config.life_loss_terminal and lives is not None and self.lives is not None:
            terminals |= (lives < self.lives) & ~done
        self.lives = lives
        training_rewards = rewards.astype(np.float32)
        if self.config.clip_rewards:
            training_rewards = np.sign(training_rewards)
        if self.reward_normalizer is not None:
            training_rewards = self.reward_normalizer(training_rewards, done)
        observations = self.normalize_observations(raw, update=True)
        finals = self.normalize_observations(final_raw) if done.any() else observations
        self.observations, self.raw_observations = observations, raw
        return {
            'observations': observations,
            'raw_observations': raw,
            'final_observations': finals,
            'raw_final_observations': final_raw,
            'rewards': training_rewards,
            'terminals': terminals,
            'truncated': truncated & ~terminals,
            'dones': done,
            'next_masks': None if self.masks is None else self.masks.final(info, self.action_masks, done),
        }

    def finish_episodes(self, done: np.ndarray, info: dict | None = None) -> None:
        """Count the episodes that ended, update the reward statistics, keep a record of each (+ is_success)."""
        self.counting_episodes = True  # (at worst left True by an error: interrupts then wait an iteration)
        now = time.perf_counter()
        for index in np.flatnonzero(done):
            self.episodes += 1
            episode_reward = float(self.episode_returns[index])
            self.episode_rewards.append(episode_reward)
            self.mean_reward = float(np.mean(self.episode_rewards))
            improved = (
                len(self.episode_rewards) >= min(10, self.episode_rewards.maxlen)
                and self.mean_reward > self.best_reward
            )
            if improved:
                self.best_reward = self.mean_reward
            self.finished.append(
                {
                    'episode': self.episodes,
                    'step': self.steps,
                    'episode_reward': episode_reward,
                    'mean_reward': self.mean_reward,
                    'best_reward': self.best_reward if np.isfinite(self.best_reward) else None,
                    'episode_length': int(self.episode_lengths[index]),
                    'improved': improved,
                    'finished_at': now,
                    **final_success(info, index),
                }
            )
        self.episode_returns[done] = self.episode_lengths[done] = 0
        self.counting_episodes = False

    # ------------------------------------------------------------------ state
    def state(self) -> dict:
        """Python-side state saved in every checkpoint (JSON)."""
        return {
            'steps': self.steps,
            'episodes': self.episodes,
            'episode_rewards': list(self.episode_rewards),
            'best_reward': self.best_reward if np.isfinite(self.best_reward) else None,
            'rng': self.rng.bit_generator.state,
            'obs_normalizer': self.obs_normalizer.stats.state() if self.obs_normalizer else None,
            'reward_normalizer': self.reward_normalizer.stats.state() if self.reward_normalizer else None,
        }

    def load_state(self, state: dict) -> None:
        self.steps, self.episodes = state['steps'], state['episodes']
        self.episode_rewards.clear()
        self.episode_rewards.extend(state['episode_rewards'])
        self.mean_reward = float(np.mean(self.episode_rewards)) if self.episode_rewards else float('nan')
        self.best_reward = state['best_reward'] if state['best_reward'] is not None else float('-inf')
        self.rng.bit_generator.state = state['rng']
        self.load_normalizer_state(state)
        if self.reward_normalizer and state['reward_normalizer']:
            self.reward_normalizer.stats.load(state['reward_normalizer'])

    def load_normalizer_state(self, state: dict) -> None:
        """The observation statistics saved with a checkpoint (all that playing its models needs)."""
        if self.obs_normalizer and state.get('obs_normalizer'):
            self.obs_normalizer.stats.load(state['obs_normalizer'])
