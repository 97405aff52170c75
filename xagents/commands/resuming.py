"""What ``xagents train --resume`` takes on its command line: what may change when a trained run goes on.

A resumed run goes on with its own settings (``config.json``). Flags that would change what it
learns, or where it writes, are refused in one line naming them and what may change; a flag
given with the value the run already has changes nothing and is taken.
"""

from __future__ import annotations

from xagents.commands.agent_flags import model_flag
from xagents.commands.failing import fail
from xagents.core.renamed import current_names
from xagents.core.schema import flag_name
from xagents.train.options import EXTRA_OUTPUTS

# How long it trains, what it prints, saves, evaluates and records, how it computes (not what):
# what a resume may change. Everything else the run keeps.
MAY_CHANGE = (
    'max_steps',
    'target_reward',
    'quiet',
    'log_frequency',
    'display_precision',
    'save_interval',
    *EXTRA_OUTPUTS,
    'jit_compile',
    'host_inference',
    'threads',
    'async_envs',
)
# What the run keeps beside its hyperparameters in config.json.
ENV_KEYS = ('n_envs', 'preprocess', 'max_frame', 'env_kwargs', 'obs_keys', 'frame_stack')
# Those that made a run's model files (saved where given): a resume keeps the files.
NETWORK_KEYS = ('net_arch', 'activation')
# Those that shape the observations the run's networks take: play --run refuses another value.
OBSERVATION_KEYS = ('preprocess', 'max_frame', 'obs_keys', 'frame_stack')


def given_flags(args, module) -> set[str]:
    """The destinations of the flags given on the command line (the parser leaves the others out)."""
    models = {model_flag(role) for role in module.MODEL_ROLES}
    return {name for name, value in vars(args).items() if not (name in models and value is None)}


def check_resume_flags(args, given: set[str], run: dict | None, module) -> None:
    """A one-line error for flags given with ``--resume`` that would change the run or where it writes."""
    if 'output_dir' in given:
        fail(f"--output-dir with --resume: a resume continues in the run's own folder ({args.resume})")
    paths = [name for name in ('checkpoints', 'history_checkpoint') if name in given]
    if paths:
        fail(f'{" and ".join(map(flag_name, paths))} with --resume: a resumed run keeps its own paths')
    if run is None:
        return  # not a run: resuming says so
    saved = current_names(module.CONFIG, run['hyperparameters'])
    saved |= {key: run[key] for key in ENV_KEYS if key in run}
    saved |= {key: run.get(key) for key in NETWORK_KEYS}  # None: the run has the default networks or files
    changed = changed_flags(args, sorted(given - {'env', 'resume', *MAY_CHANGE}), saved)
    if changed:
        fail(
            f"--resume goes on with the run's own settings: {', '.join(map(flag_name, changed))} would change it "
            f'(on a resume only these may change: {", ".join(map(flag_name, MAY_CHANGE))})'
        )


def check_play_flags(args, given: set[str], run: dict) -> None:
    """A one-line error for env flags given with ``play --run`` that would change the run's observations."""
    names = [name for name in OBSERVATION_KEYS if name in given]
    changed = changed_flags(args, names, {name: run.get(name) for name in names})
    if changed:
        ran = ', '.join(flag_value(name, run.get(name)) for name in changed)
        fail(
            f"{', '.join(map(flag_name, changed))} with --run would change the observations the run's networks "
            f'take: it was trained with {ran} (leave {"it" if len(changed) == 1 else "them"} out)'
        )


def changed_flags(args, names, saved: dict) -> list[str]:
    """Those of the flags ``names`` whose value in ``args`` is not the one ``saved`` holds."""
    return [name for name in names if name not in saved or not _same(name, getattr(args, name), saved[name])]


def flag_value(name: str, value) -> str:
    """``value`` of option ``name`` as the flags that give it."""
    if isinstance(value, bool):
        return flag_name(name) if value else f'--no-{flag_name(name)[2:]}'
    if value is None:
        return f'no {flag_name(name)}'
    return f'{flag_name(name)} {" ".join(map(str, value)) if isinstance(value, list) else value}'


def _same(name: str, given, saved) -> bool:
    if name == 'env_kwargs' and isinstance(given, list):  # key:value flags, parsed into pairs
        given = dict(given)
    return given == saved
