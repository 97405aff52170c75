"""Watching agents: videos, frames and gifs, evaluation, snapshots, TensorBoard and wandb."""

import json
import threading
import types

import imageio_ffmpeg
import numpy as np
import pyarrow.parquet as pq
import pytest

from xagents import A2C, PPO
from xagents.commands.main import main
from xagents.play.recording import cubic_schedule
from xagents.tests.test_cli import run_cli
from xagents.train.monitoring import run_file_records, wait_until_written


def video_codec(path) -> str:
    """The codec ffmpeg reports for the video stream of ``path``."""
    frames = imageio_ffmpeg.read_frames(str(path))
    meta = next(frames)
    frames.close()
    return meta['codec']


def video_frames(path) -> int:
    return imageio_ffmpeg.count_frames_and_secs(str(path))[0]


@pytest.mark.parametrize(
    'env_args, max_steps',
    [
        ('--env PongNoFrameskip-v4 --preprocess', 60),  # Atari
        pytest.param('--env HalfCheetah-v5', 30, marks=pytest.mark.integration),  # MuJoCo: EGL, no display
        ('--env LunarLander-v3', 40),  # Box2D
    ],
)
def test_play_records_h264_headless(tmp_path, env_args, max_steps):
    args = f'play td3 {env_args} --random --episodes 2 --max-steps {max_steps} --video-dir v --frame-dir f --gif a.gif'
    agent = 'dqn' if 'Pong' in env_args or 'Lunar' in env_args else 'td3'
    result = run_cli(tmp_path, *args.replace('td3', agent, 1).split(), '--frame-frequency', '10')
    assert result.returncode == 0, result.stderr
    assert 'episode 2: reward' in result.stdout and 'over 2 episode(s)' in result.stdout
    videos = sorted((tmp_path / 'v').iterdir())
    assert [path.name.split('-episode-')[1] for path in videos] == ['0.mp4', '1.mp4']
    for path in videos:
        assert video_codec(path) == 'h264'
        assert video_frames(path) == max_steps
    assert len(list((tmp_path / 'f').glob('*.jpg'))) == 2 * max_steps // 10
    from PIL import Image

    with Image.open(tmp_path / 'a.gif') as gif:
        assert gif.format == 'GIF' and gif.width <= 320 and gif.n_frames > 1
    assert not list(tmp_path.glob('MUJOCO_LOG.TXT'))


def test_mujoco_frames_keep_the_body_the_env_names_in_view():
    """gymnasium's MuJoCo envs name a body to track that their free camera ignores (a Hopper ran out
    of the gallery's gifs): the camera looks at it in the ground plane before each frame."""
    import gymnasium as gym

    from xagents.envs.rendering import FollowTrackedBody, tracked_body

    def make_env(name):
        env = gym.make(name).unwrapped
        env.close()
        return env.model, env.mujoco_renderer.default_cam_config

    env = gym.make('Hopper-v5')  # rendering itself needs OpenGL, which this process cannot load beside TensorFlow
    env.reset(seed=0)
    base = env.unwrapped
    position = base.init_qpos.copy()
    position[0] = 7.5
    base.set_state(position, base.init_qvel)
    camera = types.SimpleNamespace(lookat=np.array([0.0, 0.0, 1.15]))
    base.mujoco_renderer.viewer = types.SimpleNamespace(cam=camera)
    base.mujoco_renderer.render = lambda render_mode: 'frame'
    assert FollowTrackedBody(env).render() == 'frame'
    assert camera.lookat[0] == base.data.subtree_com[2][0] > 7
    assert list(camera.lookat[1:]) == [0.0, 1.15]
    env.close()
    reacher = gym.make('Reacher-v5')  # trackbodyid 0, the world: its fixed view is kept
    reacher.reset(seed=0)
    fixed = types.SimpleNamespace(lookat=np.array([0.0, 0.0, 0.0]))
    reacher.unwrapped.mujoco_renderer.viewer = types.SimpleNamespace(cam=fixed)
    reacher.unwrapped.mujoco_renderer.render = lambda render_mode: 'frame'
    assert FollowTrackedBody(reacher).render() == 'frame' and list(fixed.lookat) == [0.0, 0.0, 0.0]
    reacher.close()
    cheetah = gym.make('HalfCheetah-v5')  # names no trackbodyid: its model's ``track`` camera follows the torso
    cheetah.reset(seed=0)
    cheetah.unwrapped.data.qpos[0] = -6.0
    cheetah.unwrapped.set_state(cheetah.unwrapped.data.qpos, cheetah.unwrapped.data.qvel)
    camera = types.SimpleNamespace(lookat=np.array([0.0, 0.0, 0.0]))
    cheetah.unwrapped.mujoco_renderer.viewer = types.SimpleNamespace(cam=camera)
    cheetah.unwrapped.mujoco_renderer.render = lambda render_mode: 'frame'
    assert FollowTrackedBody(cheetah).render() == 'frame' and camera.lookat[0] < -5 and camera.lookat[2] == 0.0
    cheetah.close()
    bodies = {
        name: tracked_body(*make_env(name))
        for name in ('Ant-v5', 'Swimmer-v5', 'InvertedDoublePendulum-v5', 'Pusher-v5')
    }
    assert bodies == {'Ant-v5': 1, 'Swimmer-v5': 1, 'InvertedDoublePendulum-v5': 0, 'Pusher-v5': 0}
    from xagents.envs.vector import _make_mujoco_env

    assert isinstance(_make_mujoco_env('Hopper-v5', 'rgb_array', {}), FollowTrackedBody)  # no frame drawn here
    assert not isinstance(_make_mujoco_env('Hopper-v5', None, {}), FollowTrackedBody)


