"""The configs every agent shares: :class:`AgentConfig`, and those of the agents that learn from replay.

Each field is declared with :func:`xagents.core.schema.hp` (help, default, tuning type); an
agent's own ``config.py`` extends one of these.
"""

from __future__ import annotations

import dataclasses
import os
from typing import ClassVar

from xagents.core.schema import check_alternatives, check_fields, check_range, check_schedules, hp, learning_rate
from xagents.core.threads import AUTO, checked_threads, thread_word
from xagents.replay.hindsight import STRATEGIES


@dataclasses.dataclass
class AgentConfig:
    """Hyperparameters and options every agent has."""

    gamma: float = hp(0.99, 'Discount factor', 'log_uniform')
    lr: float | str = learning_rate(7e-4, 'Learning rate of the Adam optimizer')
    opt_epsilon: float = hp(1e-7, 'Epsilon of the Adam optimizer', 'log_uniform', positive=True)
    beta1: float = hp(0.9, 'Beta1 of the Adam optimizer', 'log_uniform')
    beta2: float = hp(0.999, 'Beta2 of the Adam optimizer', 'log_uniform')
    normalize_obs: bool = hp(
        False, 'Normalize observations by a running mean/std (saved with checkpoints)', 'categorical'
    )
    normalize_reward: bool = hp(False, 'Scale rewards by a running std of the discounted return', 'categorical')
    clip_rewards: bool = hp(False, 'Train on the sign of rewards (on by default with --preprocess)', 'categorical')
    life_loss_terminal: bool = hp(
        False, 'Treat a lost life as terminal in training (on with --preprocess)', 'categorical'
    )
    reward_buffer_size: int = hp(100, 'Episodes in the mean reward', positive=True)
    jit_compile: bool = hp(
        os.environ.get('XAGENTS_JIT', '1') != '0',
        'Compile the updates of dense models with XLA: faster updates after a compile of a few seconds '
        '(XAGENTS_JIT=0: off by default; models with convolutions never use it)',
    )
    host_inference: bool = hp(
        True, 'Act with dense models computed in NumPy on the host (--no-host-inference: in TensorFlow)'
    )
    threads: str | tuple[int, int] = hp(
        AUTO,
        "TensorFlow's intra-op and inter-op threads, INTRA INTER (0: TensorFlow's default), or auto: 1 1 for "
        "on-policy agents' dense models, TensorFlow's default otherwise (README: Speed)",
        nargs='+',
        type=thread_word,
        metavar='auto|N',
    )
    mask_actions: bool | None = hp(
        None,
        "Never pick actions masked by the env's action_masks() or info['action_mask'] "
        '(default: on when the env gives masks; --no-mask-actions: off)',
    )
    seed: int | None = hp(None, 'Random seed: the same seed repeats a CPU run exactly')

    # Pairs of fields that set one thing two ways, (used, ignored) when old runs saved both: what they set.
    ALTERNATIVES: ClassVar[dict[tuple[str, str], str]] = {}

    def __post_init__(self):
        check_fields(self)
        check_schedules(self)
        check_alternatives(self)
        self.threads = checked_threads(self.threads)
        check_range('gamma', self.gamma, 0, 1, low_open=True)


@dataclasses.dataclass
class OffPolicyConfig(AgentConfig):
    """Replay buffer options of agents that learn from replay."""

    buffer_max_size: int = hp(10000, 'Capacity of the replay buffer (transitions)', 'int', positive=True)
    buffer_initial_size: int | None = hp(None, 'Transitions collected before training (default: batch size)', 'int')
    buffer_batch_size: int = hp(32, 'Transitions per update', 'categorical', positive=True)
    save_buffer: bool = hp(False, 'Save the replay buffer with each latest checkpoint; --resume restores it')
    her: bool = hp(
        False,
        'Hindsight experience replay for goal envs (Dict of observation, achieved_goal, desired_goal; '
        'compute_reward): batches relabeled with goals achieved later',
        'categorical',
    )
    her_goals: int = hp(
        4, "With --her: relabeled transitions per real one in a batch (SB3's n_sampled_goal)", 'int', positive=True
    )
    her_strategy: str = hp(
        'future',
        'With --her: the new goals, achieved at a later step (future), the last (final) or any (episode) '
        'of the same episode',
        'categorical',
        choices=STRATEGIES,
    )

    def __post_init__(self):
        super().__post_init__()
        if self.her and (self.normalize_reward or self.clip_rewards):
            raise ValueError(
                "--her recomputes rewards with the env's compute_reward: it does not combine with "
                '--normalize-reward or --clip-rewards'
            )
        if self.her_strategy not in STRATEGIES:
            raise ValueError(f'--her-strategy must be one of {", ".join(STRATEGIES)}, got {self.her_strategy!r}')
        if self.buffer_batch_size > self.buffer_max_size:
            raise ValueError(
                f'--buffer-batch-size ({self.buffer_batch_size}) is larger than --buffer-max-size '
                f'({self.buffer_max_size})'
            )
        initial = self.buffer_initial_size or self.buffer_batch_size
        if initial > self.buffer_max_size:
            raise ValueError(
                f'--buffer-initial-size ({initial}) is larger than --buffer-max-size ({self.buffer_max_size})'
            )


@dataclasses.dataclass
class ContinuousOffPolicyConfig(OffPolicyConfig):
    """What the actor-critics of continuous actions that learn from replay share (TD3, DDPG, SAC)."""

    tau: float = hp(0.005, 'Polyak rate of the target networks (1: copy)', 'log_uniform', positive=True)
    train_frequency: int = hp(1, 'Vector env steps between updates', 'categorical', positive=True)
    gradient_steps: int = hp(1, 'Updates each time the agent trains', 'categorical', positive=True)
    buffer_max_size: int = hp(
        1_000_000, "Capacity of the replay buffer (transitions; SB3's 1M; xagents 0.2: 10k)", 'int', positive=True
    )
    buffer_batch_size: int = hp(
        256, "Transitions per update (SB3's 256; xagents 0.2: 32)", 'categorical', positive=True
    )
    # Whether a second critic (and its target) is trained: a fixed field of each agent's config.
    twin_critics: bool = dataclasses.field(default=False, init=False)

    def __post_init__(self):
        super().__post_init__()
        check_range('tau', self.tau, 0, 1, low_open=True)


def preprocess_defaults(hyperparameters: dict, preprocess: bool) -> dict:
    """Atari preprocessing trains on clipped rewards with a lost life as terminal, unless told otherwise."""
    if not preprocess:
        return dict(hyperparameters)
    return {'clip_rewards': True, 'life_loss_terminal': True, **hyperparameters}


# A preset's training budget (RL Zoo's n_timesteps): ``xagents train`` stops there when --max-steps is not given.
BUDGET = 'max_steps'


def preset_values(preset: dict) -> dict:
    """A preset's hyperparameters and env options: all of it but its training budget (``max_steps``)."""
    return {key: value for key, value in preset.items() if key != BUDGET}
