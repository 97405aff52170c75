"""Small environments of a user's own, registered when this module is imported (never by xagents).

``--env xagents.tests.tiny_envs:Corridor-v0`` imports it; ``Dials-v0`` (MultiDiscrete actions) and
``Switches-v0`` (MultiBinary) are contextual bandits of ``length`` steps; the ``Bad*`` ones and those
refused below each break the gymnasium API, or what xagents takes, in one way.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np


class Corridor(gym.Env):
    """Walk from the middle of a corridor to its right end (reward 1 there, -0.01 per step).

    Args:
        length: Cells in the corridor.
        continuous: A Box action in [-2, 2] (its sign is the direction) instead of Discrete(2).
    """

    metadata = {'render_modes': ['rgb_array'], 'render_fps': 10}

    def __init__(self, length: int = 5, continuous: bool = False, render_mode: str | None = None):
        self.length, self.continuous, self.render_mode = length, continuous, render_mode
        self.observation_space = gym.spaces.Box(0.0, 1.0, (2,), np.float32)
        self.action_space = gym.spaces.Box(-2.0, 2.0, (1,), np.float32) if continuous else gym.spaces.Discrete(2)
        self.position = 0

    def observation(self):
        return np.array([self.position / (self.length - 1), 1.0], np.float32)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.position = self.length // 2
        return self.observation(), {}

    def step(self, action):
        right = float(np.asarray(action).reshape(-1)[0]) > 0 if self.continuous else int(action) == 1
        self.position = max(0, self.position + (1 if right else -1))
        terminated = self.position == self.length - 1
        return self.observation(), 1.0 if terminated else -0.01, terminated, False, {}

    def render(self):
        frame = np.zeros((16, 16 * self.length, 3), np.uint8)
        frame[:, 16 * self.position : 16 * (self.position + 1)] = 255
        return frame


def make_corridor(length: int = 5, render_mode: str | None = None) -> Corridor:
    """A function that makes the env, as a notebook user would pass to ``from_env``."""
    return gym.wrappers.TimeLimit(Corridor(length, render_mode=render_mode), 50)


class BadDtype(Corridor):
    def observation(self):
        return super().observation().astype(np.float64)


class BadShape(Corridor):
    def observation(self):
        return np.append(super().observation(), 0.0).astype(np.float32)


class OldReset(Corridor):
    def reset(self, seed=None, options=None):
        return super().reset(seed=seed)[0]


class DictObservations(Corridor):
    """A Dict observation with a text key, which no network takes."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.observation_space = gym.spaces.Dict(
            {'position': gym.spaces.Box(0.0, 1.0, (2,), np.float32), 'note': gym.spaces.Text(8)}
        )


class BitGridActions(Corridor):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.action_space = gym.spaces.MultiBinary([2, 2])


class StartAtOne(Corridor):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.action_space = gym.spaces.Discrete(2, start=1)


class Dials(gym.Env):
    """Turn each dial to the position the observation shows (one-hot per dial): reward the share of
    dials right, for ``length`` steps. Random dials of 3, 2 and 4 positions score 0.36 a step, the
    right ones 1.

    Args:
        nvec: Positions of each dial (the MultiDiscrete action space's ``nvec``).
        length: Steps per episode.
    """

    metadata = {'render_modes': ['rgb_array'], 'render_fps': 10}

    def __init__(self, nvec=(3, 2, 4), length: int = 10, render_mode: str | None = None):
        self.nvec, self.length, self.render_mode = np.array(nvec), length, render_mode
        self.action_space = gym.spaces.MultiDiscrete(self.nvec)
        self.observation_space = gym.spaces.Box(0.0, 1.0, (int(self.nvec.sum()),), np.float32)
        self.targets, self.steps = np.zeros(len(self.nvec), np.int64), 0

    def observation(self):
        return np.concatenate([np.eye(n, dtype=np.float32)[target] for n, target in zip(self.nvec, self.targets)])

    def draw(self):
        self.targets = self.np_random.integers(0, self.nvec)
        return self.observation()

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.steps = 0
        return self.draw(), {}

    def reward(self, action) -> float:
        return float(np.mean(np.asarray(action) == self.targets))

    def step(self, action):
        reward = self.reward(action)
        self.steps += 1
        return self.draw(), reward, self.steps == self.length, False, {}

    def render(self):
        frame = np.zeros((16, 16 * len(self.targets), 3), np.uint8)
        for index, (target, n) in enumerate(zip(self.targets, self.nvec)):
            frame[:, 16 * index : 16 * (index + 1)] = 255 * target // max(n - 1, 1)
        return frame


