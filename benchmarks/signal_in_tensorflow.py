"""Why training holds Ctrl-C and SIGTERM to the end of an iteration: TensorFlow crashes when a
Python signal handler raises while it converts a value.

Assigns to a Keras variable in a loop while a second process sends SIGUSR1 every few milliseconds;
the handler raises, as a handler that stopped training at once would. TensorFlow's C++ conversion
(``convert_to_eager_tensor``) runs Python's pending signal handlers, and an exception raised there
ends the process with SIGSEGV (exit -11) instead of reaching the ``except``. With ``--hold`` the
handler only records the signal and the loop raises it between assigns, as the trainer does.

    python benchmarks/signal_in_tensorflow.py [--seconds 20] [--hold]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time


class Stop(Exception):
    pass


def assign_until_stopped(seconds: float, hold: bool) -> None:
    import keras

    variable, held = keras.Variable(0.0), []

    def handler(signum, frame):
        if hold:
            held.append(signum)
        else:
            raise Stop

    signal.signal(signal.SIGUSR1, handler)
    print('ready', flush=True)
    assigns = stops = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            for _ in range(100):
                variable.assign(float(assigns))
                assigns += 1
            if held:
                held.clear()
                raise Stop
        except Stop:
            stops += 1
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)  # the parent sends until this process ends
    print(f'{assigns:,} assigns, {stops:,} signals raised as exceptions, no crash', flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seconds', type=float, default=20.0)
    parser.add_argument('--hold', action='store_true', help='record signals in the handler, raise them between assigns')
    parser.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        assign_until_stopped(args.seconds, args.hold)
        return
    command = [sys.executable, __file__, '--child', '--seconds', str(args.seconds), *(['--hold'] * args.hold)]
    environment = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '3'}
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=environment)
    child.stdout.readline()  # 'ready'
    sent = 0
    while child.poll() is None:
        child.send_signal(signal.SIGUSR1)
        sent += 1
        time.sleep(0.003)
    print(child.stdout.read().strip() or '(no output)')
    outcome = 'SIGSEGV' if child.returncode == -signal.SIGSEGV else f'exit {child.returncode}'
    print(f'{"held" if args.hold else "raised in the handler"}: {sent:,} signals sent, {outcome}')


if __name__ == '__main__':
    main()
