"""Atari: ale-py registration and the preprocessed (84x84 gray, 4 stacked frames) vector envs."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

from xagents.envs.autoreset import final_observations
from xagents.envs.frames import stack_last
from xagents.extras import require

ATARI_STACK = 4


def is_atari(spec: gym.envs.registration.EnvSpec) -> bool:
    return isinstance(spec.entry_point, str) and spec.entry_point.startswith('ale_py')


def register_atari(env_id: str):
    """Register ale-py's envs (a one-line :class:`~xagents.extras.MissingExtra` naming ``env_id`` without it)."""
    ale_py = require('ale_py', 'atari', f'--env {env_id}')
    ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)  # no banner on stderr for every env
    gym.register_envs(ale_py)


def _atari_game(env_id: str) -> str:
    """``PongNoFrameskip-v4`` / ``ALE/Pong-v5`` -> ``pong``."""
    name = env_id.split('/')[-1].split('-')[0].replace('NoFrameskip', '').replace('Deterministic', '')
    return ''.join('_' + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(name))


def _channels_last(observations: np.ndarray) -> np.ndarray:
    return stack_last(observations[:, channel] for channel in range(observations.shape[1]))


# Keyword arguments of an Atari id that ale-py's vector env takes too (the rest it has no way to apply).
VECTOR_KWARGS = ('repeat_action_probability', 'full_action_space', 'max_num_frames_per_episode')
FRAME_SKIP = 4
NOOP_MAX = 30


def _native_envs(spec, n_envs: int, max_frame: bool, env_kwargs: dict, frames: bool = False, stack: int = ATARI_STACK):
    """ale-py's vector env with the preprocessing of SB3's ``AtariWrapper`` (reward clipping and a lost
    life as terminal left to the agent, for training only); ``frames``: full-size colour frames instead."""
    from ale_py.vector_env import AtariVectorEnv

    image = dict(img_height=210, img_width=160, grayscale=False, stack_num=1) if frames else dict(stack_num=stack)
    option = lambda name, default: env_kwargs.get(name, spec.kwargs.get(name, default))  # noqa: E731
    return AtariVectorEnv(
        _atari_game(spec.id),
        n_envs,
        repeat_action_probability=option('repeat_action_probability', 0.0),
        full_action_space=option('full_action_space', False),
        frameskip=FRAME_SKIP,
        maxpool=max_frame,
        noop_max=NOOP_MAX,
        episodic_life=False,
        reward_clipping=False,
        use_fire_reset=True,
        autoreset_mode=AutoresetMode.SAME_STEP,
        max_num_frames_per_episode=option('max_num_frames_per_episode', 108_000),  # 30 minutes of play
        **image,
    )


class PreprocessedAtari(gym.vector.VectorEnv):
    """The one Atari pipeline of training, evaluation, play, videos and ``--async-envs``.

    SB3 ``AtariWrapper``'s defaults on ale-py's vector env (its envs step in threads): up to 30
    no-ops on reset, frame skip 4 with the max over the last two frames (``max_frame``), FIRE on
    reset for games that need it, 84x84 gray, 4 frames stacked on the last axis (``stack``; zeros
    before an episode's first frame, as ale-py pads them); reward
    clipping and a lost life as terminal are the agent's (``--clip-rewards``,
    ``--life-loss-terminal``), for training only. With ``render_mode='rgb_array'`` a twin of
    the envs in full-size colour is stepped with the same seeds and actions, and gives the
    frames that videos record: the same games, frame for frame.
    """

    def __init__(
        self, spec, n_envs: int, max_frame: bool = True, render_mode=None, env_kwargs=None, stack: int = ATARI_STACK
    ):
        env_kwargs = dict(env_kwargs or {})
        unknown = sorted(set(env_kwargs) - set(VECTOR_KWARGS))
        if unknown:
            raise ValueError(
                f'--env-kwargs {", ".join(unknown)}: with --preprocess an Atari env takes only '
                f"{', '.join(VECTOR_KWARGS)} (what ale-py's vector env applies)"
            )
        self.native = _native_envs(spec, n_envs, max_frame, env_kwargs, stack=stack)
        self.twin = _native_envs(spec, n_envs, max_frame, env_kwargs, frames=True) if render_mode else None
        self.num_envs, self.spec, self.render_mode = n_envs, spec, render_mode
        self.metadata = {'autoreset_mode': AutoresetMode.SAME_STEP, 'render_fps': 60 // FRAME_SKIP}
        stack, height, width = self.native.single_observation_space.shape
        self.single_observation_space = gym.spaces.Box(0, 255, (height, width, stack), np.uint8)
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, n_envs)
        self.single_action_space = self.native.single_action_space
        self.action_space = self.native.action_space
        self.frames: np.ndarray | None = None

    def reset(self, *, seed=None, options=None):
        if self.twin is not None and seed is None:
            seed = int(np.random.SeedSequence().entropy % 2**31)  # the twin must draw the same no-ops
        observations, info = self.native.reset(seed=seed, options=options)
        if self.twin is not None:
            self.frames = self.twin.reset(seed=seed, options=options)[0]
        return _channels_last(observations), info

    def step(self, actions):
        observations, rewards, terminated, truncated, info = self.native.step(actions)
        if self.twin is not None:
            self.frames = self.twin.step(actions)[0]
        done = terminated | truncated
        if done.any():
            info = {**info, 'final_obs': _channels_last(final_observations(info, observations, done))}
        return _channels_last(observations), rewards, terminated, truncated, info

    def render_one(self, index: int) -> np.ndarray:
        """The colour frame of env ``index`` after its last step (needs ``render_mode='rgb_array'``)."""
        if self.frames is None:
            raise ValueError("Atari frames need envs made with render_mode='rgb_array', reset first")
        return self.frames[index, 0]

    def render(self):
        return tuple(self.render_one(index) for index in range(self.num_envs))

    def close_extras(self, **kwargs):
        self.native.close()
        if self.twin is not None:
            self.twin.close()


def atari_envs(spec, n_envs, max_frame, render_mode, env_kwargs, stack: int = ATARI_STACK) -> PreprocessedAtari:
    """Preprocessed Atari envs of ``stack`` frames (every path: ``--async-envs`` changes nothing, the envs
    step in threads)."""
    return PreprocessedAtari(spec, n_envs, max_frame, render_mode, env_kwargs, stack)
