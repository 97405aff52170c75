"""The shared training loop: BaseAgent, OnPolicy, ActorCritic and OffPolicy.

``BaseAgent.fit`` is a template: a subclass implements ``train_iteration`` (collect
experience and update, returning the latest losses) and ``policy`` (observations to
actions in a ``tf.function``); the base class steps the vector environment, counts
steps and episodes, keeps the reward statistics, logs, checkpoints, writes the history
and decides when to stop. Differences between agents are declared as class attributes
(``Config``, ``model_roles``), never detected.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import os
import sys
import time
import warnings
from collections import deque
from pathlib import Path

import gymnasium as gym
import keras
import numpy as np
import tensorflow as tf

from xagents.utils.buffers import ReplayBuffer
from xagents.utils.cli import AgentConfig, OffPolicyConfig, error_line, read_run_config
from xagents.utils.distributions import DiagGaussian, distribution_for, host_act
from xagents.utils.envs import (
    ObservationNormalizer,
    RewardNormalizer,
    create_envs,
    final_observations,
    is_atari,
)
from xagents.utils.history import History
from xagents.utils.models import HostModel, ModelReader, with_log_std
from xagents.utils.monitoring import Monitor, Progress
from xagents.utils.recording import (
    GifFile,
    TrainingVideos,
    VideoFile,
    cubic_schedule,
    render_one,
    save_frame,
    video_fps,
)

BEST_SAVE_INTERVAL = 5.0
PROGRESS_INTERVAL = 2.0
MAX_PLAY_ENVS = 16
EVAL_SEED_OFFSET = 10_000


class CheckpointError(ValueError):
    """Weights that cannot be loaded into the agent."""


class TrainingDiverged(RuntimeError):
    """A loss or a parameter became NaN or infinite; nothing after the last good save was saved."""


# The saved state (steps, episodes, best rewards, ...) inside every checkpoint.
STATE_KEY = 'state/.ATTRIBUTES/VARIABLE_VALUE'

# Test hook: from this step on, training reports a NaN loss (tests of the divergence stop).
NAN_AT_STEP = int(os.environ.get('XAGENTS_TEST_NAN_AT_STEP', 0)) or None


def checkpoint_prefix(path: str | os.PathLike) -> str:
    """The checkpoint prefix to read from a checkpoint folder or prefix."""
    path = Path(path)
    if path.is_dir():
        latest = tf.train.latest_checkpoint(str(path))
        if latest is None:
            raise CheckpointError(f'no checkpoint in {path}')
        return latest
    if Path(f'{path}.index').is_file():
        return str(path)
    raise CheckpointError(f'weights not found: {path}')


def has_checkpoint(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` holds a complete checkpoint (its pointer file names one)."""
    return Path(folder).is_dir() and tf.train.latest_checkpoint(str(folder)) is not None


# What a run writes in its folder: a new run refuses a folder holding any of these.
RUN_FILES = ('config.json', 'history.parquet', 'evaluations.parquet', 'replay-buffer.npz', 'latest', 'snapshots')


def check_new_run_dir(folder: Path, history_path=None) -> None:
    """A new run must not write over a run, or over files of the same names that are not a run's."""
    if has_checkpoint(folder / 'latest'):
        raise ValueError(
            f'{folder} is an existing run: --resume {folder} continues it, another --output-dir starts a new one'
        )
    if not (folder / 'latest').exists():
        taken = [name for name in RUN_FILES if (folder / name).exists()]
        taken = [name for name in taken if not (name == 'history.parquet' and history_path)]
        if taken and not _stopped_before_first_checkpoint(folder):
            raise ValueError(f'{folder} already holds {", ".join(taken)}: give a new or empty --output-dir')


def _stopped_before_first_checkpoint(folder: Path) -> bool:
    try:
        read_run_config(folder)
    except ValueError:
        return False
    return True


def saved_state(folder: str | os.PathLike) -> dict | None:
    """The state (steps, episodes, best rewards, ...) saved with the checkpoint in ``folder``."""
    if not has_checkpoint(folder):
        return None
    return json.loads(tf.train.load_variable(tf.train.latest_checkpoint(str(folder)), STATE_KEY).decode())


def new_run_dir(name: str, parent: str | os.PathLike = 'runs') -> Path:
    """A fresh ``<parent>/<name>-<time>`` folder, created here so that runs started together never share one."""
    Path(parent).mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime('%Y%m%d-%H%M%S')
    for attempt in range(1000):
        folder = Path(parent) / (f'{name}-{stamp}' + (f'-{attempt}' if attempt else ''))
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
    raise FileExistsError(f'could not create a new run directory for {name} in {parent}')


