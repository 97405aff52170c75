"""PPO hyperparameters: the one definition of its flags, defaults and tuning types."""

import dataclasses

from xagents.core.config import AgentConfig
from xagents.core.schema import check_range, hp, learning_rate


@dataclasses.dataclass
class PPOConfig(AgentConfig):
    # SB3's defaults: the presets hold the Atari settings of PPO's paper (xagents 0.2's defaults).
    lr: float | str = learning_rate(3e-4, 'Learning rate of the Adam optimizer')
    n_steps: int = hp(2048, 'Steps per env in each rollout', 'categorical', positive=True)
    lam: float = hp(0.95, 'GAE lambda', 'log_uniform')
    ppo_epochs: int = hp(10, 'Passes over each rollout', 'categorical', positive=True)
    mini_batches: int = hp(32, 'Minibatches per pass', 'categorical', positive=True)
    clip_range: float | str = hp(
        0.2,
        'Clipping range of the probability ratio (lin_X: from X to 0 over --max-steps)',
        'log_uniform',
        positive=True,
        schedule=True,
        aliases=('clip_norm',),  # xagents 0.2's name: --clip-norm, clip_norm= and old runs still work
    )
    value_clip: float | None = hp(
        None, 'Clipping range of the value change (default: no value clipping)', 'log_uniform'
    )
    entropy_coef: float | str = hp(
        0.0, 'Entropy bonus coefficient (lin_X: from X to 0 over --max-steps)', 'log_uniform', schedule=True
    )
    value_loss_coef: float = hp(0.5, 'Value loss coefficient', 'log_uniform')
    grad_norm: float = hp(0.5, 'Maximum global gradient norm', 'log_uniform', positive=True)
    advantage_epsilon: float = hp(1e-8, 'Added to the advantage std when normalizing', 'log_uniform')

    def __post_init__(self):
        super().__post_init__()
        check_range('lam', self.lam, 0, 1)


CONFIG = PPOConfig
MODEL_ROLES = ('model',)

ATARI_IDS = ('PongNoFrameskip-v4', 'BreakoutNoFrameskip-v4')  # RL Zoo's Atari settings apply to every game
ATARI = dict(
    max_steps=10_000_000,  # RL Zoo's n_timesteps for Atari: the schedules run over it
    preprocess=True,
    n_envs=8,
    n_steps=128,
    mini_batches=4,
    ppo_epochs=4,
    lr='lin_2.5e-4',
    clip_range='lin_0.1',
    entropy_coef=0.01,
    opt_epsilon=1e-5,
)

# Per-environment defaults used when training on these environments (flags override).
PRESETS = {
    'CartPole-v1': dict(
        max_steps=100_000,  # RL Zoo's n_timesteps: the schedules run over it
        n_envs=8,
        n_steps=32,
        mini_batches=1,
        ppo_epochs=20,
        lam=0.8,
        gamma=0.98,
        lr='lin_1e-3',
        clip_range='lin_0.2',
        entropy_coef=0.0,
    ),
    # RL Zoo's without gSDE, on 8 envs of 256 steps with normalized rewards: 3 of 3 seeds reach a
    # training mean of -400 in 39k-49k steps (4 envs of 1,024 with raw rewards: 1 of 3 in 100k).
    'Pendulum-v1': dict(
        max_steps=100_000,  # RL Zoo's n_timesteps
        n_envs=8,
        n_steps=256,
        mini_batches=32,
        ppo_epochs=10,
        lam=0.95,
        gamma=0.9,
        lr=1e-3,
        clip_range=0.2,
        entropy_coef=0.0,
        normalize_obs=True,
        normalize_reward=True,
        opt_epsilon=1e-5,
    ),
    # RL Zoo's: 16 envs x 1024 steps in minibatches of 64, 4 epochs.
    'LunarLander-v3': dict(
        max_steps=1_000_000,  # RL Zoo's n_timesteps
        n_envs=16,
        n_steps=1024,
        mini_batches=256,
        ppo_epochs=4,
        lam=0.98,
        gamma=0.999,
        lr=3e-4,
        clip_range=0.2,
        entropy_coef=0.01,
        opt_epsilon=1e-5,
    ),
    # RL Zoo's Atari settings.
    **dict.fromkeys(ATARI_IDS, ATARI),
}
