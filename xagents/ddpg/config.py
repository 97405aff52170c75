"""DDPG hyperparameters: TD3's, with its extras fixed off.

DDPG is TD3 with one critic, no actor delay and no target smoothing (as in
Stable-Baselines3): those settings are fixed fields here (not flags); every other flag,
default, tuning type and preset is TD3's (``xagents/td3/config.py``).
"""

import dataclasses

from xagents.td3 import config as td3_config


@dataclasses.dataclass
class DDPGConfig(td3_config.TD3Config):
    twin_critics: bool = dataclasses.field(default=False, init=False)
    policy_delay: int = dataclasses.field(default=1, init=False)
    policy_noise_coef: float = dataclasses.field(default=0.0, init=False)
    noise_clip: float = dataclasses.field(default=0.0, init=False)


CONFIG = DDPGConfig
MODEL_ROLES = td3_config.MODEL_ROLES

# Per-environment defaults used when training on these environments (flags override).
PRESETS = td3_config.PRESETS
