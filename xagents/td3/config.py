"""TD3 hyperparameters: DDPG's, with the twin critics, delay and smoothing as flags."""

import dataclasses

from xagents.core.config import check_range, hp
from xagents.ddpg.config import PRESETS as DDPG_PRESETS
from xagents.ddpg.config import DDPGConfig


@dataclasses.dataclass
class TD3Config(DDPGConfig):
    twin_critics: bool = dataclasses.field(default=True, init=False)
    policy_delay: int = hp(2, 'Critic updates per actor and target update', 'categorical', positive=True)
    policy_noise_coef: float = hp(0.2, 'Std of the target policy smoothing noise, in half action ranges', 'uniform')
    noise_clip: float = hp(0.5, 'Bound of the target policy smoothing noise, in half action ranges', 'uniform')

    def __post_init__(self):
        super().__post_init__()
        check_range('policy_noise_coef', self.policy_noise_coef, 0, float('inf'), high_open=True)
        check_range('noise_clip', self.noise_clip, 0, float('inf'), high_open=True)


CONFIG = TD3Config
MODEL_ROLES = ('actor', 'critic')

# Per-environment defaults used when training on these environments (flags override).
PRESETS = DDPG_PRESETS
