"""Speed comparisons in fresh processes that alternate on one machine (shared by the speed benchmarks).

A benchmark script measures one case in its own process (``--one CASE FORM``: steps per second of a
fit after a warm-up fit, so compiles are left out) and compares forms of each case in alternating
rounds, so whatever else the machine is doing falls on every form alike.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path


def steps_per_second(agent, warm_up: int, timed: int) -> float:
    """Steps per second of ``agent``'s fit of ``timed`` steps after a warm-up fit of ``warm_up``."""
    agent.fit(max_steps=warm_up)
    start, steps = time.perf_counter(), agent.steps
    agent.fit(max_steps=warm_up + timed)
    return (agent.steps - steps) / (time.perf_counter() - start)


def alternate(script: str, case: str, forms: dict[str, str], rounds: int) -> dict[str, list[float]]:
    """Steps per second of ``case`` in each form (label -> the form's ``--one`` argument), ``rounds``
    times, each in a fresh process of ``script`` and the forms in turn."""
    runs = {label: [] for label in forms}
    for _ in range(rounds):
        for label, form in forms.items():
            command = [sys.executable, script, '--one', case, form]
            output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            runs[label].append(json.loads(output.strip().splitlines()[-1]))
    return runs


def write_results(output: str, results: dict, rounds: int, note: str, table: list[str]) -> None:
    """``output.json`` (the machine and ``results``) and ``output.md`` (a line on the machine, then ``table``)."""
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    machine = platform.processor() or platform.machine()
    Path(f'{output}.json').write_text(json.dumps({'machine': machine, 'results': results}, indent=1))
    lines = [f'{os.cpu_count()} cores ({machine}), {rounds} alternating rounds. {note}'.strip(), '', *table]
    Path(f'{output}.md').write_text('\n'.join(lines) + '\n')


def shown(values: list[float]) -> str:
    """Speeds as a table shows them."""
    return ', '.join(f'{value:,.0f}' for value in values)
