"""Deep Deterministic Policy Gradient: a configuration of TD3 (``xagents/td3/agent.py``, its base)."""

from xagents.ddpg.config import DDPGConfig
from xagents.td3.agent import TD3


class DDPG(TD3):
    """DDPG (Lillicrap et al. 2016): one critic, actor and targets updated every step, no target smoothing.

    A configuration of :class:`~xagents.td3.agent.TD3`, its base: the config fixes TD3's
    extras off (see :class:`DDPGConfig`), as Stable-Baselines3's DDPG does. Deviations from
    the paper, as in TD3's revision of it and Stable-Baselines3: Gaussian rather than
    Ornstein-Uhlenbeck exploration noise, no weight decay, actions fed to the first
    critic layer, and updates every ``train_frequency`` steps, ``gradient_steps`` at a time.
    """

    Config = DDPGConfig
