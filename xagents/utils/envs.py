"""Vector environments and the running statistics used to normalize them.

Every environment is a gymnasium vector environment that resets finished episodes in
the same step (``AutoresetMode.SAME_STEP``): the observation returned after an episode
ends is the first one of the next episode, and the last one of the finished episode is
in ``info['final_obs']``. The training loop relies on this to bootstrap on truncation.
"""

from __future__ import annotations

import functools
import os
import warnings

import gymnasium as gym
import numpy as np
from gymnasium.envs.classic_control.cartpole import CartPoleEnv, CartPoleVectorEnv
from gymnasium.vector import AutoresetMode

ATARI_STACK = 4


def use_headless_backends() -> None:
    """Without a display: MuJoCo renders through EGL and pygame through SDL's dummy driver."""
    if os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY'):
        return
    os.environ.setdefault('MUJOCO_GL', 'egl')
    os.environ.setdefault('PYOPENGL_PLATFORM', os.environ['MUJOCO_GL'])
    os.environ.setdefault('SDL_VIDEODRIVER', 'dummy')


use_headless_backends()  # before any environment loads its renderer


class SameStepCartPole(CartPoleVectorEnv):
    """gymnasium's native CartPole vector env, resetting finished episodes in the same step.

    The native implementation only offers next-step autoreset, where the step after an
    episode end ignores its action and returns a zero reward; converting it here keeps
    one autoreset convention for every environment.
    """

    metadata = {**CartPoleVectorEnv.metadata, 'autoreset_mode': AutoresetMode.SAME_STEP}

    def step(self, action):
        self.prev_done[:] = False
        observations, rewards, terminated, truncated, info = super().step(np.asarray(action))
        done = terminated | truncated
        if done.any():
            info = {'final_obs': observations, '_final_obs': done}
            self.state[:, done] = self.np_random.uniform(low=self.low, high=self.high, size=(4, done.sum()))
            self.steps[done] = 0
            observations = self.state.T.astype(np.float32)
        return observations, rewards, terminated, truncated, info

    def render_one(self, index: int) -> np.ndarray:
        """The frame of env ``index`` alone (``render`` draws every env)."""
        if getattr(self, 'painter', None) is None:
            self.painter = CartPoleEnv(render_mode='rgb_array')
        self.painter.state = self.state[:, index]
        return self.painter.render()

    def close(self, **kwargs):
        if getattr(self, 'painter', None) is not None:
            self.painter.close()
        super().close(**kwargs)


def is_atari(env_id: str) -> bool:
    spec = gym.spec(env_id)
    return isinstance(spec.entry_point, str) and spec.entry_point.startswith('ale_py')


def _is_mujoco(spec) -> bool:
    return isinstance(spec.entry_point, str) and spec.entry_point.startswith('gymnasium.envs.mujoco')


def register_atari():
    import ale_py

    ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)  # no banner on stderr for every env
    gym.register_envs(ale_py)


class UnknownEnv(ValueError):
    """An environment id gymnasium does not know."""


def check_env_id(env_id: str) -> gym.envs.registration.EnvSpec:
    """The spec of a registered id (Atari ids register ale-py's envs first); UnknownEnv otherwise."""
    if env_id.startswith('ALE/') or 'NoFrameskip' in env_id:
        register_atari()
    try:
        return gym.spec(env_id)
    except gym.error.Error as error:
        raise UnknownEnv(f'unknown environment {env_id!r}: {str(error).splitlines()[0]}') from None


def _atari_game(env_id: str) -> str:
    """``PongNoFrameskip-v4`` / ``ALE/Pong-v5`` -> ``pong``."""
    name = env_id.split('/')[-1].split('-')[0].replace('NoFrameskip', '').replace('Deterministic', '')
    return ''.join('_' + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(name))


def stack_last(frames) -> np.ndarray:
    """Same-shape arrays stacked on a new last axis, as one contiguous array.

    Writing each frame into its channel is about 5x faster for uint8 Atari frames than
    copying a ``np.moveaxis`` view (which TensorFlow would otherwise copy at every call).
    """
    frames = list(frames)
    stacked = np.empty((*frames[0].shape, len(frames)), frames[0].dtype)
    for channel, frame in enumerate(frames):
        stacked[..., channel] = frame
    return stacked


def _channels_last(observations: np.ndarray) -> np.ndarray:
    return stack_last(observations[:, channel] for channel in range(observations.shape[1]))