class Switches(Dials):
    """Turn each of ``n`` lamps the other way (the observation shows which are on): reward the share
    of switches right, for ``length`` steps. Random switches score 0.5 a step, the right ones 1."""

    def __init__(self, n: int = 4, length: int = 10, render_mode: str | None = None):
        super().__init__((2,) * n, length, render_mode)
        self.action_space = gym.spaces.MultiBinary(n)
        self.observation_space = gym.spaces.Box(0.0, 1.0, (n,), np.float32)

    def observation(self):
        return (1 - self.targets).astype(np.float32)


class DialsFromOne(Dials):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.action_space = gym.spaces.MultiDiscrete(self.nvec, start=np.ones_like(self.nvec))


class NoSimulator(Corridor):
    def __init__(self, **kwargs):
        raise RuntimeError('the simulator is not installed')


class ResetDivides(Corridor):
    def reset(self, seed=None, options=None):
        return 1 / 0


class StepFailsLater(Corridor):
    """Steps ``fail_after`` times, then raises: the checks pass and training fails on the way."""

    def __init__(self, fail_after: int = 100, **kwargs):
        super().__init__(**kwargs)
        self.fail_after, self.steps = fail_after, 0

    def step(self, action):
        self.steps += 1
        if self.steps > self.fail_after:
            raise OSError('the simulator lost its connection')
        return super().step(action)


def make_broken(length: int = 5):
    """A function that makes no env: it raises."""
    raise ZeroDivisionError('division by zero')


gym.register('Corridor-v0', entry_point=Corridor, max_episode_steps=50)
gym.register('Dials-v0', entry_point=Dials)
gym.register('Switches-v0', entry_point=Switches)
for _bad in (BadDtype, BadShape, OldReset, DictObservations, BitGridActions, DialsFromOne, NoSimulator, ResetDivides):
    gym.register(f'{_bad.__name__}-v0', entry_point=_bad, max_episode_steps=50)
gym.register('StepFailsLater-v0', entry_point=StepFailsLater, max_episode_steps=50)


