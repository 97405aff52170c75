"""The package's layout: imports run one way (the layers), every module imports alone, sizes stay small.

The layers, top to bottom: the command layer (``commands/``, and ``__main__``) over the tuner
(``tune/``) over the trainer, the run folder and play (``train/``, ``run/``, ``play/``) over the
agent core (``core/``, the algorithms) and what it is built from (``nets/``, ``replay/``, ``envs/``).
The layer tests read the source (nothing is imported) and count every import: at module level,
inside functions and under ``TYPE_CHECKING`` alike.
"""

import ast
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import xagents

PACKAGE = Path(xagents.__file__).parent


# -------------------------------------------------------------- layers
def imports_of(path: Path, package: Path = PACKAGE) -> list[tuple[int, str]]:
    """``(line, module)`` for each import in the file, anywhere in it: ``from a import b`` gives ``a``
    and ``a.b`` (``b`` may be a module); relative imports are resolved."""
    parts = path.relative_to(package.parent).with_suffix('').parts
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module
            if node.level:
                within_package = parts[: len(parts) - node.level]  # a module's or __init__'s package
                base = '.'.join([*within_package, *([node.module] if node.module else [])])
            found.append((node.lineno, base))
            found += [(node.lineno, f'{base}.{alias.name}') for alias in node.names]
    return found


def within(name: str, modules) -> bool:
    return any(name == module or name.startswith(module + '.') for module in modules)


# A rule: the files it covers (paths under xagents/ starting so), the modules they may not import,
# and the files it excuses (paths starting so).
CORE_RULE = 'the core, the algorithms and what they are built from import no upper layer'
LAYER_RULES = {
    CORE_RULE: (
        ['core/', 'nets/', 'replay/', 'envs/', 'rl_math.py', 'registry.py', 'export/']
        + [f'{name}/' for name in xagents.AGENTS],
        ['xagents.train', 'xagents.run', 'xagents.play', 'xagents.commands', 'xagents.tune'],
        # The one door upward: agent.fit / resume / load_weights / load / play import their owner
        # (train, run, play) when called, so that the agent class keeps those conveniences.
        ['core/entry_points.py'],
    ),
    'the tuner imports nothing of the command layer': (['tune/'], ['xagents.commands'], []),
    'the command layer is the top: nothing else imports it': (
        [''],
        ['xagents.commands'],
        ['commands/', '__main__.py'],  # __main__: python -m xagents, the command itself
    ),
    'argparse only in the command layer, not in core, nets, replay or envs': (
        ['core/', 'nets/', 'replay/', 'envs/'],
        ['argparse'],
        [],
    ),
}


def layer_violations(covered, forbidden, excused, package: Path = PACKAGE) -> list[str]:
    violations = []
    for path in sorted(package.rglob('*.py')):
        relative = path.relative_to(package).as_posix()
        if (
            relative.startswith('tests/')
            or not relative.startswith(tuple(covered))
            or relative.startswith(tuple(excused))
        ):
            continue
        found = [(line, name) for line, name in imports_of(path, package) if within(name, forbidden)]
        violations += [  # one line an import: from a import b shows a, when a is forbidden itself
            f'xagents/{relative}:{line} imports {name}'
            for line, name in found
            if not any(other != name and within(name, [other]) for at, other in found if at == line)
        ]
    return sorted(set(violations))


@pytest.mark.parametrize('rule', LAYER_RULES)
def test_imports_run_down_the_layers(rule):
    violations = layer_violations(*LAYER_RULES[rule])
    assert violations == [], f'{rule}; broken by:\n  ' + '\n  '.join(violations)


def test_the_layer_check_sees_every_kind_of_import(tmp_path):
    """A lazy import, one under TYPE_CHECKING, ``from xagents import commands`` and a relative one all count."""
    core = tmp_path / 'xagents' / 'core'
    core.mkdir(parents=True)
    (core / 'sample.py').write_text(
        'from typing import TYPE_CHECKING\n'
        'if TYPE_CHECKING:\n    from xagents.run.folder import RunPaths\n'
        'def fit():\n    import xagents.train.trainer\n'
        'from xagents import commands\n'
        'from ..tune import study\n'
    )
    rule = LAYER_RULES[CORE_RULE]
    assert layer_violations(*rule, package=tmp_path / 'xagents') == [
        'xagents/core/sample.py:3 imports xagents.run.folder',
        'xagents/core/sample.py:5 imports xagents.train.trainer',
        'xagents/core/sample.py:6 imports xagents.commands',
        'xagents/core/sample.py:7 imports xagents.tune',
    ]


