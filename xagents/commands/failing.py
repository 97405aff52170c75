"""How a command fails: one line on stderr and an exit code (2: a user can fix it); --debug shows the traceback."""

from __future__ import annotations

import sys

from xagents._quiet import import_tensorflow

# With --debug anywhere on the command line, errors show their traceback.
DEBUG = False


def fail(message: str, code: int = 2):
    sys.stderr.write(f'xagents: error: {message}\n')
    raise SystemExit(code)


def run_guarded(runner, *args) -> int:
    """Run a command with TensorFlow loaded, turning the errors a user can cause into one line and exit 2."""
    import_tensorflow()
    from xagents.core.errors import CheckpointError, DiskFull, TrainingDiverged, error_line
    from xagents.nets.reader import ModelConfigError
    from xagents.run.history import HistoryError

    try:
        return runner(*args)
    except TrainingDiverged as error:
        if DEBUG:
            raise
        fail(f'training diverged: {error}', code=1)
    except DiskFull as error:  # the command was right, the run failed: 1, as a divergence
        if DEBUG:
            raise
        fail(str(error), code=1)
    except BrokenPipeError:  # the output's reader stopped (| head): not an error of the command, main ends quietly
        raise
    # OSError: output paths a user got wrong (a file where a folder goes, no permission).
    except (ValueError, TypeError, CheckpointError, HistoryError, ModelConfigError, OSError) as error:  # noqa: B014
        if DEBUG:
            raise
        fail(error_line(error))
