"""TensorFlow's intra-op and inter-op threads: chosen per workload (``auto``) or given, set before its first op.

TensorFlow fixes both thread pools when it runs its first op in a process. ``from_env`` sets them after the
envs are made (their observations say whether the networks have convolutions) and before the models are
built. Once they are fixed, ``auto`` keeps what the process has (a notebook that ran TensorFlow, a second
agent in one process), and a given setting that differs is refused: never ignored.

The ``auto`` rule, measured with ``benchmarks/threads.py`` on a quiet 2-core machine
(``benchmarks/results/threads.md``):

- on-policy agents (A2C, ACER, PPO, TRPO) with dense models: one intra-op and one inter-op thread. Their
  update is many small ops over epochs and minibatches, where handing ops to other threads costs more than
  it saves: PPO's CartPole iterations ran 1.12x faster, its Pendulum ones 1.06x, TRPO's CartPole ones 1.11x;
  A2C (0.94x and 0.98x) and ACER (0.99x) tied within the noise (``threads-onpolicy.md``);
- off-policy agents (DQN, DDPG, TD3, SAC) with dense models: TensorFlow's default. One intra-op thread
  tied at batch 32 and lost at batch 256 (DQN 0.70x, SAC 0.83x): a 256x256 update on 256 transitions
  splits well across cores;
- convolutional models: TensorFlow's default. One thread of each made PPO's Pong iterations 0.65x and
  DQN's Pong steps 0.69x as fast; no setting beat the default (``threads-more.md``).

Dense models act in NumPy on the host (``host_inference``): for them the threads count in the updates only.
"""

from __future__ import annotations

from collections.abc import Sequence

AUTO = 'auto'
# (intra-op, inter-op) threads; 0 is TensorFlow's default (its choice from the machine's cores).
DEFAULT = (0, 0)
# (on-policy, convolutional models) -> the threads ``auto`` sets: the one table of the rule above.
AUTO_THREADS = {
    (True, False): (1, 1),
    (True, True): DEFAULT,
    (False, False): DEFAULT,
    (False, True): DEFAULT,
}
USAGE = "takes auto or two numbers, the intra-op and inter-op threads (0: TensorFlow's default)"


def thread_setting(on_policy: bool, convolutional: bool) -> tuple[int, int]:
    """The (intra-op, inter-op) threads ``auto`` chooses for an agent's workload."""
    return AUTO_THREADS[(on_policy, convolutional)]


def thread_word(text: str) -> str | int:
    """One word of the ``--threads`` flag: ``auto`` or a count of threads (0 and up)."""
    if text == AUTO:
        return text
    try:
        count = int(text)
    except ValueError:
        raise ValueError(f'expected auto or a whole number, got {text!r}') from None
    if count < 0:
        raise ValueError(f"a count of threads is 0 (TensorFlow's default) or more, got {text}")
    return count


def checked_threads(value) -> str | tuple[int, int]:
    """``auto`` or ``(intra-op, inter-op)`` from what the flag, a config.json or Python gives (a one-line
    ValueError naming ``--threads`` otherwise)."""
    words = [value] if isinstance(value, str) else value
    if isinstance(words, Sequence) and list(words) == [AUTO]:
        return AUTO
    counts = isinstance(words, Sequence) and len(words) == 2
    counts = counts and all(isinstance(word, int) and not isinstance(word, bool) and word >= 0 for word in words)
    if not counts:
        shown = ' '.join(map(str, words)) if isinstance(words, Sequence) else repr(value)
        raise ValueError(f'--threads {USAGE}, got {shown}')
    return tuple(words)


def threads_in_use() -> tuple[int, int]:
    """TensorFlow's (intra-op, inter-op) threads in this process (0: its default)."""
    import tensorflow as tf

    threading = tf.config.threading
    return threading.get_intra_op_parallelism_threads(), threading.get_inter_op_parallelism_threads()


def use_threads(asked: str | tuple[int, int], auto: tuple[int, int]) -> tuple[int, int]:
    """Set TensorFlow's threads to ``asked`` (``auto``: to ``auto``); the (intra-op, inter-op) threads in use.

    Once TensorFlow has run an op they are fixed: ``auto`` keeps them, a setting that differs is a ValueError.
    """
    import tensorflow as tf

    wanted = auto if asked == AUTO else tuple(asked)
    if wanted == threads_in_use():  # (TensorFlow refuses its default set again after its first op, if never set)
        return wanted
    try:
        tf.config.threading.set_intra_op_parallelism_threads(wanted[0])
        tf.config.threading.set_inter_op_parallelism_threads(wanted[1])
    except RuntimeError:  # TensorFlow ran an op with others: fixed for this process
        if asked != AUTO:
            intra, inter = threads_in_use()
            raise ValueError(
                f'--threads {wanted[0]} {wanted[1]}: this process already runs TensorFlow with {intra} {inter} '
                '(fixed at its first op): give those, auto, or start a new process'
            ) from None
    return threads_in_use()
