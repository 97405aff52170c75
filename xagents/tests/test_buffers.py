import numpy as np
import pytest

from xagents.replay.buffers import ReplayBuffer
from xagents.replay.prioritized import PrioritizedReplayBuffer
from xagents.replay.sum_tree import SumTree


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
    # Contiguous, so handing a batch to TensorFlow does not copy it through a strided view.
    assert batch['observations'].flags['C_CONTIGUOUS'] and batch['next_observations'].flags['C_CONTIGUOUS']


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


def fill_random_episodes(buffer, steps, n_envs, rng, end_rate=0.2):
    """A stream of 1-d observations (the step number) with random terminations and truncations."""
    observations = np.zeros((n_envs, 1), np.float32)
    buffer.start_episodes(observations)
    log = []
    for step in range(steps):
        rewards = rng.normal(size=n_envs).astype(np.float32)
        terminals = rng.random(n_envs) < end_rate / 2
        dones = terminals | (rng.random(n_envs) < end_rate / 2)
        nexts = np.full((n_envs, 1), step + 1, np.float32)
        buffer.add(np.arange(n_envs) + n_envs * step, rewards, nexts, terminals, dones)
        log.append((rewards, terminals, dones))
        if dones.any():
            buffer.start_episodes(-nexts, dones)  # reset observations: negative, never a next one
    return log


def naive_n_step(log, step, env, n, gamma):
    """Sum rewards from ``step`` until n steps, an episode end or the newest step; return (sum, last, length)."""
    total, k = 0.0, 0
    while k < n and step + k < len(log):
        rewards, _, dones = log[step + k]
        total += gamma**k * rewards[env]
        k += 1
        if dones[env]:
            break
    return total, step + k - 1, k


@pytest.mark.parametrize('n_step', [1, 3])
def test_n_step_returns_match_a_naive_loop_at_episode_ends(n_step):
    rng = np.random.default_rng(4)
    n_envs, steps, gamma = 3, 50, 0.9
    buffer = ReplayBuffer(3 * 40, n_envs, (1,), seed=0, n_step=n_step, gamma=gamma)  # wraps around
    log = fill_random_episodes(buffer, steps, n_envs, rng)
    batch = buffer.sample(500)
    for action, reward, next_obs, terminal, discount in zip(
        batch['actions'], batch['rewards'], batch['next_observations'], batch['terminals'], batch['discounts']
    ):
        step, env = divmod(int(action), n_envs)
        assert step >= steps - 40
        total, last, length = naive_n_step(log, step, env, n_step, gamma)
        np.testing.assert_allclose(reward, total, rtol=1e-5, atol=1e-6)
        assert next_obs[0] == last + 1  # the final observation on truncation, never the reset one
        assert terminal == log[last][1][env]
        np.testing.assert_allclose(discount, gamma**length, rtol=1e-6)


def test_sum_tree_finds_leaves_in_exact_proportion():
    tree = SumTree(6)
    priorities = np.array([1.0, 0.0, 2.0, 3.0, 0.5, 1.5])
    tree.update(np.arange(6), priorities)
    assert tree.total == pytest.approx(8.0)
    grid = (np.arange(8000) + 0.5) / 8000 * tree.total
    counts = np.bincount(tree.find(grid), minlength=tree.size)
    np.testing.assert_array_equal(counts[:6], priorities * 1000)
    assert counts[6:].sum() == 0
    tree.update(np.array([3, 3]), np.array([0.0, 0.0]))  # repeated index: one value, sums stay right
    assert tree.total == pytest.approx(5.0)


def test_prioritized_sampling_proportions_and_weights():
    buffer = PrioritizedReplayBuffer(8, 2, (1,), seed=5, alpha=1.0, epsilon=0.0)
    buffer.start_episodes(np.zeros((2, 1)))
    for step in range(4):
        buffer.add(np.array([2 * step, 2 * step + 1]), np.zeros(2), np.zeros((2, 1)), np.zeros(2, bool))
    priorities = np.arange(1.0, 9.0)  # action a gets priority a + 1
    batch = buffer.sample(8)
    slots, envs = np.divmod(np.arange(8), 2)
    buffer.update_priorities(slots * 2 + envs, priorities)
    counts = np.zeros(8)
    for _ in range(200):
        batch = buffer.sample(64, beta=1.0)
        counts += np.bincount(batch['actions'], minlength=8)
        chosen = priorities[batch['actions']]
        np.testing.assert_allclose(batch['weights'], (1 / chosen) / (1 / chosen).max(), rtol=1e-5)
    expected = counts.sum() * priorities / priorities.sum()
    chi_square = ((counts - expected) ** 2 / expected).sum()
    assert chi_square < 25  # 7 degrees of freedom: p < 1e-3 above this
    assert buffer.max_priority == 8.0