# -------------------------------------------------------------- each module alone
def modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob('*.py')):
        parts = path.relative_to(PACKAGE.parent).with_suffix('').parts
        if 'tests' not in parts and parts[-1] != '__main__':
            names.append('.'.join(parts[:-1] if parts[-1] == '__init__' else parts))
    return names


IMPORT_EACH_ALONE = """
import importlib, sys
failed = []
for name in sys.argv[1:]:
    for loaded in [module for module in sys.modules if module == 'xagents' or module.startswith('xagents.')]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as error:
        failed.append(f'{name}: {type(error).__name__}: {error}')
print('\\n'.join(failed))
"""


def test_every_module_imports_alone():
    """Each module imported first, in a fresh set of xagents modules: an import cycle fails here."""
    result = subprocess.run(
        [sys.executable, '-c', IMPORT_EACH_ALONE, *modules()], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0 and result.stdout.strip() == '', result.stdout + result.stderr


@pytest.mark.integration
def test_every_module_imports_alone_in_a_fresh_interpreter():
    """``python -c 'import xagents.<module>'`` for every module, two interpreters at a time: an import
    that works only after another module loaded what it needs fails here."""

    def import_alone(name: str) -> str | None:
        result = subprocess.run([sys.executable, '-c', f'import {name}'], capture_output=True, text=True, timeout=300)
        if result.returncode == 0:
            return None
        lines = result.stderr.strip().splitlines() or [f'exit code {result.returncode}']
        return f'{name}: {lines[-1]}'

    with ThreadPoolExecutor(max_workers=2) as pool:
        failed = [line for line in pool.map(import_alone, modules()) if line]
    assert failed == [], '\n'.join(failed)


CORE_IMPORTS = """
import sys
import xagents.core.actor_critic, xagents.core.off_policy
import xagents
from xagents import agents
for name in xagents.AGENTS:
    agents[name]
print(sorted(module for module in sys.modules if module.startswith('xagents.')))
"""


def test_the_core_and_the_agents_import_no_files_console_or_command_layer():
    result = subprocess.run([sys.executable, '-c', CORE_IMPORTS], capture_output=True, text=True, timeout=300)
    loaded = json.loads(result.stdout.replace("'", '"'))
    outside = ('xagents.run', 'xagents.train', 'xagents.play', 'xagents.commands', 'xagents.tune')
    utilities = ('xagents.run.history', 'xagents.train.monitoring', 'xagents.play.recording')
    assert [name for name in loaded if name.startswith(outside) or name in utilities] == []
    for path in [*(PACKAGE / 'core').glob('*.py'), *PACKAGE.glob('*/agent.py'), *PACKAGE.glob('*/config.py')]:
        tree = ast.parse(path.read_text())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        assert 'argparse' not in imported, path


MAKE_AGENTS = """
import sys
from xagents import DQN, PPO, SAC
PPO.from_env('CartPole-v1', n_envs=2, seed=0)
DQN.from_env('CartPole-v1', seed=0)
SAC.from_env('Pendulum-v1', seed=0)
print(sorted(module for module in sys.modules if module.startswith('xagents.')))
"""


def test_making_an_agent_without_training_options_loads_no_upper_layer():
    result = subprocess.run([sys.executable, '-c', MAKE_AGENTS], capture_output=True, text=True, timeout=300)
    loaded = json.loads(result.stdout.replace("'", '"'))
    outside = ('xagents.run', 'xagents.train', 'xagents.play', 'xagents.commands', 'xagents.tune')
    assert [name for name in loaded if name.startswith(outside)] == []


# -------------------------------------------------------------- sizes and hooks
def test_no_module_or_class_over_400_lines():
    for path in PACKAGE.rglob('*.py'):
        if 'tests' in path.parts:
            continue
        source = path.read_text()
        assert source.count('\n') <= 400, path
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ClassDef):
                assert node.end_lineno - node.lineno + 1 <= 400, f'{path}: {node.name}'
            if isinstance(node, ast.FunctionDef) and node.name == 'fit' and path.name == 'trainer.py':
                assert node.end_lineno - node.lineno + 1 <= 60, 'the training loop grew beyond 60 lines'


def test_no_test_hooks_in_the_package():
    assert 'XAGENTS_TEST' not in ''.join(
        path.read_text() for path in PACKAGE.rglob('*.py') if 'tests' not in path.parts
    )
