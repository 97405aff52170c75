"""``xagents export``: a run's greedy policy as a standalone SavedModel, ONNX or TFLite model."""

from __future__ import annotations

import dataclasses
import signal
from pathlib import Path

from xagents.commands import failing
from xagents.commands.failing import fail, run_guarded
from xagents.commands.flags import (
    ArgumentParser,
    add_config_flags,
    config_from_args,
    fit_text,
    format_table,
    help_rows,
)
from xagents.core.schema import hp
from xagents.export import FORMATS, require_writer
from xagents.run.folder import parse_checkpoint, read_run_config
from xagents.train import SIGNAL_EXIT_CODES


@dataclasses.dataclass
class ExportOptions:
    run: str = hp(None, 'Run directory whose policy to export', required=True)
    format: str = hp(None, 'saved_model (a folder), onnx or tflite (a file)', required=True, choices=FORMATS)
    output: str = hp(None, 'Path to write (must not exist yet)', required=True)
    checkpoint: str = hp('best', 'best, latest, or a step: the first snapshot at or after it')


def export_help() -> str:
    text = 'usage: xagents export --run DIR --format saved_model|onnx|tflite --output PATH\n\n'
    notes = (
        'The policy takes a batch of raw observations as the env returns them (input "observation")\n'
        'and returns env actions (output "action"): normalization, argmax or mean and action\n'
        'rescaling are inside. A run trained with action masks takes them as a second input\n'
        '("action_mask", boolean, as the env gives them) and picks among the legal actions.\n'
        'ONNX needs the export extra: pip install "xagents[export]".'
    )
    return text + format_table('export:', help_rows(ExportOptions)) + '\n\n' + fit_text(notes)


def export_command(rest: list[str]) -> int:
    if not rest or '-h' in rest or '--help' in rest:
        print(export_help())
        return 0
    parser = ArgumentParser(prog='xagents export', add_help=False, allow_abbrev=False)
    add_config_flags(parser, ExportOptions, 'export')
    options = config_from_args(ExportOptions, parser.parse_args(rest))
    require_writer(options.format)
    try:
        config = read_run_config(options.run)
    except ValueError as error:
        fail(str(error))
    try:
        checkpoint = parse_checkpoint(options.checkpoint)
    except ValueError as error:
        fail(str(error))
    if Path(options.output).exists():
        fail(f'{options.output} already exists: give a new --output path')
    return _export_unless_stopped(options, config, checkpoint)


def _export_unless_stopped(options: ExportOptions, config: dict, checkpoint: str | int) -> int:
    """The export, with SIGTERM and Ctrl-C one line (exit 143 / 130): the output is whole or absent."""
    previous = _on_sigterm(_terminate)
    try:
        return run_guarded(_export, options, config, checkpoint)
    except KeyboardInterrupt as interrupt:  # the export removed its temporary on the way out
        if failing.DEBUG:
            raise
        name, reason = ('SIGTERM', 'terminated') if isinstance(interrupt, Terminated) else ('SIGINT', 'interrupted')
        if Path(options.output).exists():  # the signal came after the rename: the export is complete
            fail(f'{name} after the export was complete: {options.output} is whole', SIGNAL_EXIT_CODES[reason])
        fail(
            f'export stopped by {name}: nothing was written to {options.output} (the same command starts again)',
            SIGNAL_EXIT_CODES[reason],
        )
    finally:
        _on_sigterm(previous)


class Terminated(KeyboardInterrupt):
    """SIGTERM during an export: handled as Ctrl-C is (the temporary removed), exit 143."""


def _terminate(signum, frame):
    raise Terminated


def _on_sigterm(handler):
    """Install ``handler`` for SIGTERM (None: leave it); the one it replaces (None off the main thread)."""
    if handler is None:
        return None
    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: signals stay as they are
        return None


def _export(options: ExportOptions, config: dict, checkpoint: str | int) -> int:
    import gymnasium as gym

    from xagents._quiet import silenced
    from xagents.export.formats import export
    from xagents.export.policy import output_signature
    from xagents.nets.multi_input import key_dtype
    from xagents.nets.observations import model_input_dtype
    from xagents.run.loading import load

    agent = load(options.run, checkpoint)
    output = silenced(lambda: export(agent, options.output, options.format))  # the converters' C++ logs
    size = sum(path.stat().st_size for path in [output, *output.rglob('*')] if path.is_file())
    space = agent.observation_space
    which = options.checkpoint
    if getattr(agent, 'checkpoint_loaded', which) != which:
        which = f'{agent.checkpoint_loaded} (no {which} checkpoint yet)'
    print(
        f'Exported the {which} {config["agent"]} policy of {options.run} ({config["env"]}) to '
        f'{output} ({options.format}, {size / 1024:,.0f} KiB)'
    )
    if isinstance(space, gym.spaces.Dict):
        inputs = [(key, key_dtype(subspace), subspace.shape) for key, subspace in space.spaces.items()]
    else:
        inputs = [('observation', model_input_dtype(space), space.shape)]
    named = ', '.join(
        f'"{name}": {dtype.name} ({", ".join(["n", *map(str, shape)])}{"" if shape else ","})'
        for name, dtype, shape in inputs
    )
    masks = '' if agent.masks is None else f'; input "action_mask": bool (n, {agent.masks.units}), true where legal'
    action = output_signature(agent.action_space)
    print(f'  input{"s" if len(inputs) > 1 else ""} {named}{masks}; output "action": {action}')
    return 0