class _ChannelsLast(gym.vector.VectorWrapper):
    """(n, stack, h, w) -> (n, h, w, stack): Keras convolutions want channels last."""

    def __init__(self, env):
        super().__init__(env)
        space = env.single_observation_space
        shape = (*space.shape[1:], space.shape[0])
        self.single_observation_space = gym.spaces.Box(0, 255, shape, np.uint8)
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, env.num_envs)

    def reset(self, **kwargs):
        observations, info = self.env.reset(**kwargs)
        return _channels_last(observations), info

    def step(self, actions):
        observations, rewards, terminated, truncated, info = self.env.step(actions)
        done = terminated | truncated
        if done.any():
            info = {**info, 'final_obs': _channels_last(final_observations(info, observations, done))}
        return _channels_last(observations), rewards, terminated, truncated, info


def create_envs(
    env_id: str,
    n_envs: int = 1,
    preprocess: bool = False,
    max_frame: bool = False,
    async_envs: bool = False,
    render_mode: str | None = None,
    max_episode_steps: int | None = None,
) -> gym.vector.VectorEnv:
    """Build one vector environment of ``n_envs`` copies of ``env_id``.

    Uses a native vector implementation where gymnasium or ale-py has one (CartPole,
    Atari with ``preprocess``), ``SyncVectorEnv`` otherwise and ``AsyncVectorEnv`` when
    ``async_envs`` is set. Seeding happens at the first ``reset(seed=...)``.

    Args:
        env_id: A registered gymnasium id such as ``CartPole-v1`` or ``PongNoFrameskip-v4``.
        n_envs: Number of copies.
        preprocess: Atari preprocessing (no-op reset, frame skip 4, 84x84 grayscale,
            4-frame stack), observations ``(n, 84, 84, 4)`` uint8.
        max_frame: Max-pool the last two skipped frames (with ``preprocess``).
        async_envs: Step copies in subprocesses.
        render_mode: Passed to the environments, e.g. ``rgb_array`` for recording. MuJoCo
            environments that render run in spawned subprocesses, away from TensorFlow.
        max_episode_steps: Override of the environment's time limit.

    Raises:
        ValueError: For an unknown id or ``n_envs < 1``.
    """
    if n_envs < 1:
        raise ValueError(f'--n-envs must be at least 1, got {n_envs}')
    spec = check_env_id(env_id)
    if preprocess:
        if not is_atari(env_id):
            raise ValueError(f'--preprocess is for Atari environments, {env_id} is not one')
        return _atari_envs(env_id, spec, n_envs, max_frame, async_envs, render_mode)
    limit = max_episode_steps or spec.max_episode_steps
    if spec.vector_entry_point == CartPoleVectorEnv.__module__ + ':CartPoleVectorEnv' and not async_envs:
        if render_mode not in (None, 'rgb_array'):
            render_mode = 'rgb_array'
        envs = SameStepCartPole(n_envs, max_episode_steps=limit or 500, render_mode=render_mode)
        envs.spec = spec
        return envs
    time_limit = {'max_episode_steps': max_episode_steps} if max_episode_steps else {}
    if _is_mujoco(spec):
        return _mujoco_envs(spec, n_envs, async_envs, render_mode, time_limit)
    return gym.make_vec(
        env_id,
        n_envs,
        vectorization_mode='async' if async_envs else 'sync',
        vector_kwargs={'autoreset_mode': AutoresetMode.SAME_STEP},
        render_mode=render_mode,
        **time_limit,
    )


def _mujoco_envs(spec, n_envs, async_envs, render_mode, time_limit):
    make = functools.partial(_make_mujoco_env, spec.id, render_mode, time_limit)
    if render_mode is not None:
        # Mesa's OpenGL and TensorFlow crash when loaded in one process: draw in fresh subprocesses.
        envs = gym.vector.AsyncVectorEnv([make] * n_envs, autoreset_mode=AutoresetMode.SAME_STEP, context='spawn')
    else:
        vector_class = gym.vector.AsyncVectorEnv if async_envs else gym.vector.SyncVectorEnv
        envs = vector_class([make] * n_envs, autoreset_mode=AutoresetMode.SAME_STEP)
    envs.spec = spec
    return envs


def _make_mujoco_env(env_id: str, render_mode: str | None, time_limit: dict) -> gym.Env:
    import mujoco

    mujoco.set_mju_user_warning(_mujoco_warning)
    return gym.make(env_id, render_mode=render_mode, **time_limit)


