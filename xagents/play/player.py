"""Playing a trained agent: episodes in parallel, or in turn while rendering and recording."""

from __future__ import annotations

import os

from xagents.play.episodes import play_in_parallel, play_in_turn, records
from xagents.play.recording import video_fps

MAX_PLAY_ENVS = 16


def play(
    agent,
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
    RGB arrays for the videos (``<name_prefix>-episode-<k>.mp4`` in ``video_dir``, numbered
    on from the videos already there), the frames (every ``frame_frequency``-th, in
    ``frame_dir``) and the gif of the first episode (``gif``, every ``frame_frequency``-th
    frame). ``random`` plays uniformly random actions, as a baseline.
    """
    agent.weights_changed()
    outputs = {'video_dir': video_dir, 'frame_dir': frame_dir, 'gif': gif}
    recording = records(outputs)
    if render and not os.environ.get('DISPLAY'):
        print('No display found: --render ignored (use --video-dir, --frame-dir or --gif to see the agent).')
        render = False
    in_turn = recording or render or max_steps is not None
    render_mode = 'rgb_array' if recording else 'human' if render else None
    envs = agent.env_recipe.make(1 if in_turn else min(episodes, max_envs), render_mode=render_mode, async_envs=False)
    try:
        if not in_turn:
            return play_in_parallel(
                agent, envs, episodes, deterministic=deterministic, seed=seed, random=random, report=True
            )
        prefix = name_prefix or agent.env_recipe.short_name
        fps = video_fps(envs, agent.env_recipe.preprocess)
        return play_in_turn(
            agent, envs, episodes, max_steps, deterministic, seed, random, outputs, frame_frequency, prefix, fps
        )
    finally:
        envs.close()
