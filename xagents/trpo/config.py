"""TRPO hyperparameters: the one definition of its flags, defaults and tuning types."""

import dataclasses

from xagents.core.config import AgentConfig
from xagents.core.schema import check_range, hp, learning_rate


@dataclasses.dataclass
class TRPOConfig(AgentConfig):
    # The defaults are sb3-contrib's TRPO's (issue 33: xagents 0.2's, 512 steps, max KL 0.001, lambda 1, did not
    # learn Acrobot-v1 in RL Zoo's 100k steps, where SB3's reached -100 at 61,607): 2,048 steps, max KL 0.01,
    # lambda 0.95, 15 conjugate gradient steps damped by 0.1, 10 critic epochs of 16 minibatches (128 transitions
    # on one env), Fisher-vector products on every transition, lr 1e-3.
    lr: float | str = learning_rate(1e-3, "Learning rate of the critic's Adam optimizer")
    n_steps: int = hp(2048, 'Steps per env in each rollout', 'categorical', positive=True)
    lam: float = hp(0.95, 'GAE lambda', 'log_uniform')
    max_kl: float = hp(1e-2, 'Maximum mean KL divergence of a policy update', 'log_uniform', positive=True)
    cg_iterations: int = hp(15, 'Conjugate gradient iterations per update', 'int', positive=True)
    cg_damping: float = hp(0.1, 'Damping added to the Fisher-vector product', 'log_uniform')
    cg_residual_tolerance: float = hp(
        1e-10, 'Conjugate gradient stops when the squared residual falls below this', 'log_uniform'
    )
    actor_iterations: int = hp(10, 'Backtracking line search steps per policy update', 'int', positive=True)
    critic_iterations: int = hp(10, 'Critic epochs over each rollout', 'int', positive=True)
    fvp_n_steps: int = hp(1, 'Use every n-th transition for Fisher-vector products', 'int', positive=True)
    mini_batches: int = hp(16, 'Critic minibatches per epoch', 'categorical', positive=True)
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
# The presets keep the earlier defaults they were measured with (cg_iterations 10, cg_damping 1e-3, fvp_n_steps 5,
# CartPole's mini_batches 4).
EARLIER = dict(cg_iterations=10, cg_damping=1e-3, fvp_n_steps=5)
PRESETS = {
    # max_steps: RL Zoo's n_timesteps.
    'CartPole-v1': dict(
        max_steps=100_000,
        n_envs=4,
        n_steps=128,
        max_kl=0.02,
        lam=0.95,
        critic_iterations=10,
        lr=1e-3,
        mini_batches=4,
        **EARLIER,
    ),
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
        **EARLIER,
    ),
}
