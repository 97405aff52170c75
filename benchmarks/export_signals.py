"""SIGTERM at spread-out moments of `xagents export`: each export must end whole, or absent with one line.

Trains a tiny PPO run (or takes ``--run``), then for each format starts ``xagents export`` again and
again and sends SIGTERM after a random delay (uniform up to ``--latest`` seconds). Outcomes: the
export finished first (exit 0, whole); it was stopped (exit 143, one ``xagents: error:`` line, no
output and no temporary left); or the signal came after the export while the interpreter shut down
(killed by SIGTERM after ``Exported``, the output whole and loading). Anything else is printed as BAD.

    python benchmarks/export_signals.py [--trials 12] [--latest 12] [--output benchmarks/results/export-signals]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path


def loads(output: Path, format: str) -> bool:
    if format == 'onnx':
        import onnxruntime

        onnxruntime.InferenceSession(str(output))
    elif format == 'tflite':
        from ai_edge_litert.interpreter import Interpreter

        Interpreter(str(output)).allocate_tensors()
    else:
        return (output / 'saved_model.pb').is_file()
    return True


def outcome(run: Path, format: str, folder: Path, delay: float) -> str:
    output = folder / f'policy-{format}'
    command = ['xagents', 'export', '--run', str(run), '--format', format, '--output', str(output)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate()
    left = sorted(path.name for path in folder.iterdir() if path.name != output.name)
    lines = stderr.strip().splitlines()
    try:
        if left:
            return f'BAD: left {left}'
        if process.returncode == 0 and loads(output, format):
            return 'finished first (whole)'
        if process.returncode == 143 and len(lines) == 1 and lines[0].startswith('xagents: error:'):
            return 'stopped: one line, nothing written' if not output.exists() else f'stopped after: {lines[0]}'
        if process.returncode == -signal.SIGTERM and 'Exported' in stdout and loads(output, format):
            return 'killed while shutting down after the export (whole)'
        return f'BAD: exit {process.returncode}, {stderr[-300:]!r}'
    finally:
        shutil.rmtree(output, ignore_errors=True) if output.is_dir() else output.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--run', help='a run folder to export (default: a tiny PPO CartPole run trained here)')
    parser.add_argument('--formats', nargs='+', default=['saved_model', 'onnx', 'tflite'])
    parser.add_argument('--trials', type=int, default=12)
    parser.add_argument('--latest', type=float, default=12.0, help='the latest signal, in seconds')
    parser.add_argument('--output', default='benchmarks/results/export-signals')
    args = parser.parse_args()
    random.seed(0)
    with tempfile.TemporaryDirectory() as scratch:
        run = Path(args.run or Path(scratch) / 'run')
        if not args.run:
            train = ['xagents', 'train', 'ppo', '--env', 'CartPole-v1', '--max-steps', '2000', '--seed', '0']
            subprocess.run([*train, '--quiet', '--output-dir', str(run)], check=True)
        results = {}
        for format in args.formats:
            folder = Path(scratch) / format
            folder.mkdir()
            counts = {}
            for _ in range(args.trials):
                seen = outcome(run, format, folder, random.uniform(0.5, args.latest))
                counts[seen] = counts.get(seen, 0) + 1
            results[format] = counts
            print(format, json.dumps(counts))
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(f'{args.output}.json').write_text(json.dumps(results, indent=1))


if __name__ == '__main__':
    main()
