"""Command lines that fail the way every other user error does: one line on stderr, exit status 2."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from latent_common.errors import UserError


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