def test_save_and_load_restore_contents_and_sampling(tmp_path):
    rng = np.random.default_rng(2)
    original = PrioritizedReplayBuffer(60, 3, (1,), seed=1, n_step=2)
    fill_random_episodes(original, 30, 3, rng)
    original.update_priorities(np.arange(9), np.arange(9.0))
    original.save(tmp_path / 'buffer.npz')
    restored = PrioritizedReplayBuffer(60, 3, (1,), seed=99, n_step=2)
    restored.load(tmp_path / 'buffer.npz')
    first, second = original.sample(32), restored.sample(32)
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])
    with pytest.raises(ValueError, match='same --buffer-max-size'):
        ReplayBuffer(90, 3, (1,)).load(tmp_path / 'buffer.npz')


@pytest.mark.parametrize('prioritized', [False, True])
def test_a_partly_filled_buffer_saves_what_it_holds_and_samples_the_same_after_loading(tmp_path, prioritized):
    buffer_class = PrioritizedReplayBuffer if prioritized else ReplayBuffer
    rng = np.random.default_rng(3)
    original = buffer_class(1_000_000, 2, (5,), seed=1, n_step=3)
    fill_random_episodes(original, 40, 2, rng)
    original.save(tmp_path / 'buffer.npz')
    # 40 steps x 2 envs of a 1M buffer: kilobytes (plus the 1M-leaf priority tree), not its capacity's ~70 MB
    assert (tmp_path / 'buffer.npz').stat().st_size < (40e6 if prioritized else 100_000)
    restored = buffer_class(1_000_000, 2, (5,), seed=7, n_step=3)
    restored.load(tmp_path / 'buffer.npz')
    for buffer in (original, restored):  # both go on alike after the load
        fill_random_episodes(buffer, 5, 2, np.random.default_rng(4))
    first, second = original.sample(64), restored.sample(64)
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])


def test_atari_buffer_holds_about_one_frame_per_transition():
    """The figure in the README: a 1M Pong buffer is about 7 GB because each 84x84 frame is kept once."""
    capacity = 100_000  # np.zeros reserves without touching: nothing is resident here
    buffer = ReplayBuffer(capacity, 8, (84, 84, 4), np.uint8, frame_stack=4)
    arrays = (*buffer.SLOT_ARRAYS, 'frames', 'frame_count')
    per_transition = sum(getattr(buffer, name).nbytes for name in arrays) / capacity
    frame = 84 * 84
    assert frame < per_transition < 1.0625 * frame + 40  # frames + 1/16 slack, then index, action, reward, flags
    assert per_transition < 2 * 4 * frame / 7  # at least 7x less than two 4-frame stacks per transition


def test_sum_tree_range_and_batch_updates_give_the_sums_of_their_leaves():
    from xagents.replay.sum_tree import SumTree

    rng = np.random.default_rng(0)
    tree = SumTree(37)
    leaves = np.zeros(tree.size)
    for _ in range(200):
        if rng.random() < 0.5:
            start, count = rng.integers(0, 30), rng.integers(1, 8)
            values = rng.random(count)
            tree.update_range(start, values)
            leaves[start : start + count] = values
        else:
            indices = rng.integers(0, 37, 16)  # repeats included: the last value of a leaf counts
            values = rng.random(16)
            tree.update(indices, values)
            leaves[indices] = values
        level = leaves
        for depth in range(tree.depth, -1, -1):
            np.testing.assert_allclose(tree.nodes[2**depth : 2 ** (depth + 1)], level, rtol=1e-12)
            level = level[0::2] + level[1::2]


@pytest.mark.parametrize('capacity', [5, 1000, 5000])
def test_sum_tree_search_finds_the_leaf_whose_interval_holds_each_value(capacity):
    from xagents.replay.sum_tree import SumTree

    rng = np.random.default_rng(1)
    tree = SumTree(capacity)
    priorities = rng.random(capacity) * (rng.random(capacity) < 0.7)  # empty leaves among them
    tree.update(np.arange(capacity), priorities)
    edges = np.cumsum(priorities)
    values = rng.uniform(0, tree.total, 500)
    expected = np.searchsorted(edges, values, side='right')
    np.testing.assert_array_equal(tree.find(values), expected)
    assert priorities[tree.find(np.array([tree.total, tree.total * (1 + 1e-12)]))].min() > 0  # never an empty leaf


def test_a_search_that_rounding_leads_into_an_empty_subtree_ends_on_a_non_empty_leaf():
    from xagents.replay.sum_tree import SumTree

    tree = SumTree(2**13)  # one level below the 12 searched whole
    tree.update(np.array([0, 1, 2]), np.array([1.0, 0.0, 1.0]))
    parent = 2**12  # of leaves 0 and 1: made larger than its children's sum, as rounding can
    tree.nodes[parent] = 1.5
    tree._update_top()
    assert tree.find(np.array([1.2, 0.5, 2.0])).tolist() == [0, 0, 2]
