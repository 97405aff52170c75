"""Videos of training episodes, recorded from the training envs while training goes on."""

from __future__ import annotations

import gymnasium as gym

from xagents.play.recording import EpisodeRecorder, cubic_schedule, video_fps
from xagents.train.callbacks import Callback


class RecordedEnvs(gym.vector.VectorWrapper):
    """The training vector env, telling the recorder of every reset and step."""

    def __init__(self, envs, recorder: EpisodeRecorder):
        super().__init__(envs)
        self.recorder = recorder

    def reset(self, **kwargs):
        result = self.env.reset(**kwargs)
        self.recorder.reset()
        return result

    def step(self, actions):
        result = self.env.step(actions)
        self.recorder.step(result[2] | result[3])
        return result


class TrainingVideos(Callback):
    """Records training episodes 0, n, 2n, ... (``video_interval``), or 0, 1, 8, 27, ... (``video_dir`` alone)."""

    def __init__(self):
        self.started = 0
        self.recorder: EpisodeRecorder | None = None

    def on_training_start(self, trainer):
        agent, options = trainer.agent, trainer.options
        interval = options.video_interval
        self.recorder = EpisodeRecorder(
            agent.envs,
            options.video_dir or trainer.run_folder.videos,
            cubic_schedule if interval is None else lambda episode: episode % interval == 0,
            video_fps(agent.envs, agent.env_recipe.preprocess),
            agent.env_recipe.short_name,
            on_video=lambda path, episode: self.on_video(trainer, path, episode),
            started=self.started,
        )
        agent.envs = RecordedEnvs(agent.envs, self.recorder)
        if agent.observations is not None:  # episodes in progress: recording starts with the next ones
            self.recorder.reset()

    def on_video(self, trainer, path, episode: int) -> None:
        trainer.console(f'Video of training episode {episode}: {path}')
        if trainer.monitor is not None:  # called inside the env step, before the agent counts it
            trainer.monitor.video(trainer.agent.steps + trainer.agent.n_envs, path)

    def on_training_end(self, trainer, reason):
        if self.recorder is not None:
            self.recorder.close()
            self.started = self.recorder.started
            trainer.agent.envs = trainer.agent.envs.env
            self.recorder = None

    def state(self):
        return {'episodes_started': self.recorder.started if self.recorder is not None else self.started}

    def load_state(self, state):
        self.started = state.get('episodes_started') or 0
