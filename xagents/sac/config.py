"""SAC hyperparameters: the one definition of its flags, defaults and tuning types (SB3's defaults)."""

import dataclasses

from xagents.core.config import ContinuousOffPolicyConfig
from xagents.core.schema import check_range, hp, learning_rate

# The learned entropy temperature's first value when no flag sets it (SB3's).
INIT_ENT_COEF = 1.0


@dataclasses.dataclass
class SACConfig(ContinuousOffPolicyConfig):
    lr: float | str = learning_rate(3e-4, "Learning rate of the Adam optimizers (SB3's 3e-4)")
    buffer_initial_size: int | None = hp(
        100, "Random-action transitions collected before training (SB3's learning_starts)", 'int'
    )
    ent_coef: float | None = hp(
        None, 'Fixed entropy temperature alpha (default: learned, from --init-ent-coef)', 'log_uniform'
    )
    init_ent_coef: float | None = hp(
        None, f'Initial entropy temperature when it is learned (default: {INIT_ENT_COEF})', 'log_uniform', positive=True
    )
    target_entropy: float | None = hp(
        None, 'Entropy the learned temperature aims at (default: minus the action dimensions)'
    )
    twin_critics: bool = dataclasses.field(default=True, init=False)

    ALTERNATIVES = {
        ('ent_coef', 'init_ent_coef'): 'the entropy temperature (fixed, or where the learned one starts)',
        ('ent_coef', 'target_entropy'): 'the entropy temperature (fixed, or learned towards a target entropy)',
    }

    def __post_init__(self):
        super().__post_init__()
        if self.init_ent_coef is not None:
            check_range('init_ent_coef', self.init_ent_coef, 0, float('inf'), low_open=True, high_open=True)
        if self.ent_coef is not None:
            check_range('ent_coef', self.ent_coef, 0, float('inf'), low_open=True, high_open=True)


CONFIG = SACConfig
MODEL_ROLES = ('actor', 'critic')

# Per-environment defaults used when training on these environments (flags override): RL Zoo's.
PRESETS = {
    'Pendulum-v1': dict(max_steps=20_000, lr=1e-3),  # max_steps: RL Zoo's n_timesteps
    'HalfCheetah-v5': dict(max_steps=1_000_000, buffer_initial_size=10_000),
}