class BaseAgent:
    """Base of every agent: the loop, statistics, checkpoints and play.

    Args:
        envs: A vector environment from :func:`xagents.utils.envs.create_envs`.
        *models: Keras models, one per entry of ``model_roles``.
        checkpoints: Where to save the best models, one path per model (default: the
            run directory's ``best-<role>`` folders).
        history_checkpoint: Parquet file for the per-episode history (default: the run
            directory's ``history.parquet``).
        output_dir: Run directory for config, history and checkpoints (default:
            ``runs/<agent>-<env>-<time>``).
        **hyperparameters: Fields of ``Config``.
    """

    Config = AgentConfig
    model_roles: tuple[str, ...] = ('model',)
    # Default `.cfg` basenames per role, without the ann-/cnn- prefix.
    model_configs: tuple[str, ...] = ('actor-critic',)

    def __init__(
        self,
        envs: gym.vector.VectorEnv,
        *models: keras.Model,
        checkpoints: list[str] | None = None,
        history_checkpoint: str | None = None,
        output_dir: str | None = None,
        **hyperparameters,
    ):
        self.config = self.make_config(**hyperparameters)
        if len(models) != len(self.model_roles):
            raise ValueError(f'{type(self).__name__} takes {len(self.model_roles)} model(s), got {len(models)}')
        for label, paths in (('--checkpoints', checkpoints),):
            if paths is not None and len(paths) != len(self.model_roles):
                raise ValueError(
                    f'{label} needs {len(self.model_roles)} path(s) for {type(self).__name__}, got {len(paths)}'
                )
        self.envs = envs
        self.n_envs = envs.num_envs
        self.check_envs(envs)
        self.action_space = envs.single_action_space
        self.observation_space = envs.single_observation_space
        self.models = dict(zip(self.model_roles, models))
        for model in self.models.values():
            if getattr(model, 'optimizer', None) is None:
                model.compile(optimizer=self.make_optimizer())
            model.optimizer.build(model.trainable_variables)
        seed = self.config.seed
        self.rng = np.random.default_rng(seed)
        self.tf_rng = (
            tf.random.Generator.from_seed(seed)
            if seed is not None
            else tf.random.Generator.from_non_deterministic_state()
        )
        self.obs_normalizer = ObservationNormalizer(self.observation_space.shape) if self.config.normalize_obs else None
        self.reward_normalizer = (
            RewardNormalizer(self.n_envs, self.config.gamma) if self.config.normalize_reward else None
        )
        self.checkpoint_paths = checkpoints
        self.history_path = history_checkpoint
        self.output_dir = Path(output_dir) if output_dir else None
        self.history: History | None = None
        self.resumed = False
        self.evaluations: History | None = None
        self.monitor: Monitor | None = None
        self.videos: TrainingVideos | None = None
        self.videos_started = 0
        self.eval_envs: gym.vector.VectorEnv | None = None
        self.best_eval_reward = float('-inf')
        self.on_evaluation = None  # called with each evaluation's summary (tuning reports it)
        self.state_variable = tf.Variable('{}', dtype=tf.string, trainable=False)
        self.steps = 0
        self.episodes = 0
        self.elapsed = 0.0
        self.episode_rewards: deque[float] = deque(maxlen=self.config.reward_buffer_size)
        self.mean_reward = float('nan')
        self.best_reward = float('-inf')
        self.plateau_count = 0
        self.reductions = 0
        self.losses: dict[str, float] = {}
        self.weights_version = 0
        self.hosts: dict[str, HostModel | None] = {}
        self.observations: np.ndarray | None = None
        self.episode_returns = np.zeros(self.n_envs)
        self.episode_lengths = np.zeros(self.n_envs, np.int64)
        self.lives: np.ndarray | None = None
        self.env_kwargs: dict = {}
        self.env_id = envs.spec.id if envs.spec is not None else 'unknown'
        if self.records_training and getattr(envs, 'render_mode', None) != 'rgb_array':
            raise ValueError("--video-interval / --video-dir need envs made with render_mode='rgb_array'")

    @property
    def records_training(self) -> bool:
        return self.config.video_interval is not None or self.config.video_dir is not None

    # ----------------------------------------------------------------- building
    @classmethod
    def make_config(cls, **hyperparameters) -> AgentConfig:
        names = {field.name for field in dataclasses.fields(cls.Config)}
        unknown = sorted(set(hyperparameters) - names)
        if unknown:
            raise TypeError(f'{cls.__name__} got unknown hyperparameter(s): {", ".join(unknown)}')
        return cls.Config(**hyperparameters)

    @classmethod
    def check_envs(cls, envs: gym.vector.VectorEnv) -> None:
        """Raise a clear error when the environment's spaces do not suit the agent."""

    def make_optimizer(self) -> keras.optimizers.Optimizer:
        config = self.config
        return keras.optimizers.Adam(
            learning_rate=config.lr, epsilon=config.opt_epsilon, beta_1=config.beta1, beta_2=config.beta2
        )

    @classmethod
    def output_units(cls, envs: gym.vector.VectorEnv, config: AgentConfig) -> list[list[int]]:
        """Units of each role's ``output=1`` layers for ``envs``."""
        raise NotImplementedError

    @classmethod
    def default_model_files(cls, observation_space: gym.Space) -> list[Path]:
        kind = 'cnn' if len(observation_space.shape) == 3 else 'ann'
        folder = Path(sys.modules[cls.__module__].__file__).parent
        return [folder / 'models' / f'{kind}-{name}.cfg' for name in cls.model_configs]

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
        input_dtype = space.dtype if len(space.shape) == 3 else 'float32'
        return [
            ModelReader(path, units, space.shape, seed=config.seed, input_dtype=input_dtype).build_model()
            for path, units in zip(files, cls.output_units(envs, config))
        ]

    @classmethod
    def from_env(
        cls,
        env_id: str,
        n_envs: int = 1,
        preprocess: bool = False,
        max_frame: bool = False,
        async_envs: bool = False,
        model_files: list[str] | None = None,
        checkpoints: list[str] | None = None,
        history_checkpoint: str | None = None,
        output_dir: str | None = None,
        **hyperparameters,
    ) -> BaseAgent:
        """Make the environments and default models, then the agent.

        >>> agent = PPO.from_env('CartPole-v1', n_envs=16, seed=1)
        """
        if preprocess:
            hyperparameters.setdefault('clip_rewards', True)
            hyperparameters.setdefault('life_loss_terminal', True)
        config = cls.make_config(**hyperparameters)
        records = config.video_interval is not None or config.video_dir is not None
        envs = create_envs(
            env_id,
            n_envs,
            preprocess=preprocess,
            max_frame=max_frame,
            async_envs=async_envs,
            render_mode='rgb_array' if records else None,
        )
        if not preprocess and model_files is None and is_atari(env_id):
            envs.close()
            raise ValueError(
                f'{env_id} gives raw 210x160 colour frames, not what the CNN models are made for: add --preprocess '
                '(84x84 grayscale, 4 stacked frames), or give your own --model'
            )
        cls.check_envs(envs)
        models = cls.build_models(envs, model_files, config)
        agent = cls(
            envs,
            *models,
            checkpoints=checkpoints,
            history_checkpoint=history_checkpoint,
            output_dir=output_dir,
            **hyperparameters,
        )
        agent.env_kwargs = {'preprocess': preprocess, 'max_frame': max_frame}
        agent.model_files = [
            str(path) for path in (model_files or cls.default_model_files(envs.single_observation_space))
        ]
        return agent

    def host(self, role: str) -> HostModel | None:
        """The NumPy version of a model, with current weights, or None (TensorFlow acts).

        None when ``host_inference`` is off or the model has layers without a NumPy
        version (convolutions).
        """
        if role not in self.hosts:
            self.hosts[role] = HostModel.of(self.models[role]) if self.config.host_inference else None
            if self.hosts[role] is not None:
                self.hosts[role].version = self.weights_version
        host = self.hosts[role]
        if host is not None and host.version != self.weights_version:
            host.refresh()
            host.version = self.weights_version
        return host

    def compiled(self, function):
        """``function`` as a ``tf.function``, compiled with XLA when ``jit_compile`` is on
        and every model is dense.

        XLA's CPU convolutions are far slower than TensorFlow's own kernels (a PPO Pong
        update did not finish 2,048 steps in 400 s, against 3.4 s without XLA), so
        models with convolutions are compiled without it.
        """
        jit = self.config.jit_compile and all(HostModel.of(model) is not None for model in self.models.values())
        return tf.function(function, reduce_retracing=True, jit_compile=jit)

    def weights_changed(self) -> None:
        """Tell the host models to read the weights again (after training or loading).

        The agent calls it itself after each update; call it after setting a model's
        weights by hand.
        """
        self.weights_version += 1

    # ------------------------------------------------------------ subclass API
    def policy(self, observations: np.ndarray, deterministic: bool = False) -> np.ndarray:
        """Actions for a batch of (normalized) observations."""
        raise NotImplementedError

    def train_iteration(self) -> dict[str, float]:
        """Collect experience, update, and return the latest losses."""
        raise NotImplementedError

    def trackables(self) -> dict:
        """Objects saved for resuming beyond the models and their optimizers."""
        return {}

    def role_trackables(self, role: str) -> dict:
        """Networks saved and loaded with a role's model (TD3's second critic with the critic)."""
        return {}

    def random_actions(self, n: int | None = None) -> np.ndarray:
        """Uniformly random actions for ``n`` envs (default: the agent's), as ``policy`` would give them."""
        space, n = self.action_space, n or self.n_envs
        if isinstance(space, gym.spaces.Discrete):
            return self.rng.integers(0, space.n, n)
        return self.rng.uniform(space.low, space.high, (n, *space.shape)).astype(space.dtype)

    def env_actions(self, actions: np.ndarray) -> np.ndarray:
        """Actions as the environment takes them (continuous actions clipped to bounds)."""
        if isinstance(self.action_space, gym.spaces.Box):
            return np.clip(actions, self.action_space.low, self.action_space.high)
        return actions

    # --------------------------------------------------------- environment step
    def normalize_observations(self, observations: np.ndarray, update: bool = False) -> np.ndarray:
        if self.obs_normalizer is None:
            return observations
        return self.obs_normalizer(observations, update)

    def reset_envs(self) -> None:
        seed = None if self.config.seed is None else self.config.seed + self.steps
        raw, info = self.envs.reset(seed=seed)
        self.lives = info.get('lives')
        self.observations = self.normalize_observations(raw, update=True)
        self.raw_observations = raw
        self.episode_returns[:] = 0
        self.episode_lengths[:] = 0
        if self.videos is not None:
            self.videos.reset()

    def step_envs(self, actions: np.ndarray) -> dict[str, np.ndarray]:
        """Step all envs once and return the transition as the learner should see it.

        Returns a dict with ``observations`` (the next ones, already reset where an
        episode ended), ``final_observations`` (where an episode ended, its last one:
        bootstrap from it on truncation), ``rewards`` (clipped / normalized for
        training), ``terminals`` (true ends, plus life loss when configured),
        ``truncated`` and ``dones`` (episode ended either way).
        """
        raw, rewards, terminated, truncated, info = self.envs.step(self.env_actions(actions))
        done = terminated | truncated
        self.steps += self.n_envs
        self.episode_returns += rewards
        self.episode_lengths += 1
        if done.any():
            self.finish_episodes(done)
        if self.videos is not None:
            self.videos.step(done)
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
        }

    def finish_episodes(self, done: np.ndarray) -> None:
        for index in np.flatnonzero(done):
            self.episodes += 1
            episode_reward = float(self.episode_returns[index])
            self.episode_rewards.append(episode_reward)
            self.mean_reward = float(np.mean(self.episode_rewards))
            if (
                len(self.episode_rewards) >= min(10, self.episode_rewards.maxlen)
                and self.mean_reward > self.best_reward
            ):
                self.best_reward = self.mean_reward
                self.plateau_count = 0
                # With evaluations, they choose the best checkpoint instead.
                self.best_pending = self.config.eval_interval is None
            else:
                self.plateau_count += 1
            self.summarize(
                {
                    'episode/reward': episode_reward,
                    'episode/length': float(self.episode_lengths[index]),
                    'episode/mean_reward': self.mean_reward,
                }
            )
            if self.history is not None:
                self.history.append(
                    {
                        'episode': self.episodes,
                        'step': self.steps,
                        'time': self.elapsed_time(),
                        'episode_reward': episode_reward,
                        'mean_reward': self.mean_reward,
                        'best_reward': self.best_reward if np.isfinite(self.best_reward) else None,
                        'episode_length': int(self.episode_lengths[index]),
                        **self.losses,
                    }
                )
        self.episode_returns[done] = 0
        self.episode_lengths[done] = 0

    # ------------------------------------------------------------- the loop
    def elapsed_time(self) -> float:
        return self.elapsed + time.perf_counter() - self.fit_start

    def fit(self, target_reward: float | None = None, max_steps: int | None = None) -> str:
        """Train until ``target_reward`` (mean over ``reward_buffer_size`` episodes) or ``max_steps``.

        Returns:
            Why training stopped: ``target``, ``max_steps``, ``early_stop`` or ``interrupted``.
        """
        if target_reward is None and max_steps is None:
            raise ValueError('give a target reward or a maximum number of steps')
        self.fit_start = time.perf_counter()
        self.prepare_run()
        if self.observations is None:
            self.reset_envs()
        if not has_checkpoint(self.output_dir / 'latest'):
            self.save_latest()  # a run killed at any moment from now on can be resumed
        last_save = last_progress = time.perf_counter()
        progress_episodes = self.episodes
        next_eval = _next_multiple(self.steps, self.config.eval_interval)
        next_snapshot = _next_multiple(self.steps, self.config.snapshot_interval)
        self.best_pending, last_best = False, 0.0
        steps_at_progress, time_at_progress = self.steps, time.perf_counter()
        reason, diverged = None, False
        try:
            while reason is None:
                self.losses = {name: float(value) for name, value in self.train_iteration().items()}
                if NAN_AT_STEP is not None and self.steps >= NAN_AT_STEP:
                    self.losses[next(iter(self.losses))] = float('nan')
                self.check_losses()
                if self.steps >= next_eval:
                    self.evaluate()
                    next_eval = _next_multiple(self.steps, self.config.eval_interval)
                if self.steps >= next_snapshot:
                    self.save_snapshot()
                    next_snapshot = _next_multiple(self.steps, self.config.snapshot_interval)
                now = time.perf_counter()
                if self.best_pending and now - last_best >= BEST_SAVE_INTERVAL:
                    self.save_best()
                    last_best = now
                reason = self.check_stop(target_reward, max_steps)
                frequency = self.config.log_frequency
                due = (
                    self.episodes - progress_episodes >= frequency
                    if frequency
                    else now - last_progress >= PROGRESS_INTERVAL and self.episodes > progress_episodes
                )
                if due or reason:
                    self.print_progress(self.steps - steps_at_progress, now - time_at_progress)
                    steps_at_progress, time_at_progress = self.steps, now
                    progress_episodes, last_progress = self.episodes, now
                if now - last_save >= self.config.save_interval:
                    self.save_latest()
                    last_save = now
        except KeyboardInterrupt:
            reason = 'interrupted'
        except TrainingDiverged:
            diverged = True
            raise
        finally:
            self.elapsed = self.elapsed_time()
            if self.videos is not None:
                self.videos.close()
            if not diverged:  # after a divergence the last good checkpoint stays as it is
                self.save_latest()  # first: the run can be resumed even if the best save fails
                if self.best_pending:
                    self.save_best()
            if self.monitor is not None:
                self.monitor.close()
                self.monitor = None
        self.console(
            {
                'target': f'Reward achieved in {self.steps} steps',
                'max_steps': 'Maximum steps exceeded',
                'early_stop': f'Early stopping after {self.reductions} learning rate reductions',
                'interrupted': f'Interrupted at step {self.steps}; run saved in {self.output_dir}',
            }[reason]
        )
        return reason

    def check_losses(self) -> None:
        for name, value in self.losses.items():
            if not math.isfinite(value):
                raise TrainingDiverged(f'{name} is {value} at step {self.steps:,}{self._last_good()}')

    def check_weights(self) -> None:
        """Refuse to save NaN or infinite parameters over a good checkpoint."""
        for role, model in self.models.items():
            for weight in model.weights:
                if not np.isfinite(weight.numpy()).all():
                    raise TrainingDiverged(
                        f'{role} parameter {weight.path} is not finite at step {self.steps:,}{self._last_good()}'
                    )

    def _last_good(self) -> str:
        saved = self.output_dir and saved_state(self.output_dir / 'latest')
        if not saved:
            return '; nothing was saved'
        return (
            f'; training stopped and the last good checkpoint (step {saved["steps"]:,}) is kept in {self.output_dir}: '
            'lower --lr, or --resume it'
        )

    def check_stop(self, target_reward: float | None, max_steps: int | None) -> str | None:
        if (
            target_reward is not None
            and len(self.episode_rewards) == self.episode_rewards.maxlen
            and self.mean_reward >= target_reward
        ):
            return 'target'
        if max_steps is not None and self.steps >= max_steps:
            return 'max_steps'
        monitoring = self.config.divergence_monitoring_steps
        if (
            monitoring is not None
            and self.steps >= monitoring
            and self.plateau_count >= self.config.plateau_reduce_patience
        ):
            self.plateau_count = 0
            self.reductions += 1
            for model in self.models.values():
                rate = model.optimizer.learning_rate
                rate.assign(rate * self.config.plateau_reduce_factor)
            self.console(f'Learning rate reduced to {float(rate.numpy()):.3g} (plateau {self.reductions})')
            if self.reductions >= self.config.early_stop_patience:
                return 'early_stop'
        return None

    def console(self, message: str) -> None:
        if not self.config.quiet:
            print(message, flush=True)

    def summarize(self, scalars: dict[str, float]) -> None:
        """Send scalars to TensorBoard and wandb at the current step (``--tensorboard``, ``--monitor-session``)."""
        if self.monitor is not None:
            self.monitor.scalars(self.steps, scalars)

    def print_progress(self, steps: int, seconds: float) -> None:
        first_model = next(iter(self.models.values()))
        self.summarize(
            {
                'time/steps_per_second': steps / max(seconds, 1e-9),
                'train/learning_rate': float(first_model.optimizer.learning_rate.numpy()),
                **{f'train/{name}': value for name, value in self.losses.items()},
            }
        )
        precision = self.config.display_precision
        elapsed = datetime.timedelta(seconds=int(self.elapsed_time()))
        parts = [
            f'time {elapsed}',
            f'steps {self.steps:,}',
            f'games {self.episodes:,}',
            f'speed {steps / max(seconds, 1e-9):,.0f} steps/s',
            # No best before 10 episodes, no mean before the first: shown as '-', not '-inf' / 'nan'.
            'mean reward ' + (f'{self.mean_reward:.{precision}f}' if np.isfinite(self.mean_reward) else '-'),
            'best reward ' + (f'{self.best_reward:.{precision}f}' if np.isfinite(self.best_reward) else '-'),
        ]
        parts += [f'{name} {value:.{max(precision, 4)}g}' for name, value in self.losses.items()]
        self.console(' | '.join(parts))

    # ------------------------------------------------------ run dir and saving
    def prepare_run(self) -> None:
        """Create the run directory, write config.json and open the history."""
        for path in self.checkpoint_paths or []:
            if Path(path).exists() and not Path(path).is_dir():
                raise ValueError(f'--checkpoints {path} is a file: checkpoints are folders')
        if self.history is None and self.history_path:
            History(self.history_path)  # a bad history file is an error before any folder is made
        if self.output_dir is None:
            self.output_dir = new_run_dir(f'{type(self).__name__.lower()}-{self.env_id.replace("/", "-")}')
        if self.history is None and not self.resumed:
            check_new_run_dir(self.output_dir, self.history_path)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self.console(f'Run directory: {self.output_dir}')
        if self.checkpoint_paths is None:
            self.checkpoint_paths = [str(self.output_dir / f'best-{role}') for role in self.model_roles]
        if self.history is None:
            self.history = History(self.history_path or self.output_dir / 'history.parquet')
            last = self.history.last()
            if last is not None and self.steps == 0 and not self.resumed:
                # Continue an existing history file: counters pick up where it stopped.
                self.steps, self.episodes, self.elapsed = int(last['step']), int(last['episode']), float(last['time'])
                self.episode_rewards.extend(self.history.column('episode_reward')[-self.episode_rewards.maxlen :])
                self.mean_reward = float(last['mean_reward'])
                self.best_reward = float(last['best_reward']) if last['best_reward'] is not None else float('-inf')
            else:
                self.history.truncate(self.steps)
        if self.config.eval_interval is not None and self.evaluations is None:
            self.evaluations = History(self.output_dir / 'evaluations.parquet', required=('step', 'mean_reward'))
            self.evaluations.truncate(self.steps)
        config = self.write_run_config()
        if (self.config.tensorboard or self.config.monitor_session) and self.monitor is None:
            self.monitor = Monitor(
                self.output_dir, self.config.tensorboard, self.config.monitor_session, config, self.console
            )
        if self.records_training and self.videos is None:
            config = self.config
            self.videos = TrainingVideos(
                self.envs,
                config.video_dir or self.output_dir / 'videos',
                cubic_schedule
                if config.video_interval is None
                else lambda episode: episode % config.video_interval == 0,
                video_fps(self.envs, self.env_kwargs.get('preprocess', False)),
                self.env_id.replace('/', '-'),
                on_video=self.on_video,
                started=self.videos_started,
            )
            if self.observations is not None:
                self.videos.reset()

    def on_video(self, path: Path, episode: int) -> None:
        self.console(f'Video of training episode {episode}: {path}')
        if self.monitor is not None:
            self.monitor.video(self.steps, path)

    def write_run_config(self) -> dict:
        import xagents

        config = {
            'agent': type(self).__name__.lower(),
            'env': self.env_id,
            'n_envs': self.n_envs,
            **self.env_kwargs,
            'hyperparameters': dataclasses.asdict(self.config),
            'model_files': getattr(self, 'model_files', None),
            'checkpoints': [str(Path(path).resolve()) for path in self.checkpoint_paths],
            'history': str(self.history.path.resolve()),
            'versions': {'xagents': xagents.__version__, 'tensorflow': tf.__version__, 'gymnasium': gym.__version__},
        }
        path = self.output_dir / 'config.json'
        temporary = path.with_suffix('.json.tmp')
        temporary.write_text(json.dumps(config, indent=2))
        os.replace(temporary, path)
        return config

    def state(self) -> dict:
        """Python-side state saved in every checkpoint (JSON)."""
        return {
            'steps': self.steps,
            'episodes': self.episodes,
            'elapsed': self.elapsed_time() if hasattr(self, 'fit_start') else self.elapsed,
            'episode_rewards': list(self.episode_rewards),
            'best_reward': self.best_reward if np.isfinite(self.best_reward) else None,
            'plateau_count': self.plateau_count,
            'reductions': self.reductions,
            'rng': self.rng.bit_generator.state,
            'obs_normalizer': self.obs_normalizer.stats.state() if self.obs_normalizer else None,
            'reward_normalizer': self.reward_normalizer.stats.state() if self.reward_normalizer else None,
            'episodes_started': self.videos.started if self.videos is not None else self.videos_started,
            'best_eval_reward': self.best_eval_reward if np.isfinite(self.best_eval_reward) else None,
        }

    def load_state(self, state: dict) -> None:
        self.steps, self.episodes, self.elapsed = state['steps'], state['episodes'], state['elapsed']
        self.episode_rewards.clear()
        self.episode_rewards.extend(state['episode_rewards'])
        self.mean_reward = float(np.mean(self.episode_rewards)) if self.episode_rewards else float('nan')
        self.best_reward = state['best_reward'] if state['best_reward'] is not None else float('-inf')
        self.plateau_count, self.reductions = state['plateau_count'], state['reductions']
        self.rng.bit_generator.state = state['rng']
        if self.obs_normalizer and state['obs_normalizer']:
            self.obs_normalizer.stats.load(state['obs_normalizer'])
        if self.reward_normalizer and state['reward_normalizer']:
            self.reward_normalizer.stats.load(state['reward_normalizer'])
        self.videos_started = state.get('episodes_started') or 0
        best_eval = state.get('best_eval_reward')
        self.best_eval_reward = float('-inf') if best_eval is None else best_eval

    def _full_checkpoint(self) -> tf.train.Checkpoint:
        objects = {}
        for role, model in self.models.items():
            objects[role] = model
            objects[f'{role}_optimizer'] = model.optimizer
        return tf.train.Checkpoint(**objects, **self.trackables(), tf_rng=self.tf_rng, state=self.state_variable)

    def _model_checkpoint(self, role: str) -> tf.train.Checkpoint:
        model = self.models[role]
        return tf.train.Checkpoint(
            model=model, optimizer=model.optimizer, state=self.state_variable, **self.role_trackables(role)
        )

    @staticmethod
    def _save(checkpoint: tf.train.Checkpoint, folder: str | os.PathLike) -> None:
        # Each save gets the next number, so it never writes over the files the pointer names;
        # CheckpointManager moves its pointer file atomically, then deletes the older files:
        # a kill at any moment leaves the previous complete checkpoint in force.
        latest = tf.train.latest_checkpoint(str(folder))
        number = int(latest.rsplit('-', 1)[1]) + 1 if latest else 1
        tf.train.CheckpointManager(checkpoint, str(folder), max_to_keep=1).save(checkpoint_number=number)

    def save_latest(self) -> None:
        """Everything needed to resume, plus the history, written crash-safely.

        The history first: rows past a checkpoint's step are dropped when it is resumed, so a
        kill between the two writes neither loses nor repeats a row.
        """
        if self.output_dir is None:
            return
        self.check_weights()
        for table in (self.history, self.evaluations):
            if table is not None:
                table.flush()
        self.state_variable.assign(json.dumps(self.state()))
        self._save(self._full_checkpoint(), self.output_dir / 'latest')
        if self.monitor is not None:
            self.monitor.flush()

    def save_best(self) -> None:
        self._save_models(self.checkpoint_paths)
        self.best_pending = False

    def _save_models(self, paths: list[str | os.PathLike]) -> None:
        self.check_weights()
        self.state_variable.assign(json.dumps(self.state()))
        for role, path in zip(self.model_roles, paths):
            self._save(self._model_checkpoint(role), path)

    def save_snapshot(self) -> None:
        """The models now, in ``snapshots/step-<steps>/<role>`` of the run directory."""
        folder = self.output_dir / 'snapshots' / f'step-{self.steps}'
        self._save_models([folder / role for role in self.model_roles])

    def evaluate(self) -> dict[str, float]:
        """Play ``eval_episodes`` greedy episodes on separate envs; log them; a new best mean saves the best models."""
        config = self.config
        self.weights_changed()
        if self.eval_envs is None:
            self.eval_envs = create_envs(self.env_id, min(config.eval_episodes, MAX_PLAY_ENVS), **self.env_kwargs)
            seed = None if config.seed is None else config.seed + EVAL_SEED_OFFSET
        else:
            seed = None  # the envs' own generators go on: fresh starts each time
        progress = Progress(f'Evaluation at step {self.steps:,}', config.eval_episodes, 'episodes', self.console)
        results = self._play_in_parallel(self.eval_envs, config.eval_episodes, True, seed, False, progress=progress)
        rewards, lengths = [r['reward'] for r in results], [r['length'] for r in results]
        summary = {
            'mean_reward': float(np.mean(rewards)),
            'std_reward': float(np.std(rewards)),
            'mean_length': float(np.mean(lengths)),
        }
        improved = summary['mean_reward'] > self.best_eval_reward
        if improved:
            self.best_eval_reward = summary['mean_reward']
            self.save_best()
        self.summarize({f'eval/{name}': value for name, value in summary.items()})
        if self.evaluations is not None:
            self.evaluations.append(
                {'step': self.steps, 'time': self.elapsed_time(), 'episodes': len(results), **summary}
            )
        progress.finish(
            f'mean reward {summary["mean_reward"]:.{config.display_precision}f} '
            f'± {summary["std_reward"]:.{config.display_precision}f} over {len(results)} episodes, '
            + (
                'a new best: best checkpoint saved'
                if improved
                else f'best {self.best_eval_reward:.{config.display_precision}f}'
            )
        )
        if self.on_evaluation is not None:
            self.on_evaluation(summary)
        return summary

    def resume(self, run_dir: str | os.PathLike) -> None:
        """Restore weights, optimizers, counters, RNG and normalizers from a run directory."""
        run_dir = Path(run_dir)
        config = self._run_config(run_dir)
        if not has_checkpoint(run_dir / 'latest'):
            raise CheckpointError(f'{run_dir} stopped before its first checkpoint: start it again (same --output-dir)')
        self.output_dir, self.resumed = run_dir, True
        self.checkpoint_paths = config['checkpoints']
        self.history_path = config['history']
        self._read(self._full_checkpoint(), run_dir / 'latest', exact=True)
        self.weights_changed()
        self.load_state(json.loads(self.state_variable.numpy().decode()))
        # A best checkpoint saved after the latest one (then a kill) keeps its mark: a later,
        # worse result must not replace it.
        for best in filter(None, map(saved_state, self.checkpoint_paths)):
            for name in ('best_reward', 'best_eval_reward'):
                if best.get(name) is not None and best[name] > getattr(self, name):
                    setattr(self, name, best[name])

    def load_weights(self, paths: list[str | os.PathLike]) -> None:
        """Load models (and their normalizer statistics) from checkpoints, one per model.

        Accepts checkpoint folders (``--checkpoints`` output, such as ``model.tf``), checkpoint
        prefixes, Keras ``.weights.h5`` files, or a run directory for all models.
        """
        self.weights_changed()
        if len(paths) == 1 and (Path(paths[0]) / 'config.json').is_file():
            run_dir = Path(paths[0])
            paths = self._run_config(run_dir)['checkpoints']
            if not all(has_checkpoint(path) for path in paths) and has_checkpoint(run_dir / 'latest'):
                # No best checkpoint yet (no episode had finished): the latest one has every model.
                self.console(f'No best checkpoint in {run_dir} yet; loading its latest checkpoint')
                checkpoint = tf.train.Checkpoint(**self.models, state=self.state_variable)
                self._read(checkpoint, run_dir / 'latest', exact=False)
                self.load_normalizer_state()
                return
        if len(paths) != len(self.model_roles):
            raise CheckpointError(
                f'--weights needs {len(self.model_roles)} path(s) for {type(self).__name__}, got {len(paths)}'
            )
        for role, path in zip(self.model_roles, paths):
            if str(path).endswith('.weights.h5'):
                if not Path(path).is_file():
                    raise CheckpointError(f'weights not found: {path}')
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter('ignore')  # Keras warns, line by line, about what did not match
                        self.models[role].load_weights(path)
                except (ValueError, OSError, KeyError, IndexError) as error:
                    raise CheckpointError(
                        f'cannot load {path} into this agent and environment: {error_line(error)}'
                    ) from None
                continue
            checkpoint = tf.train.Checkpoint(
                model=self.models[role], state=self.state_variable, **self.role_trackables(role)
            )
            self._read(checkpoint, path, exact=False)
            self.load_normalizer_state()

    def _run_config(self, run_dir: Path) -> dict:
        """A run's config.json, checked to be this agent's on this environment."""
        try:
            config = read_run_config(run_dir)
        except ValueError as error:
            raise CheckpointError(str(error)) from None
        agent = type(self).__name__.lower()
        if (config['agent'], config['env']) != (agent, self.env_id):
            raise CheckpointError(
                f'{run_dir} is a run of {config["agent"]} on {config["env"]}, not of {agent} on {self.env_id}'
            )
        return config

    def load_normalizer_state(self) -> None:
        """Observation statistics from the state read with a checkpoint."""
        state = json.loads(self.state_variable.numpy().decode())
        if self.obs_normalizer and state.get('obs_normalizer'):
            self.obs_normalizer.stats.load(state['obs_normalizer'])

    @staticmethod
    def _read(checkpoint: tf.train.Checkpoint, path, exact: bool) -> None:
        prefix = checkpoint_prefix(path)
        try:
            status = checkpoint.read(prefix)
            status.assert_existing_objects_matched() if exact else status.expect_partial()
            if not exact:
                status.assert_nontrivial_match()
        except (tf.errors.OpError, ValueError, AssertionError, IndexError, KeyError) as error:  # damaged files too
            raise CheckpointError(f'cannot load {path} into this agent and environment: {error_line(error)}') from None

    # ------------------------------------------------------------------- play
    def play(
        self,
        episodes: int = 1,
        video_dir: str | None = None,
        frame_dir: str | None = None,
        frame_frequency: int = 1,
        render: bool = False,
        max_steps: int | None = None,
        deterministic: bool = True,
        seed: int | None = None,
        name_prefix: str | None = None,
        random: bool = False,
        max_envs: int = MAX_PLAY_ENVS,
        gif: str | None = None,
    ) -> list[dict[str, float]]:
        """Play ``episodes`` episodes and return each one's ``reward``, ``length`` and ``seconds``.

        Without recording, rendering or ``max_steps`` the episodes run in parallel over up
        to ``max_envs`` environments, each playing a fixed share of them (so short episodes
        are not over-counted); otherwise one environment plays them in turn, rendering to
        RGB arrays for the videos (``<name_prefix>-episode-<k>.mp4`` in ``video_dir``), the
        frames (every ``frame_frequency``-th, in ``frame_dir``) and the gif of the first
        episode (``gif``, every ``frame_frequency``-th frame). ``random`` plays uniformly
        random actions, as a baseline. Training-only signal changes (reward clipping,
        life-loss terminals) do not apply and normalization statistics are frozen.
        """
        self.weights_changed()
        recording = video_dir is not None or frame_dir is not None or gif is not None
        if render and not os.environ.get('DISPLAY'):
            print('No display found: --render ignored (use --video-dir, --frame-dir or --gif to see the agent).')
            render = False
        in_turn = recording or render or max_steps is not None
        render_mode = 'rgb_array' if recording else 'human' if render else None
        envs = create_envs(
            self.env_id, 1 if in_turn else min(episodes, max_envs), render_mode=render_mode, **self.env_kwargs
        )
        try:
            if not in_turn:
                return self._play_in_parallel(envs, episodes, deterministic, seed, random, report=True)
            outputs = {'video_dir': video_dir, 'frame_dir': frame_dir, 'gif': gif}
            prefix = name_prefix or self.env_id.replace('/', '-')
            return self._play_in_turn(
                envs, episodes, max_steps, deterministic, seed, random, outputs, frame_frequency, prefix
            )
        finally:
            envs.close()

    def _play_actions(self, observations: np.ndarray, deterministic: bool, random: bool) -> np.ndarray:
        if random:
            return self.random_actions(len(observations))
        return self.policy(self.normalize_observations(observations), deterministic=deterministic)

    @staticmethod
    def _report_episode(results: list[dict], reward: float, length: int, seconds: float, report: bool, note=''):
        results.append({'reward': reward, 'length': length, 'seconds': seconds})
        if report:
            print(
                f'episode {len(results)}: reward {reward:.2f}, steps {length}, time {seconds:.2f} s{note}', flush=True
            )

    def _play_in_parallel(
        self, envs, episodes: int, deterministic: bool, seed, random: bool, report=False, progress=None
    ) -> list[dict]:
        n_envs = envs.num_envs
        quotas = episodes // n_envs + (np.arange(n_envs) < episodes % n_envs)
        finished = np.zeros(n_envs, np.int64)
        returns, lengths = np.zeros(n_envs), np.zeros(n_envs, np.int64)
        starts = np.full(n_envs, time.perf_counter())
        results: list[dict] = []
        observations, _ = envs.reset(seed=seed)
        while len(results) < episodes:
            actions = self._play_actions(observations, deterministic, random)
            observations, rewards, terminated, truncated, _ = envs.step(self.env_actions(actions))
            returns += rewards
            lengths += 1
            now = time.perf_counter()
            for index in np.flatnonzero(terminated | truncated):
                if finished[index] < quotas[index]:
                    reward, length = float(returns[index]), int(lengths[index])
                    self._report_episode(results, reward, length, now - starts[index], report)
                    finished[index] += 1
                returns[index], lengths[index], starts[index] = 0.0, 0, now
            if progress is not None:
                progress.update(len(results))
        return results

    def _play_in_turn(
        self, envs, episodes, max_steps, deterministic, seed, random, outputs: dict, frame_frequency, prefix
    ) -> list[dict]:
        """One env plays the episodes in turn; ``outputs`` names the video, frame and gif destinations."""
        video_dir, frame_dir, gif_path = outputs['video_dir'], outputs['frame_dir'], outputs['gif']
        recording = any(value is not None for value in outputs.values())
        fps = video_fps(envs, self.env_kwargs.get('preprocess', False))
        if frame_dir is not None:
            Path(frame_dir).mkdir(parents=True, exist_ok=True)
        gif = GifFile(gif_path, fps / frame_frequency) if gif_path is not None else None
        video, results = None, []
        observations, _ = envs.reset(seed=seed)
        episode_reward, episode_steps, total_steps = 0.0, 0, 0
        start = last_line = time.perf_counter()
        try:
            while len(results) < episodes:
                if recording:
                    frame = render_one(envs)
                    if video_dir is not None:
                        video = video or VideoFile(Path(video_dir) / f'{prefix}-episode-{len(results)}.mp4', fps)
                        video.append(frame)
                    if total_steps % frame_frequency == 0:
                        if frame_dir is not None:
                            save_frame(Path(frame_dir) / f'{total_steps:06d}.jpg', frame)
                        if gif is not None and not results:
                            gif.append(frame)
                actions = self._play_actions(observations, deterministic, random)
                observations, reward, terminated, truncated, _ = envs.step(self.env_actions(actions))
                episode_reward += float(reward[0])
                episode_steps += 1
                total_steps += 1
                ended = terminated[0] or truncated[0]
                now = time.perf_counter()
                if ended or (max_steps is not None and episode_steps >= max_steps):
                    note = ''
                    if video is not None:
                        note, video = f' -> {video.close()}', None
                    if gif is not None and not results:
                        note += f' -> {gif.close()}'
                    self._report_episode(results, episode_reward, episode_steps, now - start, True, note)
                    episode_reward, episode_steps, start = 0.0, 0, now
                    if not ended:
                        observations, _ = envs.reset()
                elif now - last_line >= PROGRESS_INTERVAL:
                    print(f'episode {len(results) + 1}: {episode_steps:,} steps so far, reward {episode_reward:.2f}')
                    last_line = now
        finally:
            if video is not None:
                video.close()
        return results


