"""The first thing a `__main__` runs, before its imports: stdlib only, so it is in place within milliseconds.

A Ctrl-C while modules load (torch takes seconds) would otherwise be a KeyboardInterrupt traceback from
deep inside an import. Nothing has been written yet, so the handler prints one line and exits 130 at once;
latent_common.cli.command puts Python's own handler back when the command proper starts.
"""

import os
import signal
import sys

INTERRUPTED_STATUS = 130  # 128 + SIGINT, what a shell reports for a command stopped by Ctrl-C


def interrupts_while_loading(interrupted: str) -> None:
    """Until command() starts: Ctrl-C prints `interrupted: <interrupted>` and exits 130."""

    def stop(signum, frame) -> None:
        print(f"interrupted: {interrupted}", file=sys.stderr, flush=True)
        os._exit(INTERRUPTED_STATUS)

    signal.signal(signal.SIGINT, stop)


def finish(status: int) -> None:
    """The last line of a `__main__`: the command is done and has said so, so a Ctrl-C while the interpreter shuts
    down (torch takes seconds) changes nothing: it is ignored, and the status is the command's own."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(status)
