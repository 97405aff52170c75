"""TD3 hyperparameters: the one definition of its flags, defaults and tuning types.

DDPG's config (``xagents/ddpg/config.py``) extends this one and fixes the twin critics,
the actor delay and the target smoothing off.
"""

import dataclasses

from xagents.core.config import ContinuousOffPolicyConfig
from xagents.core.schema import check_range, hp, learning_rate


@dataclasses.dataclass
class TD3Config(ContinuousOffPolicyConfig):
    lr: float | str = learning_rate(1e-3, 'Learning rate of the Adam optimizers')
    step_noise_coef: float = hp(0.1, 'Std of the Gaussian exploration noise, in half action ranges', 'uniform')
    buffer_initial_size: int | None = hp(10000, 'Random-action transitions collected before training', 'int')
    twin_critics: bool = dataclasses.field(default=True, init=False)
    policy_delay: int = hp(2, 'Critic updates per actor and target update', 'categorical', positive=True)
    policy_noise_coef: float = hp(0.2, 'Std of the target policy smoothing noise, in half action ranges', 'uniform')
    noise_clip: float = hp(0.5, 'Bound of the target policy smoothing noise, in half action ranges', 'uniform')

    def __post_init__(self):
        super().__post_init__()
        check_range('step_noise_coef', self.step_noise_coef, 0, float('inf'), high_open=True)
        check_range('policy_noise_coef', self.policy_noise_coef, 0, float('inf'), high_open=True)
        check_range('noise_clip', self.noise_clip, 0, float('inf'), high_open=True)


CONFIG = TD3Config
MODEL_ROLES = ('actor', 'critic')

# Per-environment defaults used when training on these environments (flags override).
PRESETS = {
    # RL Zoo's (its n_timesteps as max_steps), also DDPG's.
    'Pendulum-v1': dict(max_steps=20_000, gamma=0.98, buffer_max_size=200_000, train_frequency=200, gradient_steps=200),
}