def _next_multiple(steps: int, interval: int | None) -> float:
    """The first multiple of ``interval`` above ``steps`` (infinity without an interval)."""
    return float('inf') if interval is None else (steps // interval + 1) * interval


class OnPolicy(BaseAgent):
    """Agents that learn from fresh rollouts of ``n_steps`` steps of every env.

    A subclass implements ``rollout_step`` (actions plus whatever it needs stored per
    step, such as log-probabilities and values), ``values`` (state values, used to
    bootstrap truncated episodes) and ``update`` (one training step on the rollout).
    """

    def rollout_step(self, observations: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        raise NotImplementedError

    def values(self, observations: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def update(self, rollout: dict[str, np.ndarray]) -> dict[str, float]:
        raise NotImplementedError

    def collect_rollout(self) -> dict[str, np.ndarray]:
        """``n_steps`` transitions of every env, time-major, plus ``last_observations`` and ``last_values``.

        A truncated episode (time limit) did not really end: its reward gets
        ``gamma * V(final observation)`` so the return is bootstrapped, and ``dones``
        still cuts the return there because the next observation belongs to a new
        episode.
        """
        steps = []
        for _ in range(self.config.n_steps):
            observations = self.observations
            actions, extras = self.rollout_step(observations)
            transition = self.step_envs(actions)
            rewards = transition['rewards']
            if transition['truncated'].any():
                truncated = transition['truncated']
                rewards = rewards.copy()
                rewards[truncated] += self.config.gamma * self.values(transition['final_observations'][truncated])
            steps.append(
                {
                    'observations': observations,
                    'actions': actions,
                    'rewards': rewards,
                    'dones': (transition['dones'] | transition['terminals']).astype(np.float32),
                    **extras,
                }
            )
        rollout = {name: np.stack([step[name] for step in steps]) for name in steps[0]}
        rollout['last_observations'] = self.observations
        rollout['last_values'] = self.values(self.observations)
        return rollout

    def train_iteration(self) -> dict[str, float]:
        losses = self.update(self.collect_rollout())
        self.weights_changed()
        return losses


class ActorCritic(OnPolicy):
    """On-policy agents with a stochastic policy and a state-value estimate.

    The distribution follows the action space (categorical or diagonal Gaussian). The
    first model is the policy: its first output holds the logits or the means, and for
    continuous actions a state-independent log-std output is appended to it. By
    default the policy model also has the value head as its second output; agents with
    a separate critic override ``policy_and_values``.
    """

    def __init__(self, envs, *models, **kwargs):
        if isinstance(envs.single_action_space, gym.spaces.Box):
            models = (with_log_std(models[0], envs.single_action_space.shape[0]), *models[1:])
        super().__init__(envs, *models, **kwargs)
        self.distribution = distribution_for(self.action_space)

    @classmethod
    def check_envs(cls, envs):
        distribution_for(envs.single_action_space)

    @classmethod
    def output_units(cls, envs, config):
        return [[cls.policy_units(envs), 1]]

    @staticmethod
    def policy_units(envs) -> int:
        """Outputs of the policy head: logits per action, or means per action dimension."""
        space = envs.single_action_space
        return space.n if isinstance(space, gym.spaces.Discrete) else space.shape[0]

    def make_distribution(self, outputs):
        """The action distribution from the policy model's outputs."""
        if self.distribution is DiagGaussian:
            return DiagGaussian(outputs[0], outputs[-1])
        return self.distribution(outputs[0] if isinstance(outputs, (list, tuple)) else outputs)

    def rollout_minibatch_size(self, mini_batches: int) -> int:
        """Rollout transitions per minibatch; a clear error when they do not divide evenly."""
        batch = self.config.n_steps * self.n_envs
        if batch % mini_batches:
            raise ValueError(f'--n-steps x --n-envs ({batch}) must be divisible by --mini-batches ({mini_batches})')
        return batch // mini_batches

    def policy_and_values(self, observations, training=False) -> tuple:
        """The action distribution and the state values (shape ``(batch,)``)."""
        outputs = self.models[self.model_roles[0]](observations, training=training)
        return self.make_distribution(outputs), tf.squeeze(outputs[1], -1)

    def host_policy_and_values(self, observations: np.ndarray) -> tuple[list[np.ndarray], np.ndarray] | None:
        """``policy_and_values`` in NumPy: the policy model's outputs and the values, or None."""
        policy = self.host(self.model_roles[0])
        if policy is None:
            return None
        outputs = policy(observations)
        return outputs, outputs[1][:, 0]

    @tf.function(reduce_retracing=True)
    def _act(self, observations, deterministic):
        distribution, values = self.policy_and_values(observations)
        actions = distribution.mode() if deterministic else distribution.sample(self.tf_rng)
        return actions, distribution.log_prob(actions), values

    @tf.function(reduce_retracing=True)
    def _values(self, observations):
        return self.policy_and_values(observations)[1]

    def act(self, observations: np.ndarray, deterministic: bool = False) -> tuple[np.ndarray, ...]:
        """Actions, their log-probabilities and the state values, as NumPy arrays."""
        host = self.host_policy_and_values(observations)
        if host is None:
            return tuple(tensor.numpy() for tensor in self._act(observations, tf.constant(deterministic)))
        outputs, values = host
        return (*host_act(self.distribution, outputs, self.rng, deterministic), values)

    def rollout_step(self, observations):
        actions, log_probs, values = self.act(observations)
        return actions, {'log_probs': log_probs, 'values': values}

    def values(self, observations):
        host = self.host_policy_and_values(observations)
        return self._values(observations).numpy() if host is None else host[1]

    def policy(self, observations, deterministic=False):
        return self.act(observations, deterministic)[0]


class OffPolicy(BaseAgent):
    """Agents that learn from a replay buffer filled one vector step at a time."""

    Config = OffPolicyConfig

    def __init__(self, envs, *models, **kwargs):
        super().__init__(envs, *models, **kwargs)
        self.buffer = self.make_buffer()
        self.initial_size = self.config.buffer_initial_size or self.config.buffer_batch_size

    def make_buffer(self, buffer_class: type[ReplayBuffer] = ReplayBuffer, **options) -> ReplayBuffer:
        """The replay buffer for these envs; frame stacks of uint8 images are stored once per frame."""
        space = self.observation_space
        stacked = len(space.shape) == 3 and space.dtype == np.uint8
        # float64 observations (MuJoCo) are kept as float32, what the models take.
        return buffer_class(
            self.config.buffer_max_size,
            self.n_envs,
            space.shape,
            np.float32 if space.dtype == np.float64 else space.dtype,
            self.action_space.shape,
            self.action_space.dtype,
            frame_stack=space.shape[-1] if stacked else None,
            seed=None if self.config.seed is None else self.config.seed + 1,
            gamma=self.config.gamma,
            **options,
        )

    def explore(self, observations: np.ndarray) -> np.ndarray:
        """Actions taken while collecting experience."""
        raise NotImplementedError

    def update(self) -> dict[str, float]:
        """Train on batches from ``sample()`` (or not, between updates); return the latest losses."""
        raise NotImplementedError

    def reset_envs(self) -> None:
        super().reset_envs()
        # Episodes in progress are cut (as truncations) so n-step sums never join them to the new ones.
        self.buffer.cut_episodes()
        self.buffer.start_episodes(self.raw_observations)

    @property
    def buffer_path(self) -> Path:
        return self.output_dir / 'replay-buffer.npz'

    def state(self) -> dict:
        return {**super().state(), 'buffer_count': self.buffer.count}

    def save_latest(self) -> None:
        # The checkpoint first: a kill before the buffer is replaced leaves a buffer at most
        # one save older than the checkpoint (never newer), which resume reports.
        super().save_latest()
        if self.config.save_buffer and self.output_dir is not None:
            self.buffer.save(self.buffer_path)

    def resume(self, run_dir: str | os.PathLike) -> None:
        super().resume(run_dir)
        if not self.buffer_path.is_file():
            return
        self.buffer.load(self.buffer_path)
        behind = json.loads(self.state_variable.numpy().decode())['buffer_count'] - self.buffer.count
        note = f' ({behind * self.n_envs:,} fewer than at the checkpoint: saved one save earlier)' if behind else ''
        self.console(f'Replay buffer restored: {len(self.buffer):,} transitions{note}')

    def fill_buffer(self) -> None:
        """Random-policy transitions until the buffer holds ``buffer_initial_size``."""
        progress = Progress('Filling the replay buffer', self.initial_size, 'random-action transitions', self.console)
        while len(self.buffer) < self.initial_size:
            self.collect(self.random_actions())
            progress.update(len(self.buffer))
        progress.finish(f'{len(self.buffer):,} random-action transitions')

    def collect(self, actions: np.ndarray) -> None:
        transition = self.step_envs(actions)
        # Raw observations go in the buffer; normalization happens when sampling.
        self.buffer.add(
            actions,
            transition['rewards'],
            transition['raw_final_observations'],
            transition['terminals'],
            transition['dones'],
        )
        if transition['dones'].any():
            self.buffer.start_episodes(transition['raw_observations'], transition['dones'])

    def sample(self, batch_size: int | None = None, **options) -> dict[str, np.ndarray]:
        batch = self.buffer.sample(batch_size or self.config.buffer_batch_size, **options)
        batch['observations'] = self.normalize_observations(batch['observations'])
        batch['next_observations'] = self.normalize_observations(batch['next_observations'])
        return batch

    def sample_batches(self, count: int) -> dict[str, np.ndarray]:
        """``count`` batches drawn at once, stacked on a new leading axis (for a compiled loop of steps)."""
        size = self.config.buffer_batch_size
        batch = self.sample(batch_size=count * size)
        return {name: values.reshape(count, size, *values.shape[1:]) for name, values in batch.items()}

    def train_iteration(self) -> dict[str, float]:
        if len(self.buffer) < self.initial_size:
            self.fill_buffer()
        self.collect(self.explore(self.observations))
        return self.update()
