"""DDPG hyperparameters: the one definition of its flags, defaults and tuning types.

DDPG is TD3's machinery with one critic, no actor delay and no target smoothing;
those settings are fixed fields here (not flags) and become flags in TD3's config.
"""

import dataclasses

from xagents.core.config import OffPolicyConfig, check_range, hp


@dataclasses.dataclass
class DDPGConfig(OffPolicyConfig):
    lr: float = hp(1e-3, 'Learning rate of the Adam optimizers', 'log_uniform', positive=True)
    tau: float = hp(0.005, 'Polyak rate of the target networks (1: copy)', 'log_uniform', positive=True)
    step_noise_coef: float = hp(0.1, 'Std of the Gaussian exploration noise, in half action ranges', 'uniform')
    train_frequency: int = hp(1, 'Vector env steps between updates', 'categorical', positive=True)
    gradient_steps: int = hp(1, 'Updates each time the agent trains', 'categorical', positive=True)
    buffer_max_size: int = hp(
        1_000_000, "Capacity of the replay buffer (transitions; SB3's 1M; xagents 0.2: 10k)", 'int', positive=True
    )
    buffer_initial_size: int | None = hp(10000, 'Random-action transitions collected before training', 'int')
    buffer_batch_size: int = hp(
        256, "Transitions per update (SB3's 256; xagents 0.2: 32)", 'categorical', positive=True
    )
    twin_critics: bool = dataclasses.field(default=False, init=False)
    policy_delay: int = dataclasses.field(default=1, init=False)
    policy_noise_coef: float = dataclasses.field(default=0.0, init=False)
    noise_clip: float = dataclasses.field(default=0.0, init=False)

    def __post_init__(self):
        super().__post_init__()
        check_range('tau', self.tau, 0, 1, low_open=True)
        check_range('step_noise_coef', self.step_noise_coef, 0, float('inf'), high_open=True)


CONFIG = DDPGConfig
MODEL_ROLES = ('actor', 'critic')

# Per-environment defaults used when training on these environments (flags override).
PRESETS = {
    'Pendulum-v1': dict(gamma=0.98, buffer_max_size=200_000, train_frequency=200, gradient_steps=200),
}
