"""DQN hyperparameters: the one definition of its flags, defaults and tuning types."""

import dataclasses

from xagents.utils.cli import OffPolicyConfig, hp


@dataclasses.dataclass
class DQNConfig(OffPolicyConfig):
    double: bool = hp(False, 'Double DQN: the online network picks the next action, the target values it')
    epsilon_start: float = hp(1.0, 'Initial exploration rate', 'log_uniform')
    epsilon_end: float = hp(0.02, 'Final exploration rate', 'log_uniform')
    epsilon_decay_steps: int = hp(150000, 'Steps over which epsilon decays linearly', 'int', positive=True)
    target_sync_steps: int = hp(1000, 'Steps between copies of the online network to the target', 'int', positive=True)
    train_frequency: int = hp(1, 'Vector env steps between updates', 'categorical', positive=True)
    gradient_steps: int = hp(1, 'Updates each time the agent trains', 'categorical', positive=True)
    grad_norm: float | None = hp(10.0, 'Maximum global gradient norm (none: no clipping)', 'log_uniform')


CONFIG = DQNConfig
MODEL_ROLES = ('model',)

# Per-environment defaults used when training on these environments (flags override).
PRESETS = {
    'CartPole-v1': dict(
        n_envs=4,
        double=True,
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
}
