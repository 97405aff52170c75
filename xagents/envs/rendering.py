"""The RGB frames of a vector env's environments, as videos, frames and gifs record them.

An env renders when made with ``render_mode='rgb_array'``. One whose metadata declares no
``render_modes`` is recorded all the same when its ``render()`` returns RGB frames; when it
returns something else the recording is refused in one line that names the fix.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from xagents.envs.checks import EnvAPIError

RENDER_FIX = (
    "declare metadata = {'render_modes': ['rgb_array']} and return (height, width, 3) uint8 frames from render()"
)


def render_one(envs, index: int = 0) -> np.ndarray:
    """The RGB frame of environment ``index`` of a vector env, rendering only that one where possible."""
    base = envs.unwrapped
    if hasattr(base, 'render_one'):
        return base.render_one(index)
    env = base.envs[index] if hasattr(base, 'envs') else base
    try:
        frames = env.render()
    except NotImplementedError:  # gymnasium's own render(), for an env that defines none
        raise EnvAPIError(f'{env_name(env)} cannot be recorded: it defines no render(): {RENDER_FIX}') from None
    if env is base and isinstance(frames, (list, tuple)):
        frames = frames[index]
    return rgb_frame(frames, env)


def env_name(env) -> str:
    """The id ``env`` was made with, or its class name."""
    spec = getattr(env, 'spec', None)
    return spec.id if spec is not None else type(env.unwrapped).__name__


def rgb_frame(frame, env) -> np.ndarray:
    """``frame``, what ``env.render()`` returned, as an RGB array; an EnvAPIError naming the fix otherwise."""
    array = np.asarray(frame) if frame is not None else np.empty(0)
    if array.ndim == 3 and array.shape[-1] in (3, 4) and np.issubdtype(array.dtype, np.number):
        return array
    modes = env.metadata.get('render_modes')
    declared = f'render_modes {modes}' if modes else 'no render_modes'
    got = 'None' if frame is None else f'{type(frame).__name__} of shape {array.shape}'
    raise EnvAPIError(
        f'{env_name(env)} cannot be recorded: it declares {declared} and render() returned {got}: {RENDER_FIX}'
    )


class FollowTrackedBody(gym.Wrapper):
    """A gymnasium MuJoCo env whose frames keep its robot in view.

    gymnasium renders them with a free camera, which ignores what they say to follow: Hopper,
    Walker2d and Humanoid name a body in their ``default_camera_config`` (``trackbodyid``), and
    HalfCheetah, Ant and Swimmer name none there but carry a ``track`` camera in their model that
    follows the torso. The Hopper ran out of the picture. Before each frame the camera looks at that
    body's centre of mass in the ground plane (x, y), its height as gymnasium sets it. A
    ``trackbodyid`` below 1 (the world, or none: Reacher, Pusher, InvertedPendulum) names no body of
    the robot, and those fixed views stay.
    """

    def render(self):
        base = self.env.unwrapped
        renderer = getattr(base, 'mujoco_renderer', None)
        viewer = getattr(renderer, 'viewer', None)  # made at the first frame, centred at the start
        body = tracked_body(base.model, getattr(renderer, 'default_cam_config', None)) if renderer else 0
        if body >= 1 and hasattr(viewer, 'cam'):
            viewer.cam.lookat[:2] = base.data.subtree_com[body][:2]
        return self.env.render()


def tracked_body(model, camera_config: dict | None) -> int:
    """The body a gymnasium MuJoCo env's frames follow: its ``trackbodyid``, else the body of its
    model's tracking camera named ``track``; 0 (the world) for none."""
    if camera_config and 'trackbodyid' in camera_config:
        return max(int(camera_config['trackbodyid']), 0)
    import mujoco

    camera = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, 'track')
    tracking = (int(mujoco.mjtCamLight.mjCAMLIGHT_TRACK), int(mujoco.mjtCamLight.mjCAMLIGHT_TRACKCOM))
    return int(model.cam_bodyid[camera]) if camera >= 0 and model.cam_mode[camera] in tracking else 0
