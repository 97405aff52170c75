"""TensorFlow imported without its native start-up log lines (oneDNN, CUDA drivers, absl).

TensorFlow prints them from C++ on file descriptor 2 before its Python logging exists, so
neither ``TF_CPP_MIN_LOG_LEVEL`` nor ``warnings`` hides them. Importing xagents installs a
one-shot import hook: the first ``import tensorflow`` (wherever it happens) runs with fd 2
pointed at /dev/null, then discovers the devices (which logs too) and restores it; its
later INFO lines (XLA compiles) are left out with ``TF_CPP_MIN_LOG_LEVEL=2``. Set
``XAGENTS_TF_LOGS=1`` to see those lines. The commands and tune's trial processes load
TensorFlow up front, before their own work, with :func:`import_tensorflow`.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys


def silenced(call):
    """``call()`` with file descriptor 2 pointed at /dev/null (native log lines); its result."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no file descriptor 2 to quiet
        return call()
    try:
        with open(os.devnull, 'w') as devnull:
            os.dup2(devnull.fileno(), 2)
            return call()
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        def load():
            self.loader.exec_module(module)
            module.config.list_physical_devices()
            module.get_logger().setLevel('ERROR')  # not its warnings about checkpoints that did not load

        silenced(load)


class _QuietTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != 'tensorflow':
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def install() -> None:
    """Quiet the first TensorFlow import of this process (nothing to do once it is imported)."""
    if 'tensorflow' in sys.modules or os.environ.get('XAGENTS_TF_LOGS') == '1':
        return
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')  # its later INFO lines (XLA compiles, ...)
    if not any(isinstance(finder, _QuietTensorFlow) for finder in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlow())


def import_tensorflow():
    """TensorFlow, imported now and quietly (see :func:`install`); the module."""
    install()
    import tensorflow

    return tensorflow
