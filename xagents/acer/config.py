"""ACER hyperparameters: the one definition of its flags, defaults and tuning types."""

import dataclasses

from xagents.core.config import AgentConfig
from xagents.core.schema import check_range, hp


@dataclasses.dataclass
class ACERConfig(AgentConfig):
    n_steps: int = hp(20, 'Steps per env in each segment', 'categorical', positive=True)
    replay_ratio: int = hp(4, 'Mean (Poisson) number of replay updates per on-policy update', 'categorical')
    importance_c: float = hp(10.0, 'Truncation of the importance weights', 'log_uniform', positive=True)
    trust_region: bool = hp(False, 'Use the trust region update against the averaged policy', 'categorical')
    delta: float = hp(1.0, 'Trust region: bound on the KL gradient projection', 'log_uniform', positive=True)
    ema_alpha: float = hp(0.99, 'Decay of the averaged policy network', 'log_uniform')
    entropy_coef: float | str = hp(
        0.01, 'Entropy bonus coefficient (lin_X: from X to 0 over --max-steps)', 'log_uniform', schedule=True
    )
    value_loss_coef: float = hp(0.5, 'Q-value loss coefficient', 'log_uniform')
    grad_norm: float = hp(10.0, 'Maximum global gradient norm', 'log_uniform', positive=True)
    buffer_max_size: int = hp(
        50000, 'Capacity of the replay buffer (transitions, kept as whole segments)', 'int', positive=True
    )
    buffer_initial_size: int = hp(1000, 'Transitions stored before replay starts', 'int')
    save_buffer: bool = hp(False, 'Save the replay buffer with each latest checkpoint; --resume restores it')

    def __post_init__(self):
        super().__post_init__()
        if self.replay_ratio < 0:
            raise ValueError(f'--replay-ratio must be at least 0, got {self.replay_ratio}')
        check_range('ema_alpha', self.ema_alpha, 0, 1, high_open=True)
        if self.buffer_initial_size > self.buffer_max_size:
            raise ValueError(
                f'--buffer-initial-size ({self.buffer_initial_size}) is larger than --buffer-max-size '
                f'({self.buffer_max_size})'
            )


CONFIG = ACERConfig
MODEL_ROLES = ('model',)

# Per-environment defaults used when training on these environments (flags override).
PRESETS = {
    'CartPole-v1': dict(max_steps=500_000, n_envs=8),  # RL Zoo has no ACER: our benchmark's budget
}