class Pointer(gym.Env):
    """A small uint8 image in which one lit cell of four (the corners) names the rewarded action.

    Each step shows a new corner; an episode is ``length`` steps, reward 1 for the action of the
    lit corner (random play: a quarter of ``length``).

    Args:
        size: Height and width of the image.
        channels: Channels of the image, or None for a height x width image without a channel axis.
        length: Steps per episode.
        continuous: A Box action of four values (the largest names the corner) instead of Discrete(4).
        scaled: float32 observations in [0, 1] instead of uint8 ones (not an image: a table of values).
    """

    metadata = {'render_modes': ['rgb_array'], 'render_fps': 4}

    def __init__(
        self,
        size: int = 7,
        channels: int | None = 3,
        length: int = 5,
        continuous: bool = False,
        scaled: bool = False,
        render_mode: str | None = None,
    ):
        self.size, self.channels, self.length, self.render_mode = size, channels, length, render_mode
        shape = (size, size) if channels is None else (size, size, channels)
        self.scaled = scaled
        self.observation_space = (
            gym.spaces.Box(0.0, 1.0, shape, np.float32) if scaled else gym.spaces.Box(0, 255, shape, np.uint8)
        )
        self.continuous = continuous
        self.action_space = gym.spaces.Box(-1.0, 1.0, (4,), np.float32) if continuous else gym.spaces.Discrete(4)
        self.corners = [(0, 0), (0, size - 1), (size - 1, 0), (size - 1, size - 1)]
        self.target, self.steps = 0, 0

    def observation(self) -> np.ndarray:
        image = np.zeros(self.observation_space.shape, self.observation_space.dtype)
        image[self.corners[self.target]] = 1.0 if self.scaled else 255
        return image

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.target, self.steps = int(self.np_random.integers(4)), 0
        return self.observation(), {}

    def step(self, action):
        choice = int(np.argmax(action)) if self.continuous else int(action)
        reward = 1.0 if choice == self.target else 0.0
        self.steps += 1
        self.target = int(self.np_random.integers(4))
        return self.observation(), reward, self.steps >= self.length, False, {}

    def render(self):
        image = (self.observation() * (255 if self.scaled else 1)).astype(np.uint8)
        image = image if self.channels is not None else image[..., None]
        return np.kron(np.broadcast_to(image[..., :1], (self.size, self.size, 3)), np.ones((8, 8, 1), np.uint8))


class GrayPointer(Pointer):
    """:class:`Pointer` as a height x width image (no channel axis)."""

    def __init__(self, size: int = 8, **kwargs):
        super().__init__(size=size, channels=None, **kwargs)


class UndeclaredRenderModes(Pointer):
    """Renders rgb_array frames without declaring them: its metadata is ``gymnasium.Env``'s own."""

    metadata = gym.Env.metadata


class NoFrames(UndeclaredRenderModes):
    """Declares no ``render_modes`` and renders nothing."""

    def render(self):
        return None


class NoRender(NoFrames):
    """Declares no ``render_modes`` and defines no ``render()`` (gymnasium's raises NotImplementedError)."""

    render = gym.Env.render


for _image in (Pointer, GrayPointer, UndeclaredRenderModes, NoFrames, NoRender):
    gym.register(f'{_image.__name__}-v0', entry_point=_image)


class DictPointer(gym.Env):
    """Dict observations where the rewarded action needs every key: a uint8 image (one of two
    columns lit: the high bit of the action), a float vector (the sign of its first value: the low
    bit) and a Discrete ``flip`` (1 flips the low bit), optionally a nested Dict or a text key. With
    ``image=False`` a MultiBinary ``side`` replaces the image; ``continuous``: a Box action of four
    values (the largest names the action) instead of Discrete(4).

    Each step shows a new draw; an episode is ``length`` steps, reward 1 for the right action of four
    (random play: a quarter of ``length``).
    """

    metadata = {'render_modes': ['rgb_array'], 'render_fps': 4}

    def __init__(
        self,
        size: int = 6,
        length: int = 8,
        extra: str | None = None,
        image: bool = True,
        continuous: bool = False,
        render_mode: str | None = None,
    ):
        self.size, self.length, self.render_mode = size, length, render_mode
        self.image, self.continuous = image, continuous
        spaces = {
            'image' if image else 'side': (
                gym.spaces.Box(0, 255, (size, size), np.uint8) if image else gym.spaces.MultiBinary(1)
            ),
            'signal': gym.spaces.Box(-1.0, 1.0, (2,), np.float32),
            'flip': gym.spaces.Discrete(2),
        }
        if extra == 'nested':
            spaces['more'] = gym.spaces.Dict({'inner': gym.spaces.Discrete(2)})
        elif extra == 'text':
            spaces['mission'] = gym.spaces.Text(20)
        self.extra = extra
        self.observation_space = gym.spaces.Dict(spaces)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (4,), np.float32) if continuous else gym.spaces.Discrete(4)
        self.side, self.sign, self.flip, self.steps = 0, 0, 0, 0

    def draw(self) -> None:
        self.side, self.sign, self.flip = (int(value) for value in self.np_random.integers(2, size=3))

    def target(self) -> int:
        return 2 * self.side + (self.sign ^ self.flip)

    def observation(self) -> dict:
        image = np.zeros((self.size, self.size), np.uint8)
        image[:, 0 if self.side == 0 else self.size - 1] = 255
        signal = np.array([1.0 if self.sign else -1.0, self.np_random.uniform(-1, 1)], np.float32)
        observation = {'signal': signal, 'flip': self.flip}
        if self.image:
            observation['image'] = image
        else:
            observation['side'] = np.array([self.side], np.int8)
        if self.extra == 'nested':
            observation['more'] = {'inner': 0}
        elif self.extra == 'text':
            observation['mission'] = 'pick the right one'
        return observation

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.steps = 0
        self.draw()
        return self.observation(), {}

    def step(self, action):
        choice = int(np.argmax(action)) if self.continuous else int(action)
        reward = 1.0 if choice == self.target() else 0.0
        self.steps += 1
        self.draw()
        return self.observation(), reward, self.steps >= self.length, False, {}

    def render(self):
        image = np.zeros((self.size, self.size), np.uint8)
        image[:, 0 if self.side == 0 else self.size - 1] = 255
        image = np.broadcast_to(image[..., None], (self.size, self.size, 3))
        return np.kron(image, np.ones((8, 8, 1), np.uint8))


