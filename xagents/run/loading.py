"""A trained agent rebuilt from its run folder alone: environment, hyperparameters, models, weights."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable

from xagents.core.errors import CheckpointError
from xagents.core.renamed import current_names
from xagents.core.schema import without_ignored
from xagents.envs.recipe import EnvRecipe
from xagents.registry import agents
from xagents.run.checkpoints import check_config, has_checkpoint, load_latest_models, load_weights
from xagents.run.folder import RunFolder, read_run_config, run_model_files


def load(run_dir: str | os.PathLike, checkpoint: str | int = 'best', env: str | Callable | None = None, agent=None):
    """The agent of an xagents run, with trained weights, ready to ``predict`` or ``play``.

    Args:
        run_dir: The run directory (``--output-dir``).
        checkpoint: ``best`` (the best models; the latest checkpoint when there is no best yet),
            ``latest``, or a step: the first snapshot at or after it.
        env: The environment function again, for a run made from one that cannot be imported here.
        agent: The agent class expected (``PPO.load``); a run of another agent is an error.

    Returns:
        The agent, on one environment made as the run made them (module, kwargs, preprocessing), with
        TensorFlow's threads ``auto`` chose (the run's ``--threads`` could differ from what this process has).
    """
    try:
        config = read_run_config(run_dir)
    except ValueError as error:
        raise CheckpointError(str(error)) from None
    cls = agents[config['agent']]
    if agent is not None and cls is not agent:
        raise CheckpointError(f'{run_dir} is a run of {config["agent"]}, not of {agent.__name__.lower()}')
    recipe = EnvRecipe.from_config(config, env)
    names = {field.name for field in dataclasses.fields(cls.Config) if field.init}
    # A run of an older xagents: renamed fields, and both of two alternatives saved.
    saved = without_ignored(cls.Config, current_names(cls.Config, config['hyperparameters']))
    # Not the run's --threads: this process may have fixed TensorFlow's already (auto keeps them, or chooses).
    hyperparameters = {key: value for key, value in saved.items() if key in names and key != 'threads'}
    loaded = cls.from_env(
        recipe.env,
        preprocess=recipe.preprocess,
        max_frame=recipe.max_frame,
        env_kwargs=recipe.env_kwargs,
        obs_keys=recipe.obs_keys,
        frame_stack=recipe.frame_stack,
        model_files=run_model_files(run_dir, config),
        **hyperparameters,
    )
    load_checkpoint(loaded, run_dir, checkpoint)
    return loaded


def load_checkpoint(agent, run_dir: str | os.PathLike, checkpoint: str | int) -> None:
    """Load ``checkpoint`` of run ``run_dir`` (``best``, ``latest`` or a step) into ``agent``, an agent of
    the run; for ``best``, ``agent.checkpoint_loaded`` says which one was (``latest`` where there is no best yet)."""
    run = RunFolder.of_config(run_dir, check_config(agent, run_dir), agent.model_roles)
    quiet = lambda *args: None  # noqa: E731
    if checkpoint == 'best':
        fell_back = []  # the run has no best checkpoint yet: the latest is loaded (and said so here)
        load_weights(agent, [run_dir], fell_back.append)
        agent.checkpoint_loaded = 'latest' if fell_back else 'best'
    elif checkpoint == 'latest':
        if run.latest_gone():
            works = "its best checkpoint still loads and exports (--checkpoint best; checkpoint='best' in Python)"
            raise CheckpointError(run.latest_gone_message(works))
        if not has_checkpoint(run.latest):
            raise CheckpointError(f'{run_dir} has no latest checkpoint yet')
        load_latest_models(agent, run)
    elif isinstance(checkpoint, int) and not isinstance(checkpoint, bool):
        try:
            _, paths = run.snapshot_at(checkpoint)
        except ValueError as error:
            raise CheckpointError(str(error)) from None
        load_weights(agent, paths, quiet)
    else:
        raise ValueError(f"checkpoint must be 'best', 'latest' or a step, got {checkpoint!r}")
