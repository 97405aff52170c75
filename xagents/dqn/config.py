"""DQN hyperparameters: the one definition of its flags, defaults and tuning types."""

import dataclasses

from xagents.core.config import OffPolicyConfig
from xagents.core.schema import check_at_least_one, check_range, hp

# Decay lengths of a run without --max-steps (xagents 0.2's fixed defaults), when no flag sets them.
DECAY_STEPS, BETA_STEPS = 150_000, 100_000
# The share of --max-steps over which epsilon decays when no flag sets its length (SB3's).
EXPLORATION_FRACTION = 0.1


@dataclasses.dataclass
class DQNConfig(OffPolicyConfig):
    double: bool = hp(
        False, 'Double DQN: the online network picks the next action, the target values it', 'categorical'
    )
    epsilon_start: float = hp(1.0, 'Initial exploration rate', 'log_uniform')
    epsilon_end: float = hp(0.02, 'Final exploration rate', 'log_uniform')
    epsilon_decay_steps: int | None = hp(
        None, 'Steps over which epsilon decays linearly (default: a share of the run)', 'int', positive=True
    )
    exploration_fraction: float | None = hp(
        None,
        f'Share of --max-steps over which epsilon decays (default: {EXPLORATION_FRACTION}, as SB3; '
        f'no --max-steps: {DECAY_STEPS:,} steps)',
        'uniform',
    )
    target_sync_steps: int = hp(1000, 'Steps between copies of the online network to the target', 'int', positive=True)
    train_frequency: int = hp(
        4, "Vector env steps between updates (SB3's and Nature DQN's 4; xagents 0.2: 1)", 'categorical', positive=True
    )
    buffer_max_size: int = hp(
        1_000_000, "Capacity of the replay buffer (transitions; SB3's 1M; xagents 0.2: 10k)", 'int', positive=True
    )
    gradient_steps: int = hp(1, 'Updates each time the agent trains', 'categorical', positive=True)
    grad_norm: float | None = hp(10.0, 'Maximum global gradient norm (none: no clipping)', 'log_uniform')
    dueling: bool = hp(
        False, 'Dueling heads: Q = V + A - mean(A) from the last layer (Wang et al. 2016)', 'categorical'
    )
    n_step: int = hp(1, 'Rewards summed into each target before bootstrapping', 'int', positive=True)
    prioritized: bool = hp(False, 'Proportional prioritized replay (Schaul et al. 2016)', 'categorical')
    per_alpha: float = hp(0.6, 'With --prioritized: how much priorities count (0: uniform)', 'uniform')
    per_beta: float = hp(0.4, 'With --prioritized: initial importance-weight exponent, annealed to 1', 'uniform')
    per_beta_steps: int | None = hp(
        None,
        f'With --prioritized: steps over which beta reaches 1 (default: --max-steps, else {BETA_STEPS:,})',
        'int',
        positive=True,
    )
    per_epsilon: float = hp(1e-6, 'With --prioritized: added to |TD error| in priorities', 'log_uniform', positive=True)

    ALTERNATIVES = {('epsilon_decay_steps', 'exploration_fraction'): 'how long epsilon decays'}

    def __post_init__(self):
        super().__post_init__()
        if self.exploration_fraction is not None:
            check_range('exploration_fraction', self.exploration_fraction, 0, 1, low_open=True)
        check_range('per_alpha', self.per_alpha, 0, 1)
        check_at_least_one(self, 'epsilon_decay_steps', 'per_beta_steps')
        check_range('per_beta', self.per_beta, 0, 1)
        if self.her and (self.n_step > 1 or self.prioritized):
            raise ValueError(
                '--her relabels uniform one-step transitions: it does not combine with --n-step > 1 or --prioritized'
            )


CONFIG = DQNConfig
MODEL_ROLES = ('model',)

ATARI_IDS = ('PongNoFrameskip-v4', 'BreakoutNoFrameskip-v4')  # RL Zoo's Atari settings apply to every game
ATARI = dict(
    max_steps=10_000_000,  # RL Zoo's n_timesteps for Atari
    preprocess=True,
    n_envs=4,
    lr=1e-4,
    buffer_max_size=100_000,
    buffer_initial_size=100_000,
    buffer_batch_size=32,
    target_sync_steps=1000,
    train_frequency=1,
    gradient_steps=1,
    epsilon_decay_steps=1_000_000,
    epsilon_end=0.01,
    gamma=0.99,
)

# Per-environment defaults used when training on these environments (flags override).
PRESETS = {
    # Double, dueling and 3-step targets: 3 of 3 seeds reach a mean of 475 (plain DQN: 2 of 3), in ~120k
    # steps: no budget, as RL Zoo's 50k (n_timesteps) stops seed 0 at a mean of 154.
    'CartPole-v1': dict(
        n_envs=4,
        double=True,
        dueling=True,
        n_step=3,
        lr=6e-4,
        buffer_max_size=100_000,
        buffer_initial_size=1000,
        buffer_batch_size=64,
        target_sync_steps=1000,
        train_frequency=16,
        gradient_steps=16,
        epsilon_decay_steps=10_000,
        epsilon_end=0.02,
        gamma=0.99,
    ),
    # RL Zoo's settings (one gradient step of 128 per env step), with the CartPole extensions.
    'LunarLander-v3': dict(
        max_steps=100_000,  # RL Zoo's n_timesteps
        n_envs=4,
        double=True,
        dueling=True,
        n_step=3,
        lr=6.3e-4,
        buffer_max_size=50_000,
        buffer_initial_size=1000,
        buffer_batch_size=128,
        target_sync_steps=250,
        train_frequency=1,
        gradient_steps=4,
        epsilon_decay_steps=12_000,
        epsilon_end=0.05,
        gamma=0.99,
    ),
    # RL Zoo's Atari settings: one gradient step of 32 per 4 env steps.
    **dict.fromkeys(ATARI_IDS, ATARI),
}