gym.register('DictPointer-v0', entry_point=DictPointer)


class Keypad(gym.Env):
    """Press one of the few legal keys of each step (``action_masks()``, sb3-contrib's convention).

    Each step draws the legal keys anew (one or two of ``keys``); the observation shows them. A legal
    key gives 1, an illegal one -10 and ends the episode (with ``strict``, raises: a test that an
    agent never presses one), so unmasked random play loses quickly. Episodes last ``length`` steps.
    With ``graded``, only the lowest legal key gives 1, another legal one 0.2 (masked random play
    scores 16 on average, the best policy 20): something to learn beyond the masks.
    """

    metadata = {'render_modes': ['rgb_array'], 'render_fps': 10}

    def __init__(
        self, keys: int = 6, length: int = 20, strict: bool = False, render_mode: str | None = None, graded=False
    ):
        self.keys, self.length, self.strict, self.render_mode = keys, length, strict, render_mode
        self.graded = graded
        self.observation_space = gym.spaces.Box(0.0, 1.0, (keys,), np.float32)
        self.action_space = gym.spaces.Discrete(keys)
        self.legal = np.ones(keys, bool)
        self.steps = 0

    def draw(self):
        self.legal = np.zeros(self.keys, bool)
        self.legal[self.np_random.choice(self.keys, self.np_random.integers(1, 3), replace=False)] = True
        return self.legal.astype(np.float32)

    def action_masks(self) -> np.ndarray:
        return self.legal.copy()

    def render(self):
        return np.repeat(np.repeat(self.legal[None, :, None] * np.uint8(255), 16, 0), 16, 1).repeat(3, 2)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.steps = 0
        return self.draw(), {}

    def is_legal(self, action) -> bool:
        return bool(self.legal[int(action)])

    def step(self, action):
        legal = self.is_legal(action)
        if self.strict and not legal:
            raise RuntimeError(f'illegal action {np.asarray(action)}, legal {np.flatnonzero(self.legal)}')
        self.steps += 1
        if not legal:
            return self.legal.astype(np.float32), -10.0, True, False, {}
        reward = 1.0 if not self.graded or int(action) == self.legal.argmax() else 0.2
        return self.draw(), reward, False, self.steps >= self.length, {}