def _mujoco_warning(message: str) -> None:
    """MuJoCo warnings as Python warnings (not a MUJOCO_LOG.TXT in the working directory)."""
    if 'deprecated' not in message:  # gymnasium's model files use attributes MuJoCo 4 deprecates
        warnings.warn(f'MuJoCo: {message}', RuntimeWarning, stacklevel=2)


def _atari_envs(env_id, spec, n_envs, max_frame, async_envs, render_mode):
    if not async_envs and render_mode is None:
        from ale_py.vector_env import AtariVectorEnv

        envs = AtariVectorEnv(
            _atari_game(env_id),
            n_envs,
            repeat_action_probability=spec.kwargs.get('repeat_action_probability', 0.0),
            frameskip=4,
            maxpool=max_frame,
            noop_max=30,
            stack_num=ATARI_STACK,
            episodic_life=False,
            reward_clipping=False,
            use_fire_reset=False,
            autoreset_mode=AutoresetMode.SAME_STEP,
            max_num_frames_per_episode=(spec.max_episode_steps or 27000) * 4,
        )
        envs.spec = spec
        return _ChannelsLast(envs)

    def make():
        from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation

        env = gym.make(env_id, frameskip=1, render_mode=render_mode)
        env = AtariPreprocessing(env, noop_max=30, frame_skip=4, screen_size=84, grayscale_obs=True)
        return FrameStackObservation(env, ATARI_STACK)

    vector_class = gym.vector.AsyncVectorEnv if async_envs else gym.vector.SyncVectorEnv
    envs = vector_class([make] * n_envs, autoreset_mode=AutoresetMode.SAME_STEP)
    envs.spec = spec
    return _ChannelsLast(envs)


def final_observations(info: dict, observations: np.ndarray, done: np.ndarray) -> np.ndarray:
    """Observations that ended each episode: ``info['final_obs']`` where done, else the current."""
    if not done.any():
        return observations
    finals = observations.copy()
    final = info['final_obs']
    if isinstance(final, np.ndarray) and final.dtype != object:
        finals[done] = final[done]
    else:
        for index in np.flatnonzero(done):
            finals[index] = final[index]
    return finals


class RunningMeanStd:
    """Running mean and variance over a batch axis (parallel algorithm of Chan et al.)."""

    def __init__(self, shape: tuple[int, ...] = (), epsilon: float = 1e-4):
        self.mean = np.zeros(shape, np.float64)
        self.var = np.ones(shape, np.float64)
        self.count = epsilon

    def update(self, batch: np.ndarray) -> None:
        batch_mean, batch_var, batch_count = batch.mean(axis=0), batch.var(axis=0), batch.shape[0]
        delta = batch_mean - self.mean
        total = self.count + batch_count
        self.mean = self.mean + delta * batch_count / total
        m2 = self.var * self.count + batch_var * batch_count + delta**2 * self.count * batch_count / total
        self.var = m2 / total
        self.count = total

    def state(self) -> dict:
        return {'mean': self.mean.tolist(), 'var': self.var.tolist(), 'count': self.count}

    def load(self, state: dict) -> None:
        self.mean = np.asarray(state['mean'], np.float64)
        self.var = np.asarray(state['var'], np.float64)
        self.count = float(state['count'])


class ObservationNormalizer:
    """Normalizes observations to zero mean and unit variance, clipped to ``±clip``."""

    def __init__(self, shape: tuple[int, ...], clip: float = 10.0, epsilon: float = 1e-8):
        self.stats = RunningMeanStd(shape)
        self.clip, self.epsilon = clip, epsilon

    def __call__(self, observations: np.ndarray, update: bool) -> np.ndarray:
        if update:
            self.stats.update(observations)
        normalized = (observations - self.stats.mean) / np.sqrt(self.stats.var + self.epsilon)
        return np.clip(normalized, -self.clip, self.clip).astype(np.float32)


class RewardNormalizer:
    """Divides rewards by the running std of the discounted return of each env."""

    def __init__(self, n_envs: int, gamma: float, clip: float = 10.0, epsilon: float = 1e-8):
        self.stats = RunningMeanStd(())
        self.returns = np.zeros(n_envs)
        self.gamma, self.clip, self.epsilon = gamma, clip, epsilon

    def __call__(self, rewards: np.ndarray, dones: np.ndarray) -> np.ndarray:
        self.returns = self.returns * self.gamma + rewards
        self.stats.update(self.returns)
        self.returns[dones] = 0.0
        return np.clip(rewards / np.sqrt(self.stats.var + self.epsilon), -self.clip, self.clip).astype(np.float32)
