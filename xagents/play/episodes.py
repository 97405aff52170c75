"""The episode runner shared by play and evaluation: whole episodes of an agent, in parallel or in turn.

Training-only signal changes (reward clipping, life-loss terminals) do not apply here
and normalization statistics are frozen: the rewards are the environment's own.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np

from xagents.envs.dict_spaces import batch_size
from xagents.envs.rendering import render_one
from xagents.play.recording import GifFile, VideoFile, save_frame

PROGRESS_INTERVAL = 2.0


def actions_for(agent, observations: np.ndarray, deterministic: bool, random: bool, masks=None) -> np.ndarray:
    """The agent's actions for raw observations (or uniformly random ones), as the envs take them;
    among the legal ones of ``masks`` when given."""
    if random:
        actions = agent.random_actions(batch_size(observations), masks=masks)
    elif masks is None:
        actions = agent.policy(agent.normalize_observations(observations), deterministic=deterministic)
    else:
        actions = agent.policy(agent.normalize_observations(observations), deterministic=deterministic, masks=masks)
    return agent.env_actions(actions)


def masks_of(agent, envs, info: dict):
    """The action masks of the envs' current states when the agent acts with masks, else None."""
    return None if agent.masks is None else agent.masks.read(envs, info)


def summarize(results: list[dict]) -> dict[str, float]:
    """Mean and std of the episode rewards, and the mean length."""
    rewards, lengths = [result['reward'] for result in results], [result['length'] for result in results]
    return {
        'mean_reward': float(np.mean(rewards)),
        'std_reward': float(np.std(rewards)),
        'mean_length': float(np.mean(lengths)),
    }


def _report(results: list[dict], reward: float, length: int, seconds: float, report: bool, note='') -> None:
    results.append({'reward': reward, 'length': length, 'seconds': seconds})
    if report:
        print(f'episode {len(results)}: reward {reward:.2f}, steps {length}, time {seconds:.2f} s{note}', flush=True)


def play_in_parallel(
    agent, envs, episodes: int, *, deterministic: bool, seed, random: bool, report=False, progress=None
) -> list[dict]:
    """``episodes`` episodes over the envs of ``envs``, each env playing a fixed share of them
    (so that short episodes are not over-counted)."""
    n_envs = envs.num_envs
    quotas = episodes // n_envs + (np.arange(n_envs) < episodes % n_envs)
    finished = np.zeros(n_envs, np.int64)
    returns, lengths = np.zeros(n_envs), np.zeros(n_envs, np.int64)
    starts = np.full(n_envs, time.perf_counter())
    results: list[dict] = []
    observations, info = envs.reset(seed=seed)
    while len(results) < episodes:
        actions = actions_for(agent, observations, deterministic, random, masks_of(agent, envs, info))
        observations, rewards, terminated, truncated, info = envs.step(actions)
        returns += rewards
        lengths += 1
        now = time.perf_counter()
        for index in np.flatnonzero(terminated | truncated):
            if finished[index] < quotas[index]:
                _report(results, float(returns[index]), int(lengths[index]), now - starts[index], report)
                finished[index] += 1
            returns[index], lengths[index], starts[index] = 0.0, 0, now
        if progress is not None:
            progress.update(len(results))
    return results


def first_free_episode(folder: str | None, prefix: str) -> int:
    """The first video number after those already in ``folder``: a new recording never replaces one."""
    if folder is None or not Path(folder).is_dir():
        return 0
    pattern = re.compile(rf'{re.escape(prefix)}-episode-(\d+)\.mp4')
    taken = [int(match.group(1)) for path in Path(folder).iterdir() if (match := pattern.fullmatch(path.name))]
    return max(taken) + 1 if taken else 0


def records(outputs: dict) -> bool:
    """Whether any of the video, frame and gif destinations is given."""
    return any(value is not None for value in outputs.values())


def play_in_turn(
    agent, envs, episodes, max_steps, deterministic, seed, random, outputs: dict, frame_frequency, prefix, fps
) -> list[dict]:
    """One env plays the episodes in turn; ``outputs`` names the video, frame and gif destinations."""
    video_dir, frame_dir, gif_path = outputs['video_dir'], outputs['frame_dir'], outputs['gif']
    recording = records(outputs)
    observations, info = envs.reset(seed=seed)
    if recording:
        render_one(envs)  # an env that gives no frames is refused before anything is written
    if frame_dir is not None:
        Path(frame_dir).mkdir(parents=True, exist_ok=True)
    gif = GifFile(gif_path, fps / frame_frequency) if gif_path is not None else None
    first_video = first_free_episode(video_dir, prefix)
    video, results = None, []
    episode_reward, episode_steps, total_steps = 0.0, 0, 0
    start = last_line = time.perf_counter()
    try:
        while len(results) < episodes:
            if recording:
                frame = render_one(envs)
                if video_dir is not None:
                    number = first_video + len(results)
                    video = video or VideoFile(Path(video_dir) / f'{prefix}-episode-{number}.mp4', fps)
                    video.append(frame)
                if total_steps % frame_frequency == 0:
                    if frame_dir is not None:
                        save_frame(Path(frame_dir) / f'{total_steps:06d}.jpg', frame)
                    if gif is not None and not results:
                        gif.append(frame)
            actions = actions_for(agent, observations, deterministic, random, masks_of(agent, envs, info))
            observations, reward, terminated, truncated, info = envs.step(actions)
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
                _report(results, episode_reward, episode_steps, now - start, True, note)
                episode_reward, episode_steps, start = 0.0, 0, now
                if not ended:
                    observations, info = envs.reset()
            elif now - last_line >= PROGRESS_INTERVAL:
                steps = f'{episode_steps:,} step{"s" if episode_steps != 1 else ""}'
                print(f'episode {len(results) + 1}: {steps} so far, reward {episode_reward:.2f}')
                last_line = now
    finally:
        if video is not None:
            video.close()
    return results