class InfoKeypad(Keypad):
    """Keypad with its masks in ``info['action_mask']`` instead of a method."""

    action_masks = None

    def reset(self, seed=None, options=None):
        observation, info = super().reset(seed=seed)
        return observation, {'action_mask': self.legal.copy()}

    def step(self, action):
        *transition, info = super().step(action)
        return *transition, {'action_mask': self.legal.copy()}


class DialKeypad(Keypad):
    """Keypad with MultiDiscrete([3, 4]) actions: the legal values of each dial, masks side by side (7)."""

    def __init__(self, length: int = 20, strict: bool = False, render_mode: str | None = None):
        super().__init__(7, length, strict, render_mode)
        self.action_space = gym.spaces.MultiDiscrete([3, 4])

    def draw(self):
        self.legal = np.zeros(7, bool)
        for start, size in ((0, 3), (3, 4)):
            self.legal[start + self.np_random.choice(size, self.np_random.integers(1, 3), replace=False)] = True
        return self.legal.astype(np.float32)

    def is_legal(self, action) -> bool:
        return bool(self.legal[np.asarray(action) + np.array([0, 3])].all())


class BadMasks(Keypad):
    """Keypad whose masks are integers, not booleans."""

    def action_masks(self):
        return self.legal.astype(np.int64)


class NoLegalKey(Keypad):
    """Keypad whose masks allow no key."""

    def action_masks(self):
        return np.zeros(self.keys, bool)


class MaskedSwitches(Switches):
    """A MultiBinary env with masks (which xagents refuses)."""

    def action_masks(self):
        return np.ones(self.action_space.n, bool)


