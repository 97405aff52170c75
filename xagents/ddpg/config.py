"""DDPG hyperparameters: the one definition of its flags, defaults and tuning types.

DDPG is TD3's machinery with one critic, no actor delay and no target smoothing;
those settings are fixed fields here (not flags) and become flags in TD3's config.
"""

import dataclasses

from xagents.core.config import ContinuousOffPolicyConfig, check_range, hp, learning_rate


@dataclasses.dataclass
class DDPGConfig(ContinuousOffPolicyConfig):
    lr: float | str = learning_rate(1e-3, 'Learning rate of the Adam optimizers')
    step_noise_coef: float = hp(0.1, 'Std of the Gaussian exploration noise, in half action ranges', 'uniform')
    buffer_initial_size: int | None = hp(10000, 'Random-action transitions collected before training', 'int')
    policy_delay: int = dataclasses.field(default=1, init=False)
    policy_noise_coef: float = dataclasses.field(default=0.0, init=False)
    noise_clip: float = dataclasses.field(default=0.0, init=False)

    def __post_init__(self):
        super().__post_init__()
        check_range('step_noise_coef', self.step_noise_coef, 0, float('inf'), high_open=True)


CONFIG = DDPGConfig
MODEL_ROLES = ('actor', 'critic')

# Per-environment defaults used when training on these environments (flags override).
PRESETS = {
    'Pendulum-v1': dict(gamma=0.98, buffer_max_size=200_000, train_frequency=200, gradient_steps=200),
}
