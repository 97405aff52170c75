"""TRPO hyperparameters: the one definition of its flags, defaults and tuning types."""

import dataclasses

from xagents.core.config import AgentConfig
from xagents.core.schema import check_range, hp


@dataclasses.dataclass
class TRPOConfig(AgentConfig):
    n_steps: int = hp(512, 'Steps per env in each rollout', 'categorical', positive=True)
    lam: float = hp(1.0, 'GAE lambda', 'log_uniform')
    max_kl: float = hp(1e-3, 'Maximum mean KL divergence of a policy update', 'log_uniform', positive=True)
    cg_iterations: int = hp(10, 'Conjugate gradient iterations per update', 'int', positive=True)
    cg_damping: float = hp(1e-3, 'Damping added to the Fisher-vector product', 'log_uniform')
    cg_residual_tolerance: float = hp(
        1e-10, 'Conjugate gradient stops when the squared residual falls below this', 'log_uniform'
    )
    actor_iterations: int = hp(10, 'Backtracking line search steps per policy update', 'int', positive=True)
    critic_iterations: int = hp(3, 'Critic epochs over each rollout', 'int', positive=True)
    fvp_n_steps: int = hp(5, 'Use every n-th transition for Fisher-vector products', 'int', positive=True)
    mini_batches: int = hp(4, 'Critic minibatches per epoch', 'categorical', positive=True)
    entropy_coef: float | str = hp(
        0.0,
        'Entropy bonus coefficient in the surrogate (lin_X: from X to 0 over --max-steps)',
        'log_uniform',
        schedule=True,
    )
    advantage_epsilon: float = hp(1e-8, 'Added to the advantage std when normalizing', 'log_uniform')

    def __post_init__(self):
        super().__post_init__()
        check_range('lam', self.lam, 0, 1)


CONFIG = TRPOConfig
MODEL_ROLES = ('actor', 'critic')

# Per-environment defaults used when training on these environments (flags override).
PRESETS = {
    # max_steps: RL Zoo's n_timesteps.
    'CartPole-v1': dict(max_steps=100_000, n_envs=4, n_steps=128, max_kl=0.02, lam=0.95, critic_iterations=10, lr=1e-3),
    'Pendulum-v1': dict(
        max_steps=100_000,
        n_envs=2,
        n_steps=1024,
        max_kl=0.03,
        lam=0.95,
        gamma=0.9,
        critic_iterations=20,
        mini_batches=16,
        lr=1e-3,
        normalize_obs=True,
    ),
}