def test_cubic_schedule_is_gymnasiums_default_trigger():
    assert [k for k in range(3000) if cubic_schedule(k)] == [k**3 for k in range(10)] + [1000, 2000]


def test_training_videos_every_k_episodes_with_a_history_row_for_each(tmp_path):
    agent = A2C.from_env('CartPole-v1', seed=0, quiet=True, output_dir=str(tmp_path), video_interval=5)
    agent.fit(max_steps=400)
    lengths = agent.run.history.column('episode_length')
    assert agent.run.history.column('episode') == list(range(1, agent.episodes + 1))
    recorded = sorted(int(path.stem.split('-episode-')[1]) for path in (tmp_path / 'videos').glob('*.mp4'))
    # Episodes 0, 5, 10, ... up to the one still running at the end (finished early).
    assert recorded == list(range(0, agent.episodes + 1, 5))
    for episode in recorded[:-1]:
        path = tmp_path / 'videos' / f'CartPole-v1-episode-{episode}.mp4'
        assert video_codec(path) == 'h264'
        # One env: video k is history row k, one frame per step.
        assert video_frames(path) == lengths[episode]
    assert not list((tmp_path / 'videos').glob('.*'))  # no partial files left


def test_training_videos_go_on_numbering_after_resume(tmp_path):
    agent = A2C.from_env('CartPole-v1', seed=0, quiet=True, output_dir=str(tmp_path), video_interval=3)
    agent.fit(max_steps=200)
    before = {path.name for path in (tmp_path / 'videos').iterdir()}
    resumed = A2C.from_env('CartPole-v1', seed=0, quiet=True, video_interval=3)
    resumed.resume(tmp_path)
    resumed.fit(max_steps=400)
    after = sorted(int(path.stem.split('-episode-')[1]) for path in (tmp_path / 'videos').iterdir())
    assert before < {f'CartPole-v1-episode-{k}.mp4' for k in after}
    assert all(k % 3 == 0 for k in after) and len(after) == len(set(after))


