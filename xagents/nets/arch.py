"""``net_arch``: an agent's default networks with hidden layers of other sizes, without a ``.cfg`` of one's own.

``net_arch=[256, 256]`` (``--net-arch 256 256``) takes the agent's default ``.cfg`` file and
replaces each run of its hidden dense layers (each network's, or the shared trunk's) by dense
layers of those sizes, keeping their initializer and gain, the output layers and, for images,
the convolutions before them: the dense layers after the CNN are what ``net_arch`` sets, as in
Stable-Baselines3. ``activation`` (SB3's ``activation_fn``, by name) replaces the hidden layers'
activation. The file written is built by :class:`xagents.nets.reader.ModelReader` like any other,
and a run keeps its copy, so play, resume, load and export rebuild the same networks.
"""

from __future__ import annotations

import atexit
import configparser
import functools
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from xagents.nets.reader import ACTIVATIONS

# SB3's activation_fn class names (torch.nn), lowercased, that have another name here.
SB3_ACTIVATIONS = {'leakyrelu': 'leaky_relu', 'silu': 'swish', 'identity': 'linear'}


def activation_name(activation: str | None) -> str | None:
    """An activation's name as ``.cfg`` files give it, from its name or SB3's (``nn.ReLU``, ``Tanh``, ``relu``)."""
    if activation is None:
        return None
    if not isinstance(activation, str):
        raise ValueError(f"activation is a name (such as 'tanh' or 'relu'), got {type(activation).__name__}")
    name = activation.removeprefix('nn.').removeprefix('torch.nn.').lower()
    name = SB3_ACTIVATIONS.get(name, name)
    if name not in ACTIVATIONS:
        raise ValueError(f'activation {activation!r}: expected one of {", ".join(sorted(ACTIVATIONS))}')
    return name


def check_net_arch(net_arch) -> list[int]:
    """``net_arch`` as a list of positive ints, or a one-line error."""
    if isinstance(net_arch, dict):
        raise ValueError(
            'net_arch is one list of hidden layer sizes for every network of the agent (such as [256, 256]); '
            'separate sizes per network (dict(pi=..., vf=...)) need model files of your own'
        )
    sizes = list(net_arch) if isinstance(net_arch, (list, tuple)) else None
    if not sizes or any(isinstance(size, bool) or not isinstance(size, int) or size < 1 for size in sizes):
        raise ValueError(f'net_arch is a list of positive layer sizes, such as [256, 256], got {net_arch!r}')
    return sizes


def net_arch_text(cfg_file: str | Path, net_arch: Sequence[int] | None, activation: str | None = None) -> str:
    """The text of ``cfg_file`` with each run of hidden dense layers replaced by layers of ``net_arch``'s
    sizes (None: the same sizes, with ``activation``)."""
    parser = configparser.ConfigParser()
    parser.read(cfg_file)
    layers: list[tuple[str, dict]] = []
    run: list[dict] = []  # the hidden dense layers being replaced

    def flush() -> None:
        if not run:
            return
        template = {key: value for key, value in run[0].items() if key not in ('units', 'common')}
        if activation is not None:
            template['activation'] = activation
        sizes = [options['units'] for options in run] if net_arch is None else net_arch
        layers.extend(('dense', {**template, 'units': str(size)}) for size in sizes)
        if run[-1].get('common') == '1':
            layers[-1][1]['common'] = '1'
        run.clear()

    for section in parser.sections():
        options = dict(parser[section])
        if section.startswith('dense') and 'units' in options and options.get('output') != '1':
            run.append(options)
            continue
        flush()
        layers.append((section.split('-')[0], options))
    flush()
    counts: dict[str, int] = {}
    text = []
    for kind, options in layers:
        counts[kind] = counts.get(kind, -1) + 1
        text.append(f'[{kind}-{counts[kind]}]\n' + ''.join(f'{key}={value}\n' for key, value in options.items()))
    return '\n'.join(text)


def net_arch_files(default_files: list[Path], net_arch, activation: str | None = None) -> list[Path]:
    """The default model files with ``net_arch`` (None: their sizes) and ``activation``, written to a
    temporary folder that lasts the process (a run copies them into its ``models/``)."""
    sizes = None if net_arch is None else check_net_arch(net_arch)
    activation = activation_name(activation)
    folder = Path(tempfile.mkdtemp(prefix='xagents-net-arch-', dir=_temporary_root()))
    files = []
    for file in default_files:
        path = folder / Path(file).name
        path.write_text(net_arch_text(file, sizes, activation))
        files.append(path)
    return files


@functools.cache
def _temporary_root() -> str:
    """One temporary folder per process for the files of ``net_arch``, removed at exit."""
    root = tempfile.mkdtemp(prefix='xagents-')
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root
