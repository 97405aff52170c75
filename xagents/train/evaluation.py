"""Greedy evaluations during training, on envs of their own; the best one chooses the best checkpoint."""

from __future__ import annotations

from xagents.play.episodes import play_in_parallel, summarize
from xagents.play.player import MAX_PLAY_ENVS
from xagents.train.callbacks import EveryNSteps
from xagents.train.console import OperationProgress

EVAL_SEED_OFFSET = 10_000


class Evaluation(EveryNSteps):
    """Every ``eval_interval`` steps, ``eval_episodes`` greedy episodes; logged in ``evaluations.parquet``.

    A new best mean saves the best models. ``trainer.evaluate()`` runs one at any time.
    """

    def __init__(self):
        self.envs = None
        self.best = float('-inf')
        self.next = float('inf')

    def interval(self, trainer):
        return trainer.options.eval_interval

    def due(self, trainer):
        trainer.evaluate()

    def close(self) -> None:
        if self.envs is not None:
            self.envs.close()
            self.envs = None

    def evaluate(self, trainer) -> dict[str, float]:
        agent, options, seed = trainer.agent, trainer.options, trainer.config.seed
        agent.weights_changed()
        if self.envs is None:
            self.envs = agent.env_recipe.make(min(options.eval_episodes, MAX_PLAY_ENVS), async_envs=False)
            seed = None if seed is None else seed + EVAL_SEED_OFFSET
        else:
            seed = None  # the envs' own generators go on: fresh starts each time
        progress = OperationProgress(
            f'Evaluation at step {agent.steps:,}', options.eval_episodes, 'episodes', trainer.console
        )
        results = play_in_parallel(
            agent, self.envs, options.eval_episodes, deterministic=True, seed=seed, random=False, progress=progress
        )
        summary = summarize(results)
        improved = summary['mean_reward'] > self.best
        if improved:
            self.best = summary['mean_reward']
            trainer.save_best()
        if trainer.run_folder.evaluations is not None:
            trainer.run_folder.evaluations.append(
                {'step': agent.steps, 'time': trainer.elapsed(), 'episodes': len(results), **summary}
            )
        precision = options.display_precision
        progress.finish(
            f'mean reward {summary["mean_reward"]:.{precision}f} '
            f'± {summary["std_reward"]:.{precision}f} over {len(results)} episodes, '
            + ('a new best: best checkpoint saved' if improved else f'best {self.best:.{precision}f}')
        )
        return {**summary, 'step': agent.steps}

    def state(self):
        return {'best_eval_reward': self.best if self.best > float('-inf') else None}

    def load_state(self, state):
        best = state.get('best_eval_reward')
        self.best = float('-inf') if best is None else best