def test_evaluation_picks_the_best_checkpoint_and_snapshots_play(tmp_path, capsys):
    import tensorflow as tf

    agent = PPO.from_env(
        'CartPole-v1',
        n_envs=4,
        n_steps=128,
        seed=0,
        output_dir=str(tmp_path / 'run'),
        eval_interval=1000,
        eval_episodes=4,
        snapshot_interval=1500,
        tensorboard=True,
    )
    agent.fit(max_steps=4000)
    out = capsys.readouterr().out
    evaluations = pq.read_table(tmp_path / 'run' / 'evaluations.parquet').to_pydict()
    assert evaluations['step'] == [1024, 2048, 3072, 4096]
    assert evaluations['episodes'] == [4] * 4
    assert out.count('Evaluation at step') == 4
    # The best checkpoint holds the models of the best evaluation.
    best = tf.train.Checkpoint(state=tf.Variable('', dtype=tf.string))
    best.read(tf.train.latest_checkpoint(str(tmp_path / 'run' / 'best-model'))).expect_partial()
    state = json.loads(best.state.numpy().decode())
    best_index = int(np.argmax(evaluations['mean_reward']))
    assert state['steps'] == evaluations['step'][best_index]
    assert state['best_eval_reward'] == pytest.approx(max(evaluations['mean_reward']))
    # Evaluations reach TensorBoard too.
    logged = {}
    for path in (tmp_path / 'run' / 'tensorboard').glob('events.out.tfevents.*'):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                if value.tag == 'eval/mean_reward':
                    logged[event.step] = float(tf.make_ndarray(value.tensor))
    assert sorted(logged) == evaluations['step']
    np.testing.assert_allclose([logged[step] for step in evaluations['step']], evaluations['mean_reward'], rtol=1e-6)
    # Snapshots: the first step at or past each multiple of 1500.
    snapshots = sorted(path.name for path in (tmp_path / 'run' / 'snapshots').iterdir())
    assert snapshots == ['step-1536', 'step-3072']
    assert main(['play', 'ppo', '--run', str(tmp_path / 'run'), '--snapshot', '1536', '--episodes', '2']) == 0
    assert 'over 2 episode(s)' in capsys.readouterr().out
    assert main(['play', 'ppo', '--run', str(tmp_path / 'run'), '--snapshot', '3000']) == 0
    assert 'the first snapshot at or after step 3,000: step 3,072' in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(['play', 'ppo', '--run', str(tmp_path / 'run'), '--snapshot', '3073'])
    assert 'no snapshot at or after step 3073; the last ones are at steps: 1536, 3072' in capsys.readouterr().err


def test_wandb_without_an_account_logs_offline_in_the_run(tmp_path, monkeypatch, capsys):
    for name in ('WANDB_API_KEY', 'WANDB_MODE', 'WANDB_PROJECT'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('HOME', str(tmp_path))  # no ~/.netrc login
    monkeypatch.setenv('WANDB_CONFIG_DIR', str(tmp_path / 'wandb-config'))
    agent = A2C.from_env(
        'CartPole-v1', seed=0, output_dir=str(tmp_path / 'run'), monitor_session='smoke', video_interval=10
    )
    agent.fit(max_steps=300)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.lower().startswith('wandb')]
    assert len(lines) == 1 and lines[0].startswith('wandb offline (') and 'wandb sync' in lines[0]
    (run_file,) = (tmp_path / 'run' / 'wandb').glob('offline-run-*/run-*.wandb')
    # Read as fit returns: wandb's service writes the file's last block when it closes the run, after
    # run.finish() has returned (under load, a 7-byte file was read here); Monitor.close waits for it.
    records = list(run_file_records(run_file))
    assert 'exit' in [record.WhichOneof('record_type') for record in records], f'{run_file.stat().st_size} bytes'
    logged, config = {}, {}
    for record in records:
        kind = record.WhichOneof('record_type')
        if kind == 'history':
            items = {item.key or '/'.join(item.nested_key): json.loads(item.value_json) for item in record.history.item}
            for key, value in items.items():
                logged.setdefault(key, []).append(value)
        elif kind == 'run':
            assert record.run.display_name == 'smoke'
            config = {
                item.key or '/'.join(item.nested_key): json.loads(item.value_json) for item in record.run.config.update
            }
    # One env: one episode per step, so every episode's reward is logged at its own step.
    np.testing.assert_allclose(logged['episode/reward'], agent.run.history.column('episode_reward'))
    assert {'train/policy_loss', 'train/learning_rate', 'video/path'} <= set(logged)
    assert config['agent'] == 'a2c' and config['hyperparameters']['monitor_session'] == 'smoke'
    videos = list(run_file.parent.glob('files/media/videos/*.mp4'))
    assert videos and all(video_codec(path) == 'h264' for path in videos)
    # What close waits for: a file of the header alone (as read under load) is complete once its exit record is in.
    partial = tmp_path / 'partial.wandb'
    partial.write_bytes(run_file.read_bytes()[:7])
    assert not wait_until_written(partial, timeout=0.05)
    threading.Timer(0.2, partial.write_bytes, [run_file.read_bytes()]).start()
    assert wait_until_written(partial)


