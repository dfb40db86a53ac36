"""Command lines that fail the way every other user error does: one line on stderr, exit status 2; and that
stop the way every other command does on Ctrl-C: one line, exit status 130, the old result or the new one.

`command` is every entry point's outermost frame (each `__main__` runs its imports inside it too: a Ctrl-C
while torch loads is the same line, not a traceback). `interrupts_held` is every final swap's: the renames
that put a result in place can't be cut between, and a Ctrl-C after them says the result is complete.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from latent_common.errors import UserError, printable
from latent_common.loading import INTERRUPTED_STATUS, interrupts_while_loading  # noqa: F401 (one place to import)

ERROR_STATUS = 2
MAX_LINE = 2000  # characters of an error line: a 5,000-character path is cut, not printed whole
written: list[str] = []  # results put in place by interrupts_held during this command


def error_line(exc: BaseException) -> str:
    """The one line a user error prints: printable (a name with escapes or a newline stays on one line)."""
    return f"error: {printable(str(exc), MAX_LINE)}"


def command(body: Callable[[], int], interrupted: str) -> int:
    """body()'s status; a UserError is its one line and status 2, Ctrl-C one line and 130 (interrupted says what
    was left as it was, unless interrupts_held has since put the new result in place)."""
    received: list[int] = []  # a library may wrap the KeyboardInterrupt in its own error (torch.onnx.export does)

    def on_interrupt(signum, frame) -> None:
        received.append(signum)
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, on_interrupt)  # a KeyboardInterrupt, as Python's own, caught below
    written.clear()  # what this command has put in place, so far nothing
    try:
        return body()
    except UserError as exc:
        if not received:
            print(error_line(exc), file=sys.stderr)
            return ERROR_STATUS
        return _interrupted(interrupted)
    except KeyboardInterrupt:
        return _interrupted(interrupted)
    except Exception:
        if received:  # what a library made of the Ctrl-C: still an interrupt, not a traceback
            return _interrupted(interrupted)
        raise
    finally:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.default_int_handler)


def _interrupted(interrupted: str) -> int:
    done = f"{written[-1]} was already written, complete" if written else interrupted
    print(f"interrupted: {printable(done, MAX_LINE)}", file=sys.stderr)
    return INTERRUPTED_STATUS


@contextmanager
def interrupts_held(result: str = "") -> Iterator[None]:
    """Ctrl-C is ignored inside: the block is a result's final renames, over in milliseconds, and must not stop
    between them. result names what the block puts in place (for the line a later Ctrl-C prints)."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
        if result:
            written.append(result)
    finally:
        signal.signal(signal.SIGINT, previous)


class UsageError(UserError):
    """A flag or argument the command line does not accept."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of printing its usage and exiting (each main() prints the line),
    and whose --help shows defaults through HelpFormatter."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        raise UsageError(f"{message} (see {self.prog} --help)")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """--help with each flag's default, but only where there is one to show: not for a switch that is off
    (False), a value left unset (None), or a help text that already says what the default is."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False or "default:" in (action.help or ""):  # 0 is shown
            return action.help
        return super()._get_help_string(action)


def finite_float(text: str) -> float:
    """An argparse type: a finite number (a point on the plot; nan or inf would decode nothing)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or abs(value) > 1e6:
        raise argparse.ArgumentTypeError(f"{text} is not a finite number within +-1e6")
    return value


finite_float.__name__ = "number"  # argparse names the type in its messages


def int_in(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an integer from low to high inclusive."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is outside {low} to {high:,}")
        return value

    parse.__name__ = "integer"  # argparse names the type in its messages
    return parse
