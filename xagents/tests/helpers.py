"""Saving an agent's checkpoints by hand, as the training loop does, for tests that check what loads back."""

from xagents.run.checkpoints import save_latest as save_latest_checkpoint
from xagents.run.checkpoints import save_models


def save_best(agent) -> None:
    """The agent's models now, in its run's best-model checkpoints."""
    save_models(agent, agent.run, agent.run.best, {**agent.run.state, **agent.state()})


def save_latest(agent) -> None:
    """Everything to resume the agent now, in its run's latest checkpoint."""
    save_latest_checkpoint(agent, agent.run, {**agent.run.state, **agent.state()})
