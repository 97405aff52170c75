"""The install's extras: what asks for a missing one is one line naming its ``pip install`` (exit 2 through
the CLI, :class:`~xagents.extras.MissingExtra` in Python) before anything is written, what needs none
works without them, and setup.py, constraints.txt and the errors agree on what each extra holds."""

import ast
import re
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

import xagents
from xagents.commands.main import main
from xagents.envs.ids import SIMULATORS
from xagents.extras import EXTRAS, MissingExtra

ROOT = Path(xagents.__file__).parents[1]
CORRIDOR = 'xagents.tests.tiny_envs:Corridor-v0'


def missing(monkeypatch, *modules: str) -> None:
    """``import <module>`` raises ImportError, as when its extra is not installed."""
    for module in modules:
        monkeypatch.setitem(sys.modules, module, None)


def fails_naming(capsys, tmp_path, argv: list[str], extra: str, needs: str) -> None:
    """``xagents <argv>`` exits 2 with one line naming the pip install of ``extra``, and writes nothing."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith('xagents: error: '), err
    assert f'needs {needs}, in the {extra} extra: pip install ' in err and f"[{extra}]'" in err, err
    assert list(tmp_path.iterdir()) == []  # the working folder (tmp_path) and --output-dir stay empty


@pytest.mark.parametrize(
    'env, module, extra',
    [
        ('ALE/Pong-v5', 'ale_py', 'atari'),
        ('PongNoFrameskip-v4', 'ale_py', 'atari'),
        ('LunarLander-v3', 'Box2D', 'box2d'),
        ('HalfCheetah-v5', 'mujoco', 'mujoco'),
    ],
)
@pytest.mark.parametrize('command', ['train', 'play', 'tune'])
def test_an_env_of_a_missing_extra_is_one_line_naming_it(tmp_path, capsys, monkeypatch, env, module, extra, command):
    missing(monkeypatch, module)
    argv = {
        'train': ['--max-steps', '100', '--output-dir', str(tmp_path / 'run')],
        'play': ['--random', '--episodes', '1', '--video-dir', str(tmp_path / 'video')],
        'tune': ['--study', 's', '--trial-steps', '100', '--output-dir', str(tmp_path / 'tune')],
    }[command]
    fails_naming(capsys, tmp_path, [command, 'ppo', '--env', env, *argv], extra, module)


def test_an_env_of_a_missing_extra_is_a_missing_extra_error_in_python(monkeypatch):
    missing(monkeypatch, 'Box2D')
    message = r"--env LunarLander-v3 needs Box2D, in the box2d extra: pip install .*\[box2d\]'$"
    with pytest.raises(MissingExtra, match=message):
        xagents.PPO.from_env('LunarLander-v3')
    assert isinstance(MissingExtra('x'), ImportError)


def test_tune_without_optuna_is_one_line_naming_the_tune_extra(tmp_path, capsys, monkeypatch):
    missing(monkeypatch, 'optuna')
    argv = ['tune', 'ppo', '--env', 'CartPole-v1', '--study', 's', '--trial-steps', '100']
    fails_naming(capsys, tmp_path, argv, 'tune', 'optuna')


def test_a_postgresql_storage_without_psycopg_is_one_line_naming_the_tune_extra(tmp_path, capsys, monkeypatch):
    missing(monkeypatch, 'psycopg')
    argv = ['tune', 'ppo', '--env', 'CartPole-v1', '--study', 's', '--trial-steps', '100']
    fails_naming(capsys, tmp_path, [*argv, '--storage', 'postgresql://user:secret@localhost/db'], 'tune', 'psycopg')


def test_wandb_monitoring_without_wandb_is_one_line_naming_the_wandb_extra(tmp_path, capsys, monkeypatch):
    missing(monkeypatch, 'wandb')
    argv = ['train', 'ppo', '--env', 'CartPole-v1', '--max-steps', '100', '--monitor-session', 's']
    fails_naming(capsys, tmp_path, [*argv, '--output-dir', str(tmp_path / 'run')], 'wandb', 'wandb')
    with pytest.raises(MissingExtra, match=r'--monitor-session needs wandb, in the wandb extra'):
        xagents.PPO.from_env('CartPole-v1', monitor_session='s')
    assert list(tmp_path.iterdir()) == []


def test_an_onnx_export_without_tf2onnx_is_one_line_naming_the_export_extra(tmp_path, capsys, monkeypatch):
    from xagents.export.formats import export

    missing(monkeypatch, 'tf2onnx')
    argv = ['export', '--run', str(tmp_path / 'run'), '--format', 'onnx', '--output', str(tmp_path / 'out/p.onnx')]
    fails_naming(capsys, tmp_path, argv, 'export', 'tf2onnx')
    agent = xagents.PPO.from_env(CORRIDOR, quiet=True)
    with pytest.raises(MissingExtra, match=r'--format onnx needs tf2onnx, in the export extra'):
        export(agent, tmp_path / 'out' / 'p.onnx', 'onnx')
    assert list(tmp_path.iterdir()) == []


def test_a_gif_is_scaled_down_without_opencv(tmp_path, monkeypatch):
    from PIL import Image

    from xagents.play.recording import GIF_MAX_WIDTH, GifFile

    missing(monkeypatch, 'cv2')
    gif = GifFile(tmp_path / 'a.gif', fps=10)
    for shade in (0, 255):
        gif.append(np.full((400, 600, 3), shade, np.uint8))
    gif.close()
    with Image.open(tmp_path / 'a.gif') as image:
        assert image.size == (GIF_MAX_WIDTH, 213) and image.n_frames == 2


def distribution(requirement: str) -> str:
    """``psycopg[binary]>=3.3.9,<4`` -> ``psycopg`` (PEP 503 normalized, as pip compares names)."""
    return re.sub(r'[-_.]+', '-', re.match(r'[A-Za-z0-9._-]+', requirement).group()).lower()


@pytest.fixture
def setup_arguments(monkeypatch) -> dict:
    """The keywords setup.py passes to ``setuptools.setup``."""
    import setuptools

    if not (ROOT / 'setup.py').is_file():
        pytest.skip('setup.py is in a clone of the repository, not in an installed package')
    arguments = {}
    monkeypatch.setattr(setuptools, 'setup', lambda **keywords: arguments.update(keywords))
    runpy.run_path(str(ROOT / 'setup.py'))
    return arguments


def test_setup_extras_agree_with_the_errors_and_the_constraints(setup_arguments):
    extras, core = setup_arguments['extras_require'], setup_arguments['install_requires']
    for name, packages in EXTRAS.items():
        assert extras[name] == packages, name
    assert set(extras['all']) == {package for packages in EXTRAS.values() for package in packages}
    assert set(extras['all']) <= set(extras['test'])
    # No package of an extra in the core (gymnasium's extras are told apart: gymnasium[box2d] is not in it).
    with_extras = lambda requirements: {re.split('[<>=!~;]', package)[0] for package in requirements}  # noqa: E731
    assert not with_extras(extras['all']) & with_extras(core)
    # Every extra an error names exists: require(module, 'extra', ...) anywhere in the package, and the simulators'.
    named = {extra for _, extra in SIMULATORS.values()}
    for path in (ROOT / 'xagents').rglob('*.py'):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, 'id', None) == 'require' and len(node.args) > 1:
                named.add(getattr(node.args[1], 'value', None))
    named.discard(None)  # a variable: the simulators' require
    assert {'atari', 'box2d', 'mujoco', 'tune', 'wandb', 'export'} <= named <= set(extras)
    # CI's pin list covers the core and every extra but the benchmarks' (which pin what they need).
    lines = (ROOT / 'constraints.txt').read_text().splitlines()
    pinned = {distribution(line) for line in lines if line and not line.startswith('#')}
    wanted = {distribution(package) for name, packages in extras.items() if name != 'bench' for package in packages}
    assert wanted | {distribution(package) for package in core} <= pinned