class DictKeypad(Keypad):
    """Keypad with Dict observations: its legal keys under 'legal', the step of the episode under
    'step' (a Discrete, one-hot in the networks)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.observation_space = gym.spaces.Dict(
            {'legal': self.observation_space, 'step': gym.spaces.Discrete(self.length + 1)}
        )

    def reset(self, seed=None, options=None):
        observation, info = super().reset(seed=seed)
        return {'legal': observation, 'step': self.steps}, info

    def step(self, action):
        observation, *transition = super().step(action)
        return {'legal': observation, 'step': self.steps}, *transition


for _masked in (Keypad, InfoKeypad, DialKeypad, BadMasks, NoLegalKey, MaskedSwitches, DictKeypad):
    gym.register(f'{_masked.__name__}-v0', entry_point=_masked)


def bits_reward(achieved_goal, desired_goal) -> np.ndarray:
    """-1 where the bits differ from the goal, 0 where they match (along the last axis)."""
    return -(np.asarray(achieved_goal) != np.asarray(desired_goal)).any(axis=-1).astype(np.float32)


class BitFlip(gym.Env):
    """Flip bits until they match a goal (Andrychowicz et al. 2017's bit flipping), a goal env.

    Observations are a Dict of ``observation`` (the bits), ``achieved_goal`` (the bits too) and
    ``desired_goal``; an action flips one bit; the reward is -1 each step the bits differ from the goal
    and 0 when they match, which ends the episode (``info['is_success']``); at most ``n`` steps.
    ``compute_reward`` takes batches. Random play rarely meets a goal of many bits.
    """

    metadata = {'render_modes': ['rgb_array'], 'render_fps': 10}

    def __init__(self, n: int = 4, render_mode: str | None = None):
        self.n, self.render_mode = n, render_mode
        bits = gym.spaces.Box(0.0, 1.0, (n,), np.float32)
        self.observation_space = gym.spaces.Dict({'observation': bits, 'achieved_goal': bits, 'desired_goal': bits})
        self.action_space = gym.spaces.Discrete(n)
        self.bits, self.goal, self.steps = np.zeros(n, np.float32), np.zeros(n, np.float32), 0

    def compute_reward(self, achieved_goal, desired_goal, info):
        return bits_reward(achieved_goal, desired_goal)

    def observation(self) -> dict:
        return {'observation': self.bits.copy(), 'achieved_goal': self.bits.copy(), 'desired_goal': self.goal.copy()}

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.bits = self.np_random.integers(0, 2, self.n).astype(np.float32)
        self.goal = self.np_random.integers(0, 2, self.n).astype(np.float32)
        self.steps = 0
        return self.observation(), {'is_success': False}

    def step(self, action):
        self.bits[int(action)] = 1 - self.bits[int(action)]
        self.steps += 1
        reward = float(bits_reward(self.bits, self.goal))
        success = reward == 0
        return self.observation(), reward, success, self.steps >= self.n and not success, {'is_success': success}

    def render(self):
        rows = np.stack([self.bits, self.goal]) * np.uint8(255)
        return np.kron(rows.astype(np.uint8)[..., None], np.ones((16, 16, 3), np.uint8))


class PointReach(gym.Env):
    """Move a point in the plane to a goal within ``radius`` (a continuous goal env, sparse reward).

    The action, in [-1, 1]^2, moves the point by a tenth of it; the reward is -1 away from the goal and
    0 within ``radius`` (``info['is_success']``); episodes last ``length`` steps (not ended by success,
    as gymnasium-robotics' reach tasks). The point and the goal start uniformly in [-spread, spread];
    ``dims`` > 2 moves the point in that many dimensions (the HER benchmark's harder variant).
    """

    metadata = {'render_modes': ['rgb_array'], 'render_fps': 10}

    def __init__(
        self, length: int = 20, radius: float = 0.1, dims: int = 2, spread: float = 0.5, render_mode: str | None = None
    ):
        self.length, self.radius, self.dims, self.spread, self.render_mode = length, radius, dims, spread, render_mode
        plane = gym.spaces.Box(-1.0, 1.0, (dims,), np.float32)
        self.observation_space = gym.spaces.Dict({'observation': plane, 'achieved_goal': plane, 'desired_goal': plane})
        self.action_space = gym.spaces.Box(-1.0, 1.0, (dims,), np.float32)
        self.point, self.goal, self.steps = np.zeros(dims, np.float32), np.zeros(dims, np.float32), 0

    def compute_reward(self, achieved_goal, desired_goal, info):
        distance = np.linalg.norm(np.asarray(achieved_goal) - np.asarray(desired_goal), axis=-1)
        return -(distance > self.radius).astype(np.float32)

    def observation(self) -> dict:
        return {'observation': self.point.copy(), 'achieved_goal': self.point.copy(), 'desired_goal': self.goal.copy()}

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.point = self.np_random.uniform(-self.spread, self.spread, self.dims).astype(np.float32)
        self.goal = self.np_random.uniform(-self.spread, self.spread, self.dims).astype(np.float32)
        self.steps = 0
        return self.observation(), {'is_success': False}

    def step(self, action):
        self.point = np.clip(self.point + 0.1 * np.clip(action, -1, 1), -1, 1).astype(np.float32)
        self.steps += 1
        reward = float(self.compute_reward(self.point, self.goal, {}))
        return self.observation(), reward, False, self.steps >= self.length, {'is_success': reward == 0}

    def render(self):
        frame = np.zeros((32, 32, 3), np.uint8)
        for (x, y, *_), channel in ((self.goal, 1), (self.point, 0)):
            frame[int((y + 1) * 15.5), int((x + 1) * 15.5), channel] = 255
        return np.kron(frame, np.ones((4, 4, 1), np.uint8))


class NoComputeReward(BitFlip):
    """A Dict of the three goal keys without ``compute_reward``."""

    compute_reward = None


class ScalarComputeReward(BitFlip):
    """A ``compute_reward`` of one transition at a time."""

    def compute_reward(self, achieved_goal, desired_goal, info):
        return float(np.array_equal(achieved_goal, desired_goal)) - 1


for _goal in (BitFlip, PointReach, NoComputeReward, ScalarComputeReward):
    gym.register(f'{_goal.__name__}-v0', entry_point=_goal)
