"""latent_common/cli.py: command(), every main's outer frame: one line and 2 for a user error, one line and 130
for Ctrl-C (also when a library wrapped it), naming a result interrupts_held already put in place."""

from __future__ import annotations

import os
import signal
import time

from latent_common import cli
from latent_common.errors import UserError


def test_a_command_ends_in_one_line_and_its_status(capsys):
    def fails() -> int:
        raise UserError("a.json: is a FIFO\x1b[2J\nsecond line")

    def interrupted() -> int:
        raise KeyboardInterrupt

    assert cli.command(fails, "unused") == 2
    assert capsys.readouterr().err == "error: a.json: is a FIFO?[2J?second line\n"
    assert cli.command(interrupted, "nothing was written") == 130
    assert capsys.readouterr().err == "interrupted: nothing was written\n"

    def interrupted_after_the_swap() -> int:
        with cli.interrupts_held("models/new"):
            pass
        raise KeyboardInterrupt

    assert cli.command(interrupted_after_the_swap, "nothing was written") == 130
    assert capsys.readouterr().err == "interrupted: models/new was already written, complete\n"


def test_an_interrupt_a_library_wrapped_is_still_an_interrupt(capsys):
    """torch.onnx.export turns a Ctrl-C during its imports into its own TorchExportError: a traceback once."""

    def wrapped() -> int:
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)  # the handler raises here
        except BaseException as exc:
            raise RuntimeError("Failed to export the model with torch.export") from exc
        return 0

    assert cli.command(wrapped, "nothing was written") == 130
    assert capsys.readouterr().err == "interrupted: nothing was written\n"
