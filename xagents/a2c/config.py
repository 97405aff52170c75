"""A2C hyperparameters: the one definition of its flags, defaults and tuning types."""

import dataclasses

from xagents.core.config import AgentConfig
from xagents.core.schema import check_range, hp


@dataclasses.dataclass
class A2CConfig(AgentConfig):
    n_steps: int = hp(5, 'Steps per env in each rollout (the n of n-step returns)', 'categorical', positive=True)
    lam: float = hp(1.0, 'GAE lambda (1: plain n-step returns)', 'log_uniform')
    entropy_coef: float | str = hp(
        0.0, 'Entropy bonus coefficient (lin_X: from X to 0 over --max-steps)', 'log_uniform', schedule=True
    )
    value_loss_coef: float = hp(0.5, 'Value loss coefficient', 'log_uniform')
    grad_norm: float = hp(0.5, 'Maximum global gradient norm', 'log_uniform', positive=True)

    def __post_init__(self):
        super().__post_init__()
        check_range('lam', self.lam, 0, 1)


CONFIG = A2CConfig
MODEL_ROLES = ('model',)

# Per-environment defaults used when training on these environments (flags override).
PRESETS = {
    'CartPole-v1': dict(max_steps=500_000, n_envs=8),  # RL Zoo's n_timesteps
    'Pendulum-v1': dict(
        max_steps=1_000_000,  # RL Zoo's n_timesteps: lr decays over it
        n_envs=16,
        n_steps=8,
        lam=0.9,
        gamma=0.9,
        lr='lin_3e-3',
        normalize_obs=True,
        normalize_reward=True,
    ),
}
