"""``xagents train``: train an agent, a new run or a resumed one."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from xagents.commands.agent_flags import hyperparameters, model_files
from xagents.commands.environment import EnvOptions, env_kwargs
from xagents.commands.failing import fail
from xagents.commands.flags import closest_flag, config_from_args
from xagents.commands.resuming import ENV_KEYS, NETWORK_KEYS, check_resume_flags, given_flags
from xagents.core import schedules
from xagents.core.renamed import current_names, renamed_fields
from xagents.core.schema import flag_name, hp, without_ignored
from xagents.registry import agents
from xagents.run.folder import read_run_config, run_model_files
from xagents.train import SIGNAL_EXIT_CODES
from xagents.train.options import TRIAL_OPTIONS, TrainingOptions


@dataclasses.dataclass
class TrainCommandOptions:
    """What ``xagents train`` is asked beyond the training loop's options (:mod:`xagents.train.options`)."""

    target_reward: float | None = hp(None, 'Stop when the mean reward reaches this value')
    max_steps: int | None = hp(None, 'Stop after this many environment steps', positive=True)
    weights: list[str] | None = hp(None, 'Checkpoints to start from, one per model (or a run directory)', nargs='+')
    resume: str | None = hp(None, 'Continue the run in this run directory')
    no_presets: bool = hp(False, 'Ignore the per-environment presets shipped with the agent')
    preset: str | None = hp(None, 'JSON file of hyperparameters used as the preset (such as xagents tune writes)')
    net_arch: list[int] | None = hp(
        None,
        "Hidden layer sizes of each of the agent's default networks, instead of a model file (SB3's net_arch; "
        'for images, the dense layers after the CNN); the run keeps the networks for play, resume and export',
        nargs='+',
        positive=True,
    )
    activation: str | None = hp(None, "Activation of those hidden layers (tanh, relu, elu, ...; default: the files')")

    @classmethod
    def names(cls) -> list[str]:
        return [field.name for field in dataclasses.fields(cls)]


def check_train(args) -> None:
    """What is wrong with a train command line before TensorFlow loads."""
    if getattr(args, 'target_reward', None) is None and getattr(args, 'max_steps', None) is None:
        fail('train needs --target-reward or --max-steps (or both)')


def train(name: str, module, args) -> int:
    given = given_flags(args, module)
    args = argparse.Namespace(**(vars(args) | dataclasses.asdict(config_from_args(TrainCommandOptions, args))))
    run = resumed_run_config(args.resume, name, args.env) if args.resume else None
    if args.resume:
        check_resume_flags(args, given, run, module)
    preset = {} if args.no_presets else getattr(module, 'PRESETS', {}).get(args.env, {})
    if args.preset:
        preset = read_preset(args.preset, module)
    if run is not None:  # the run goes on with its own settings (flags that would change them are refused)
        preset = {
            **without_ignored(module.CONFIG, current_names(module.CONFIG, run['hyperparameters'])),
            **{key: run[key] for key in ENV_KEYS if key in run},
        }
    preset = current_names(module.CONFIG, preset)  # a run or tune preset of before a field's rename
    env_options = config_from_args(EnvOptions, args, **preset)
    hparams = hyperparameters(module, args, preset, training=TrainingOptions.names())
    used = {key: value for key, value in preset.items() if key not in vars(args)}  # flags given override
    constant = {}
    if args.max_steps is None and run is None:
        # A preset's schedule runs over --max-steps; without it, the schedule's first value throughout.
        constant = {key: schedules.initial(value) for key, value in used.items() if schedules.is_scheduled(value)}
        hparams.update(constant)
    if used and run is None and not getattr(args, 'quiet', False):
        print(
            f'Using the {args.preset or args.env} preset of {name}'
            + ('' if args.preset else ' (--no-presets to ignore)')
            + ': '
            + ', '.join(
                f'{key}={value}' + (f' (held at {constant[key]:g}: no --max-steps)' if key in constant else '')
                for key, value in used.items()
            )
        )
    # Every run has a seed (given, saved or drawn), and --seed with it must repeat the run exactly:
    # so every run computes deterministically, not only those given --seed.
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    networks = {'net_arch': args.net_arch, 'activation': args.activation}
    if model_files(module, args) and any(networks.values()):
        fail('--net-arch and --activation change the default networks: give them or model files (--model ...)')
    if run is not None:  # the run's model files hold its networks (the flags, given, were checked equal)
        networks = {}
    agent = agents[name].from_env(
        args.env,
        **env_kwargs(env_options),
        model_files=model_files(module, args) or (run and run_model_files(args.resume, run)),
        **networks,
        **hparams,
    )
    if args.resume:
        if run is not None:
            agent.networks = {key: run.get(key) for key in NETWORK_KEYS}
        agent.resume(args.resume)
        if not getattr(args, 'quiet', False):
            print(f'Resuming {args.resume} at step {agent.steps:,}, episode {agent.episodes:,}')
    if args.weights:
        agent.load_weights(args.weights)
    reason = agent.fit(target_reward=args.target_reward, max_steps=args.max_steps)
    return SIGNAL_EXIT_CODES.get(reason, 0)


def resumed_run_config(run_dir: str, agent: str, env: str) -> dict | None:
    """The config.json of a run to resume (None when there is none: resuming then says why)."""
    if not (Path(run_dir) / 'config.json').is_file():
        return None
    try:
        config = read_run_config(run_dir)
    except ValueError as error:
        fail(str(error))
    if (config['agent'], config['env']) != (agent, env):
        fail(f'{run_dir} is a run of {config.get("agent")} on {config.get("env")}, not of {agent} on {env}')
    return config


def read_preset(path: str, module) -> dict:
    """Hyperparameters from a preset file: ``{"hyperparameters": {...}}`` (xagents tune's) or a plain mapping.

    It may hold what xagents tune writes: the agent's hyperparameters (under their old names too), the
    environment options but the id, and the training loop's options a tuning trial takes.
    """
    try:
        content = json.loads(Path(path).read_text())
    except FileNotFoundError:
        fail(f'preset file not found: {path}')
    except (json.JSONDecodeError, UnicodeDecodeError, IsADirectoryError) as error:
        fail(f'{path} is not a JSON preset file: {str(error).splitlines()[0]}')
    values = content.get('hyperparameters', content) if isinstance(content, dict) else None
    if not isinstance(values, dict):
        fail(f'{path} is not a JSON preset file (expected an object of hyperparameters)')
    check_preset_keys(path, values, module)
    return values


def check_preset_keys(path: str, values: dict, module) -> None:
    """A one-line error naming the file and the first key a preset may not hold, with a "did you mean"."""
    fields = [field for field in dataclasses.fields(module.CONFIG) if field.init and field.metadata]
    allowed = [field.name for field in fields] + [name for name in EnvOptions.names() if name != 'env']
    allowed += TRIAL_OPTIONS
    renamed = renamed_fields(module.CONFIG)
    for key in values:
        if key in allowed or key in renamed:
            continue
        if key in TrainingOptions.names() or key in EnvOptions.names() or key in TrainCommandOptions.names():
            fail(
                f'{path}: {key} cannot be in a preset (it holds what xagents tune writes: hyperparameters, '
                f'environment options, plateau and logging options): give {flag_name(key)} on the command line'
            )
        guess = closest_flag(flag_name(str(key)), [flag_name(name) for name in allowed])
        hint = f' (did you mean {guess.split()[0][2:].replace("-", "_")}?)' if guess else ''
        fail(f'{path}: unknown preset key {key!r} for {module.__name__.split(".")[1]}{hint}')
