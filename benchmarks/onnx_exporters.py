"""ONNX export: xagents' tf2onnx path against Keras 3's own ``model.export(path, format='onnx')``.

Untrained PPO policies on the test envs (dense, CNN, MultiDiscrete, masked, Dict with masks), 256
observations from the env (masks: at least one legal action each). Three exports per policy:

- ``xagents``: ``xagents.export.formats.export(agent, path, 'onnx')``, the whole greedy policy
  (normalization, network, masks, argmax); parity: its actions against ``agent.predict``.
- ``keras``: ``model.export(path, format='onnx')`` of the agent's Keras network (its call alone:
  logits and value, no normalization or argmax); parity: max |ONNX - model(x)| over the outputs.
- ``tf2onnx``: ``tf2onnx.convert.from_function`` on the same network's call, opset 17, as
  xagents' path does for the whole policy: the like-for-like comparison with ``keras``.

Export seconds (one export, after a first one of each kind warmed the tracing), file size, and
onnxruntime milliseconds per call (median of 50) on the batch of 256 and on one observation.

    python benchmarks/onnx_exporters.py  # the table of benchmarks/results/onnx-exporters.md
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import onnxruntime
import tensorflow as tf
import tf2onnx

import xagents
from xagents.export.formats import ONNX_OPSET, export
from xagents.tests.test_dict_masks import keypad_batch
from xagents.tests.test_export import env_observations

ENVS = 'xagents.tests.tiny_envs'
CASES = {
    'dense (Corridor)': f'{ENVS}:Corridor-v0',
    'CNN (Pointer, uint8 images)': f'{ENVS}:Pointer-v0',
    'MultiDiscrete (Dials)': f'{ENVS}:Dials-v0',
    'masked (Keypad)': f'{ENVS}:Keypad-v0',
    'Dict + masks (DictKeypad)': f'{ENVS}:DictKeypad-v0',
}
BATCH = 256


def batch(agent, env: str) -> tuple[dict, np.ndarray | None]:
    """The policy's inputs by name, and the masks (None without masks)."""
    if 'DictKeypad' in env:
        observations, masks = keypad_batch(BATCH, seed=6)
        return observations, masks
    observations = env_observations(agent, BATCH)
    if agent.masks is None:
        return {'observation': observations}, None
    rng = np.random.default_rng(2)
    units = agent.masks.units
    masks = np.eye(units, dtype=bool)[rng.integers(0, units, BATCH)] | (rng.random((BATCH, units)) < 0.4)
    return {'observation': observations}, masks


def run_ms(session, feeds: dict) -> float:
    times = []
    for _ in range(50):
        start = time.perf_counter()
        session.run(None, feeds)
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def speeds(path: Path, feeds: list[np.ndarray]) -> tuple[onnxruntime.InferenceSession, float, float]:
    session = onnxruntime.InferenceSession(str(path))
    names = [each.name for each in session.get_inputs()]
    full = dict(zip(names, feeds))
    one = {name: value[:1] for name, value in full.items()}
    return session, run_ms(session, full), run_ms(session, one)


def timed_export(write, path: Path) -> float:
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        write(path)
    return time.perf_counter() - start


def network_inputs(agent, inputs: dict) -> list[np.ndarray]:
    """The network's inputs in its own order: the observations as the agent normalizes them."""
    observations = inputs['observation'] if list(inputs) == ['observation'] else inputs
    normalized = agent.normalize_observations(observations)
    if isinstance(normalized, dict):
        return [np.asarray(normalized[each.name]) for each in agent.model.inputs]
    return [np.asarray(normalized)]


def measure(name: str, env: str, folder: Path) -> list[str]:
    agent = xagents.PPO.from_env(env, seed=0, quiet=True)
    inputs, masks = batch(agent, env)
    observations = inputs['observation'] if list(inputs) == ['observation'] else inputs
    expected = agent.predict(observations, action_masks=masks)
    feeds = [*inputs.values(), *([] if masks is None else [masks])]
    rows = []
    # xagents: the whole policy
    for index in range(2):
        seconds = timed_export(lambda path: export(agent, path, 'onnx'), folder / f'{name}-xagents-{index}.onnx')
    path = folder / f'{name}-xagents-1.onnx'
    session, batch_ms, one_ms = speeds(path, feeds)
    names = [each.name for each in session.get_inputs()]
    actions = session.run(['action'], dict(zip(names, feeds)))[0]
    parity = f'actions = predict: {np.array_equal(actions, expected)}'
    rows.append([name, 'xagents (policy)', seconds, path.stat().st_size, parity, batch_ms, one_ms])
    # The network alone, two ways
    model = agent.model
    network_feeds = network_inputs(agent, inputs)
    keys = [each.name for each in model.inputs] if len(network_feeds) > 1 else None

    def call(*xs):  # the network as the agent calls it: one tensor, or a dict by input name
        return model(xs[0] if keys is None else dict(zip(keys, xs)))

    reference = [np.asarray(each) for each in tf.nest.flatten(call(*network_feeds))]
    specs = [
        tf.TensorSpec([None, *each.shape[1:]], each.dtype, name=f'input_{i}') for i, each in enumerate(network_feeds)
    ]

    def keras(path):
        model.export(str(path), format='onnx', verbose=False)

    def plain(path):
        function = tf.function(call, input_signature=specs)
        onnx_model, _ = tf2onnx.convert.from_function(function, input_signature=specs, opset=ONNX_OPSET)
        path.write_bytes(onnx_model.SerializeToString())

    for label, write in (('keras model.export', keras), ('tf2onnx (network)', plain)):
        try:
            for index in range(2):
                seconds = timed_export(write, folder / f'{name}-{label.split()[0]}-{index}.onnx')
        except Exception as error:  # noqa: BLE001 - the failure is the result
            rows.append([name, label, None, None, f'failed: {type(error).__name__}: {str(error)[:120]}', None, None])
            continue
        path = folder / f'{name}-{label.split()[0]}-1.onnx'
        session, batch_ms, one_ms = speeds(path, network_feeds)
        outputs = session.run(None, dict(zip([each.name for each in session.get_inputs()], network_feeds)))
        difference = max(
            float(np.abs(a - b).max()) for a, b in zip(sorted(outputs, key=np.size), sorted(reference, key=np.size))
        )
        rows.append([name, label, seconds, path.stat().st_size, f'max diff {difference:.1e}', batch_ms, one_ms])
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--output', type=Path, help='a Markdown file for the table (printed anyway)')
    args = parser.parse_args()
    lines = [
        f'tensorflow {tf.__version__}, keras {keras.__version__}, tf2onnx {tf2onnx.__version__}, '
        f'onnxruntime {onnxruntime.__version__}; batch {BATCH}',
        '',
        '| policy | exporter | export s | size KiB | parity | ORT ms (256) | ORT ms (1) |',
        '|---|---|---:|---:|---|---:|---:|',
    ]
    with tempfile.TemporaryDirectory() as folder:
        for name, env in CASES.items():
            for row in measure(name.split()[0], env, Path(folder)):
                row[0] = name
                cells = [
                    '' if value is None else f'{value:.2f}' if isinstance(value, float) else str(value) for value in row
                ]
                if row[3] is not None:
                    cells[3] = f'{row[3] / 1024:.0f}'
                lines.append('| ' + ' | '.join(cells) + ' |')
                print(lines[-1], flush=True)
    if args.output:
        args.output.write_text('\n'.join(lines) + '\n')


if __name__ == '__main__':
    main()
