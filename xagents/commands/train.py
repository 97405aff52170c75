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
from xagents.core.config import BUDGET, preset_values
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
    max_steps: int | None = hp(
        None, "Stop after this many environment steps (default: the preset's max_steps, if it has one)", positive=True
    )
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


def check_train(args, module) -> None:
    """What is wrong with a train command line before TensorFlow loads."""
    if getattr(args, 'target_reward', None) is None and getattr(args, 'max_steps', None) is None:
        if getattr(args, 'resume', None) or chosen_preset(module, args).get(BUDGET) is None:
            fail('train needs --target-reward or --max-steps (or both)')


def chosen_preset(module, args) -> dict:
    """The shipped preset for the env (none with --no-presets), or the --preset file's."""
    if getattr(args, 'preset', None):
        return read_preset(args.preset, module)
    return {} if getattr(args, 'no_presets', False) else getattr(module, 'PRESETS', {}).get(args.env, {})


@dataclasses.dataclass
class PresetUse:
    """What a train command takes from its preset: the values it uses, the budget and the line saying so."""

    values: dict
    used: dict
    max_steps: int | None
    budget_used: bool
    held: dict  # a schedule's first value, for the preset's schedules when there is no budget

    def line(self, name: str, source: str, from_file: bool) -> str | None:
        """``Using the ... preset of ...: key=value, ...`` (None when nothing of the preset is used)."""
        shown = ({BUDGET: f'{self.max_steps:,}'} if self.budget_used else {}) | self.used
        if not shown:
            return None
        return (
            f'Using the {source} preset of {name}'
            + ('' if from_file else ' (--no-presets to ignore)')
            + ': '
            + ', '.join(
                f'{key}={value}' + (f' (held at {self.held[key]:g}: no --max-steps)' if key in self.held else '')
                for key, value in shown.items()
            )
        )


def preset_use(module, args, run: dict | None) -> PresetUse:
    """The preset (shipped, a --preset file, or the resumed run's settings) and what of it this command uses.

    A preset's ``max_steps`` is the budget unless --max-steps is given; a resumed run takes none.
    """
    preset = chosen_preset(module, args)
    budget = preset.get(BUDGET)
    preset = preset_values(preset)
    if run is not None:  # the run goes on with its own settings (flags that would change them are refused)
        budget = None
        preset = {
            **without_ignored(module.CONFIG, current_names(module.CONFIG, run['hyperparameters'])),
            **{key: run[key] for key in ENV_KEYS if key in run},
        }
    preset = current_names(module.CONFIG, preset)  # a run or tune preset of before a field's rename
    used = {key: value for key, value in preset.items() if key not in vars(args)}  # flags given override
    budget_used = args.max_steps is None and budget is not None
    max_steps = budget if budget_used else args.max_steps
    held = {}
    if max_steps is None and run is None:
        # A schedule runs over the budget; a preset's without one holds its first value throughout.
        held = {key: schedules.initial(value) for key, value in used.items() if schedules.is_scheduled(value)}
    return PresetUse(preset, used, max_steps, budget_used, held)


def train(name: str, module, args) -> int:
    given = given_flags(args, module)
    args = argparse.Namespace(**(vars(args) | dataclasses.asdict(config_from_args(TrainCommandOptions, args))))
    run = resumed_run_config(args.resume, name, args.env) if args.resume else None
    if args.resume:
        check_resume_flags(args, given, run, module)
    use = preset_use(module, args, run)
    env_options = config_from_args(EnvOptions, args, **use.values)
    hparams = hyperparameters(module, args, use.values, training=TrainingOptions.names())
    hparams.update(use.held)
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
    # Said once the agent is made: an env or a setting it refuses is one line, with no preset line before it.
    line = use.line(name, args.preset or args.env, bool(args.preset))
    if line and run is None and not getattr(args, 'quiet', False):
        print(line)
    if args.resume:
        if run is not None:
            agent.networks = {key: run.get(key) for key in NETWORK_KEYS}
        agent.resume(args.resume)
        if not getattr(args, 'quiet', False):
            print(f'Resuming {args.resume} at step {agent.steps:,}, episode {agent.episodes:,}')
    if args.weights:
        agent.load_weights(args.weights)
    reason = agent.fit(target_reward=args.target_reward, max_steps=use.max_steps)
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
    environment options but the id, and the training loop's options a tuning trial takes; and, as a
    shipped preset may, ``max_steps``: the budget when --max-steps is not given.
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
    if BUDGET in values:
        budget = values[BUDGET]
        if isinstance(budget, bool) or not isinstance(budget, int | float) or budget <= 0 or budget != int(budget):
            fail(f'{path}: {BUDGET} must be a positive whole number of steps, not {budget!r}')
        values = values | {BUDGET: int(budget)}  # 1e5 in JSON is a float
    return values


def check_preset_keys(path: str, values: dict, module) -> None:
    """A one-line error naming the file and the first key a preset may not hold, with a "did you mean"."""
    fields = [field for field in dataclasses.fields(module.CONFIG) if field.init and field.metadata]
    allowed = [field.name for field in fields] + [name for name in EnvOptions.names() if name != 'env']
    allowed += [*TRIAL_OPTIONS, BUDGET]
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
