"""Deep Deterministic Policy Gradient, as TD3's machinery with one critic."""

from xagents.ddpg.config import DDPGConfig
from xagents.td3.agent import TD3


class DDPG(TD3):
    """DDPG (Lillicrap et al. 2016): one critic, actor and targets updated every step, no target smoothing.

    The configuration fixes TD3's extras off (see :class:`DDPGConfig`). Deviations from
    the paper, as in TD3's revision of it and Stable-Baselines3: Gaussian rather than
    Ornstein-Uhlenbeck exploration noise, no weight decay, actions fed to the first
    critic layer, and updates every ``train_frequency`` steps, ``gradient_steps`` at a time.
    """

    Config = DDPGConfig
