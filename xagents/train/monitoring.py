"""Where training metrics go besides the history: TensorBoard event files and wandb."""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Callable, Iterator
from pathlib import Path

WANDB_PROJECT = 'xagents'
WANDB_INIT_TIMEOUT = 30
# wandb's service process writes a run's file (run-<id>.wandb, what ``wandb sync`` uploads) in 32 KiB
# blocks, and the last block only when it closes the run, which run.finish() asks for without waiting
# (under load fit returned with 7 bytes written, the rest a few ms later): close waits for the run's
# exit record, its last, so the file is complete when fit returns. Past the timeout training goes on.
RUN_FILE_BLOCK = 32768
RUN_FILE_HEADER = 7
RUN_FILE_TIMEOUT = 60.0
# The x axis of every wandb chart: the environment step each value belongs to. Episodes are logged at
# the steps they ended, before those of the update logged just before them: wandb drops values logged
# at a step below its own, so its own step only counts the logs and the charts use this one.
STEP_METRIC = 'env_step'


class Monitor:
    """TensorBoard scalars (``tensorboard``) and a wandb run (``session``), either or both.

    Without a wandb account or network the wandb run is offline, in the run directory's
    ``wandb/`` folder (upload it later with ``wandb sync``), and ``console`` says so in
    one line; training never fails for want of wandb.

    Args:
        output_dir: The run directory.
        tensorboard: Write event files to ``<output_dir>/tensorboard``.
        session: Name of the wandb run (None: no wandb).
        config: The run's configuration, stored with the wandb run.
        console: Prints a line for the user.
    """

    def __init__(
        self,
        output_dir: str | os.PathLike,
        tensorboard: bool = False,
        session: str | None = None,
        config: dict | None = None,
        console: Callable[[str], None] = print,
    ):
        self.output_dir = Path(output_dir)
        self.console = console
        self.writer = None
        self.wandb_run = None
        if tensorboard:
            import tensorflow as tf

            self.writer = tf.summary.create_file_writer(str(self.output_dir / 'tensorboard'))
        if session is not None:
            self.wandb_run = self._start_wandb(session, config or {}, console)

    def _start_wandb(self, session: str, config: dict, console):
        import wandb

        settings = {'silent': True, 'console': 'off', 'disable_git': True, 'x_disable_stats': True}
        options = {
            'project': os.environ.get('WANDB_PROJECT', WANDB_PROJECT),
            'name': session,
            'config': config,
            'dir': str(self.output_dir),
        }
        mode = os.environ.get('WANDB_MODE', 'online')
        if mode == 'offline':
            reason = 'WANDB_MODE=offline'
        else:
            try:
                run = wandb.init(**options, settings=wandb.Settings(init_timeout=WANDB_INIT_TIMEOUT, **settings))
                return _stepped_by_env_steps(run)
            except Exception as error:  # no account, no network, server refusing: all mean offline
                reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        run = wandb.init(**options, mode='offline', settings=wandb.Settings(**settings))
        folder = Path(run.dir).parent
        console(f'wandb offline ({reason}): logging to {folder}; upload later with: wandb sync {folder}')
        return _stepped_by_env_steps(run)

    def scalars(self, step: int, values: dict[str, float]) -> None:
        if self.writer is not None:
            import tensorflow as tf

            with self.writer.as_default(step=step):
                for name, value in values.items():
                    tf.summary.scalar(name, value)
        if self.wandb_run is not None:
            self.wandb_run.log({**values, STEP_METRIC: step})

    def video(self, step: int, path: str | os.PathLike, name: str = 'video') -> None:
        if self.wandb_run is not None:
            import wandb

            self.wandb_run.log({name: wandb.Video(str(path), format='mp4'), STEP_METRIC: step})

    def flush(self) -> None:
        if self.writer is not None:
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        if self.wandb_run is not None:
            run, self.wandb_run = self.wandb_run, None
            run.finish()
            path = Path(run.settings.sync_file)  # none with WANDB_MODE=disabled
            if path.is_file() and not wait_until_written(path):
                self.console(f'wandb is still writing {path}: it is complete once this process has ended')


def _stepped_by_env_steps(run):
    """``run`` with every metric charted against :data:`STEP_METRIC`."""
    run.define_metric(STEP_METRIC)
    run.define_metric('*', step_metric=STEP_METRIC)
    return run


def run_file_records(path: str | os.PathLike, start_block: int = 0) -> Iterator:
    """The records of wandb run file ``path`` from block ``start_block`` on (one begun before it is skipped).

    The file is a 7-byte header, then chunks in 32 KiB blocks (a leveldb log): a 4-byte checksum,
    a 2-byte length, a 1-byte type (1 a whole record, 2 the first part of one, 3 a middle, 4 the last),
    then the bytes of a protobuf ``Record``. A block's last 6 bytes or fewer are padding.
    """
    from wandb.proto import wandb_internal_pb2

    with open(path, 'rb') as file:
        file.seek(start_block * RUN_FILE_BLOCK)
        data = file.read()
    position = RUN_FILE_HEADER if start_block == 0 else 0
    pending = None  # the parts of a record so far; None until a record's first chunk
    while position + 7 <= len(data):
        left = RUN_FILE_BLOCK - position % RUN_FILE_BLOCK
        if left < 7:
            position += left
            continue
        length, kind = struct.unpack('<HB', data[position + 4 : position + 7])
        chunk = data[position + 7 : position + 7 + length]
        if len(chunk) < length:  # still being written
            return
        position += 7 + length
        if kind in (1, 2):
            pending = chunk
        elif kind in (3, 4) and pending is not None:
            pending += chunk
        if kind in (1, 4) and pending is not None:
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            pending = None
            yield record


def wait_until_written(path: Path, timeout: float = RUN_FILE_TIMEOUT) -> bool:
    """Whether wandb run file ``path`` holds the run's exit record within ``timeout`` seconds.

    The exit record is the last one and small: the file's last two blocks hold it. wandb's service
    tells no one when it has written the file, so the file is read again every 10 ms.
    """
    from google.protobuf.message import DecodeError

    deadline = time.monotonic() + timeout
    while True:
        tail = max(0, path.stat().st_size // RUN_FILE_BLOCK - 1)
        try:
            if any(record.WhichOneof('record_type') == 'exit' for record in run_file_records(path, tail)):
                return True
        except DecodeError:  # a record read while it was being written
            pass
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
