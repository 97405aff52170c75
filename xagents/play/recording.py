"""Headless recording of environment frames: H.264 mp4 videos, jpg frames and gifs.

Frames come from ``render_mode='rgb_array'`` environments, which work the same on a
server as on a desktop (:func:`xagents.envs.vector.use_headless_backends`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from xagents.envs.rendering import render_one

GIF_MAX_WIDTH = 320
ALE_FPS = 60
ATARI_FRAME_SKIP = 4


def video_fps(envs, preprocess: bool = False) -> float:
    """Frames per second of a recording: the env's ``render_fps``, or real time for skipped Atari frames."""
    if preprocess:
        return ALE_FPS / ATARI_FRAME_SKIP
    return float(envs.metadata.get('render_fps') or 30)


def _partial(path: Path) -> Path:
    """A hidden name in the same folder for a file being written (same extension, for the encoder)."""
    return path.with_name(f'.{path.stem}.part{path.suffix}')


def _even(frame: np.ndarray) -> np.ndarray:
    """H.264 in yuv420p needs even sides: pad an odd row or column by repeating the edge."""
    height, width = frame.shape[:2]
    if height % 2 == 0 and width % 2 == 0:
        return frame
    return np.pad(frame, ((0, height % 2), (0, width % 2), (0, 0)), mode='edge')


class VideoFile:
    """One mp4 file (H.264, yuv420p: plays in browsers), written under a temporary name.

    The file gets its final name only when closed, so a killed process never leaves a
    broken video that looks complete.
    """

    def __init__(self, path: str | os.PathLike, fps: float):
        import imageio.v2 as imageio

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.partial = _partial(self.path)
        self.frames = 0
        self.writer = imageio.get_writer(
            self.partial,
            format='FFMPEG',
            fps=fps,
            codec='libx264',
            pixelformat='yuv420p',
            quality=7,
            macro_block_size=1,
            ffmpeg_log_level='error',
        )

    def append(self, frame: np.ndarray) -> None:
        self.writer.append_data(_even(np.asarray(frame, np.uint8)))
        self.frames += 1

    def close(self) -> Path | None:
        """Finish the file; returns its path, or None when no frame was written."""
        self.writer.close()
        if not self.frames:
            self.partial.unlink(missing_ok=True)
            return None
        os.replace(self.partial, self.path)
        return self.path


class GifFile:
    """An animated gif of at most ``GIF_MAX_WIDTH`` pixels wide, written when closed."""

    def __init__(self, path: str | os.PathLike, fps: float):
        self.path, self.fps = Path(path), fps
        self.frames: list[np.ndarray] = []

    def append(self, frame: np.ndarray) -> None:
        frame = np.asarray(frame, np.uint8)
        height, width = frame.shape[:2]
        if width > GIF_MAX_WIDTH:
            from PIL import Image  # Pillow comes with imageio and matplotlib

            size = (GIF_MAX_WIDTH, max(1, round(height * GIF_MAX_WIDTH / width)))
            # BOX averages the pixels each output pixel covers, as OpenCV's INTER_AREA does.
            frame = np.asarray(Image.fromarray(frame).resize(size, Image.Resampling.BOX))
        self.frames.append(frame)

    def close(self) -> Path | None:
        if not self.frames:
            return None
        import imageio.v2 as imageio

        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = _partial(self.path)
        imageio.mimsave(temporary, self.frames, format='GIF', duration=1000 / self.fps, loop=0)
        os.replace(temporary, self.path)
        return self.path


def save_frame(path: str | os.PathLike, frame: np.ndarray) -> None:
    import imageio.v2 as imageio

    imageio.imwrite(path, np.asarray(frame, np.uint8), format='jpg')


def cubic_schedule(episode: int) -> bool:
    """Episodes 0, 1, 8, 27, ..., 729, then every 1000th: gymnasium's default video trigger."""
    if episode < 1000:
        return round(episode ** (1 / 3)) ** 3 == episode
    return episode % 1000 == 0


class EpisodeRecorder:
    """Records chosen training episodes of a vector env as mp4 files, while training goes on.

    Episodes are numbered from 0 in the order they start (with one env this is the
    history's order: video ``episode-k`` is history episode ``k + 1``). Episode ``k`` is
    recorded when ``trigger(k)`` is true, from whichever env it runs in; only that env
    renders, and only while its episode lasts.

    Args:
        envs: The training vector env, made with ``render_mode='rgb_array'``.
        folder: Where the videos go, as ``<prefix>-episode-<k>.mp4``.
        trigger: Which episode numbers to record.
        fps: Frames per second of the videos.
        prefix: Start of the file names.
        on_video: Called with each finished video's path and episode number.
        started: Episodes started before (a resumed run goes on numbering from there).
    """

    def __init__(
        self,
        envs,
        folder: str | os.PathLike,
        trigger: Callable[[int], bool],
        fps: float,
        prefix: str,
        on_video: Callable[[Path, int], None] | None = None,
        started: int = 0,
    ):
        self.envs, self.folder, self.trigger = envs, Path(folder), trigger
        self.fps, self.prefix, self.on_video = fps, prefix, on_video
        self.started = started
        self.recording: dict[int, tuple[VideoFile, int]] = {}  # env index -> (video, episode number)

    def _start(self, indices) -> None:
        for index in indices:
            episode = self.started
            self.started += 1
            if self.trigger(episode):
                path = self.folder / f'{self.prefix}-episode-{episode}.mp4'
                video = VideoFile(path, self.fps)
                video.append(render_one(self.envs, int(index)))
                self.recording[int(index)] = (video, episode)

    def reset(self) -> None:
        """All envs start new episodes (the ones in progress are dropped unfinished)."""
        self.close()
        self._start(range(self.envs.num_envs))

    def step(self, done: np.ndarray) -> None:
        """After a vector step: frames for the recorded episodes, then numbers for the new ones."""
        for index in list(self.recording):
            if done[index]:
                self._finish(index)
            else:
                self.recording[index][0].append(render_one(self.envs, index))
        if done.any():
            self._start(np.flatnonzero(done))

    def _finish(self, index: int) -> None:
        video, episode = self.recording.pop(index)
        path = video.close()
        if path is not None and self.on_video is not None:
            self.on_video(path, episode)

    def close(self) -> None:
        """Finish the videos in progress (their episodes end early)."""
        for index in list(self.recording):
            self._finish(index)
