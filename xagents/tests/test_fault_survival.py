"""Faults survived: a user's callback that raises, a signal during an export, a full disk while saving.

Each leaves a run (or an output path) that the next command can use: nothing lost, nothing left half-written.
"""

import pytest

import xagents
from xagents.run.history import read_history
from xagents.tests.test_faults import check_killed_run, checkpoint_state
from xagents.train import Callback

# Four envs whose episodes all end together (a time limit of 4 steps in a corridor too long to finish).
FOUR_AT_ONCE = dict(
    env='xagents.tests.tiny_envs:Corridor-v0', env_kwargs={'length': 1000, 'max_episode_steps': 4}, n_envs=4
)
TINY = dict(n_steps=8, quiet=True, seed=0, save_interval=1e9)


class RaiseAtEpisode(Callback):
    """A user's callback with a bug that shows at one episode."""

    def __init__(self, episode: int):
        self.episode = episode

    def on_episode_end(self, trainer, episode):
        if episode['episode'] == self.episode:
            raise RuntimeError(f'bug at episode {self.episode}')


def episodes_of(run) -> list[int]:
    return read_history(run / 'history.parquet').column('episode').to_pylist()


def test_a_callback_that_raises_loses_no_episode_of_its_batch_and_the_run_resumes(tmp_path):
    run = tmp_path / 'run'
    agent = xagents.PPO.from_env(**FOUR_AT_ONCE, **TINY, output_dir=str(run))
    with pytest.raises(RuntimeError, match='bug at episode 6'):  # the second of four ending at step 32
        agent.fit(max_steps=400, callbacks=[RaiseAtEpisode(6)])
    state = checkpoint_state(run / 'latest')
    assert (state['steps'], state['episodes']) == (32, 8)
    assert episodes_of(run) == list(range(1, 9))
    resumed = xagents.PPO.from_env(**FOUR_AT_ONCE, **TINY)
    resumed.resume(run)
    resumed.fit(max_steps=96)
    assert episodes_of(run) == list(range(1, resumed.episodes + 1)) and resumed.episodes == 24
    check_killed_run(run)


def test_a_callback_that_raises_on_the_episodes_of_an_interrupted_iteration_still_saves_them(tmp_path, monkeypatch):
    run = tmp_path / 'run'
    agent = xagents.PPO.from_env(**FOUR_AT_ONCE, **TINY, output_dir=str(run))
    iteration = type(agent).train_iteration

    def interrupted_after_step_64(self):  # Ctrl-C in a rollout: its finished episodes are not dispatched yet
        losses = iteration(self)
        if self.steps >= 64:
            raise KeyboardInterrupt
        return losses

    monkeypatch.setattr(type(agent), 'train_iteration', interrupted_after_step_64)
    with pytest.raises(RuntimeError, match='bug at episode 14'):
        agent.fit(max_steps=400, callbacks=[RaiseAtEpisode(14)])
    monkeypatch.undo()
    assert checkpoint_state(run / 'latest')['episodes'] == 16 and episodes_of(run) == list(range(1, 17))
    resumed = xagents.PPO.from_env(**FOUR_AT_ONCE, **TINY)
    resumed.resume(run)  # the lock was released
    resumed.fit(max_steps=96)
    assert episodes_of(run) == list(range(1, resumed.episodes + 1)) and resumed.episodes == 24