def test_every_atari_path_sees_the_same_observations():
    """Training (2 envs), rendering for videos and play (1 env), --async-envs and a run's evaluation
    envs (its recipe) are one pipeline: the same seed and actions give identical arrays, and the
    recorded colour frames are the games the agent sees."""
    import cv2

    from xagents.envs.atari import PreprocessedAtari
    from xagents.envs.recipe import EnvRecipe, create_envs

    recipe = EnvRecipe('PongNoFrameskip-v4', preprocess=True)
    paths = {
        'training': create_envs('PongNoFrameskip-v4', 2, preprocess=True),
        'recording': create_envs('PongNoFrameskip-v4', 1, preprocess=True, render_mode='rgb_array'),
        'async': create_envs('PongNoFrameskip-v4', 2, preprocess=True, async_envs=True),
        'evaluation': recipe.make(2),
    }
    try:
        assert all(
            isinstance(envs, PreprocessedAtari) and envs.spec.id == 'PongNoFrameskip-v4' for envs in paths.values()
        )
        observations = {name: envs.reset(seed=7)[0][:1] for name, envs in paths.items()}
        actions = np.random.default_rng(0).integers(0, 6, (600, 2))
        rewards = {name: 0.0 for name in paths}
        for step in range(len(actions)):
            for name, envs in paths.items():
                next_observations, reward, *_ = envs.step(actions[step, : envs.num_envs])
                observations[name] = next_observations[:1]
                rewards[name] += reward[0]
            first = observations['training']
            assert first.shape == (1, 84, 84, 4) and first.dtype == np.uint8
            for name, seen in observations.items():
                np.testing.assert_array_equal(seen, first, err_msg=f'{name} at step {step}')
        assert len(set(rewards.values())) == 1 and rewards['training'] != 0  # points were scored
        frame = paths['recording'].unwrapped.render_one(0)
        gray = cv2.resize(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), (84, 84), interpolation=cv2.INTER_AREA)
        # ALE's gray palette differs from OpenCV's weights on a few paddle pixels; a frame of another
        # moment differs where the ball and paddles moved (dozens of pixels by far more).
        differ = np.abs(gray.astype(int) - observations['recording'][0, ..., -1]) > 20
        assert differ.sum() < 30
    finally:
        for envs in paths.values():
            envs.close()


def test_atari_preprocessing_takes_only_the_kwargs_it_applies():
    from xagents.envs.recipe import create_envs

    with pytest.raises(ValueError, match='--env-kwargs mode: with --preprocess an Atari env takes only'):
        create_envs('PongNoFrameskip-v4', 1, preprocess=True, env_kwargs={'mode': 1})
    envs = create_envs('PongNoFrameskip-v4', 1, preprocess=True, env_kwargs={'full_action_space': True})
    assert envs.single_action_space.n == 18
    envs.close()


def test_plot_bands_take_their_curves_colors(tmp_path):
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import pyarrow as pa

    from xagents.run.curves import plot_history
    from xagents.run.history import COLUMNS

    paths = []
    for seed in range(4):
        path = tmp_path / f'seed{seed}.parquet'
        values = {name: np.arange(1, 11, dtype=float) * (seed + 1) for name in COLUMNS}
        pq.write_table(pa.table({name: values[name] for name in COLUMNS}), path)
        paths.append(path)
    figure, ax = plt.subplots()
    plot_history(paths, ['a', 'a', 'b', 'b'], ax=ax)
    assert len(ax.lines) == len(ax.collections) == 2
    for line, band in zip(ax.lines, ax.collections):
        np.testing.assert_allclose(band.get_facecolor()[0][:3], matplotlib.colors.to_rgb(line.get_color()))
    plt.close(figure)


def test_a_run_shorter_than_one_rollout_shows_no_speed_and_play_counts_one_step(tmp_path, capsys, monkeypatch):
    agent = PPO.from_env('xagents.tests.tiny_envs:Corridor-v0', n_steps=64, output_dir=str(tmp_path / 'run'))
    agent.fit(max_steps=32)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith('time ')]
    assert lines and not any('speed' in line for line in lines), lines
    monkeypatch.setattr('xagents.play.episodes.PROGRESS_INTERVAL', 0.0)  # a line at every step
    agent.play(episodes=1, max_steps=10)  # in turn, as recording plays
    assert 'episode 1: 1 step so far, reward -0.01' in capsys.readouterr().out
