"""The optional parts of xagents: what each extra installs, and the import that names its extra when missing.

``setup.py`` reads :data:`EXTRAS` from this file (run on its own: it imports nothing but the standard
library), so an error's ``pip install`` and the install agree.
"""

from __future__ import annotations

import importlib
import json
import shlex
from importlib import metadata
from urllib.parse import urlparse
from urllib.request import url2pathname

# Compatible ranges, as in requirements.txt: the lowest version tested, below the next major one.
EXTRAS = {
    # ale-py's vector env preprocesses the frames itself: no OpenCV.
    'atari': ['ale-py>=0.12.1,<1'],
    'box2d': ['gymnasium[box2d]>=1.4.0,<2'],
    # MuJoCo without its viewer app (mujoco-studio): gymnasium's envs import glfw, EGL rendering needs PyOpenGL.
    'mujoco': ['mujoco-core[rendering]>=4.0.0,<5'],
    # psycopg: a PostgreSQL --storage (postgresql://...), which SQLAlchemy opens with psycopg 3.
    'tune': ['optuna>=5.0.0,<6', 'psycopg[binary]>=3.3.9,<4'],
    'wandb': ['wandb>=0.31.0,<1'],
    # ONNX export (SavedModel and TFLite export need only TensorFlow); onnxruntime runs an ONNX model and
    # LiteRT (ai-edge-litert, tf.lite.Interpreter's successor) a TFLite one, neither with TensorFlow.
    'export': ['tf2onnx>=1.17.0,<2', 'onnx>=1.23.2,<2', 'onnxruntime>=1.32.0,<2', 'ai-edge-litert>=2.3.0,<3'],
}


class MissingExtra(ImportError):
    """A package of an extra is not installed; the message names the ``pip install`` that adds it."""


def require(module: str, extra: str, user: str):
    """Import ``module`` (of the ``extra`` extra) and return it; when it cannot be imported,
    :class:`MissingExtra`: ``<user> needs <module>, in the <extra> extra: pip install ...``, where
    ``user`` names what the user asked for (``--format onnx``, ``xagents tune``)."""
    if extra not in EXTRAS:
        raise KeyError(f'no extra {extra!r} in xagents.extras.EXTRAS')
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(f'{user} needs {module}, in the {extra} extra: {pip_command(extra)}') from None


def pip_command(extra: str) -> str:
    """The pip command that adds ``extra`` to this install: from its folder when installed from one
    (``pip install -e .`` in a clone), from the package index otherwise."""
    try:
        origin = json.loads(metadata.distribution('xagents').read_text('direct_url.json') or '{}')
    except (metadata.PackageNotFoundError, ValueError):
        origin = {}
    url = origin.get('url', '')
    if 'dir_info' in origin and url.startswith('file://'):
        editable = '-e ' if origin['dir_info'].get('editable') else ''
        return f'pip install {editable}{shlex.quote(f"{url2pathname(urlparse(url).path)}[{extra}]")}'
    return f"pip install 'xagents[{extra}]'"
