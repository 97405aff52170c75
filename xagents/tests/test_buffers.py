import numpy as np
import pytest

from xagents.utils.buffers import ReplayBuffer


def test_keeps_dtypes_and_shapes():
    buffer = ReplayBuffer(64, 2, (3,), np.float64, (), np.int64, seed=0)
    buffer.start_episodes(np.zeros((2, 3)))
    for step in range(5):
        buffer.add(np.array([1, 0]), np.ones(2), np.full((2, 3), step + 1.0), np.zeros(2, bool))
    batch = buffer.sample(8)
    assert batch['observations'].dtype == np.float64 and batch['observations'].shape == (8, 3)
    assert batch['next_observations'].shape == (8, 3)
    assert batch['actions'].dtype == np.int64 and batch['actions'].shape == (8,)
    assert batch['rewards'].dtype == np.float32 and batch['terminals'].dtype == np.bool_
    np.testing.assert_array_equal(batch['next_observations'][:, 0], batch['observations'][:, 0] + 1)


def test_wraps_around_and_keeps_only_recent():
    buffer = ReplayBuffer(10, 1, (1,), np.float32, seed=0)
    buffer.start_episodes(np.zeros((1, 1), np.float32))
    for step in range(25):
        buffer.add(
            np.array([step]), np.array([float(step)]), np.full((1, 1), step + 1.0, np.float32), np.array([False])
        )
    assert len(buffer) == 10
    batch = buffer.sample(200)
    assert set(batch['actions']) == set(range(15, 25))
    np.testing.assert_array_equal(batch['observations'][:, 0], batch['actions'])
    np.testing.assert_array_equal(batch['next_observations'][:, 0], batch['actions'] + 1)


def test_stacked_frames_stored_once_and_rebuilt_exactly():
    """A fake 2-env stream of 4-frame stacks with episode ends: every sample equals what the env gave."""
    rng = np.random.default_rng(1)
    n_envs, stack, steps = 2, 4, 60
    buffer = ReplayBuffer(80, n_envs, (2, 2, stack), np.uint8, frame_stack=stack, seed=0)
    assert buffer.frames.nbytes < 2 * 2 * 70 * n_envs  # one 2x2 frame per step (+ slack), not 8
    frame_id = 1

    def new_stack():
        nonlocal frame_id
        frames = [np.full((2, 2), frame_id + k, np.uint8) for k in range(stack)]
        frame_id += stack
        return np.stack(frames, -1)

    observations = np.stack([new_stack() for _ in range(n_envs)])
    buffer.start_episodes(observations)
    truth = {}
    for step in range(steps):
        nexts = np.stack(
            [
                np.concatenate([obs[..., 1:], np.full((2, 2, 1), (frame_id + e) % 256, np.uint8)], -1)
                for e, obs in enumerate(observations)
            ]
        )
        frame_id += n_envs
        done = rng.random(n_envs) < 0.15
        action = np.array([step * 10 + e for e in range(n_envs)])
        buffer.add(action, np.zeros(n_envs), nexts, done)
        for e in range(n_envs):
            truth[int(action[e])] = (observations[e].copy(), nexts[e].copy())
        observations = nexts.copy()
        if done.any():
            for e in np.flatnonzero(done):
                observations[e] = new_stack()
            buffer.start_episodes(observations, done)
    batch = buffer.sample(300)
    for obs, action, next_obs in zip(batch['observations'], batch['actions'], batch['next_observations']):
        np.testing.assert_array_equal(obs, truth[int(action)][0])
        np.testing.assert_array_equal(next_obs, truth[int(action)][1])
    assert batch['observations'].dtype == np.uint8


def test_sampling_is_uniform():
    buffer = ReplayBuffer(40, 4, (1,), seed=3)
    buffer.start_episodes(np.zeros((4, 1)))
    for step in range(10):
        buffer.add(np.arange(4) + 4 * step, np.zeros(4), np.zeros((4, 1)), np.zeros(4, bool))
    counts = np.bincount(buffer.sample(40000)['actions'], minlength=40)
    expected = 1000
    chi_square = ((counts - expected) ** 2 / expected).sum()
    assert chi_square < 80  # 39 degrees of freedom: p < 1e-4 above this


def test_capacity_smaller_than_envs_is_an_error():
    with pytest.raises(ValueError, match='smaller than the number of envs'):
        ReplayBuffer(2, 4, (1,))
