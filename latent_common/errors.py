"""The one base class for problems a user can fix, and the one way a library's exception becomes its line.

Every `main()` catches `UserError`, prints `error: <message>` and exits with status 2: no traceback.
"""

from __future__ import annotations

import unicodedata

# Categories that must never reach a terminal from a file or a library: controls (ESC starts escape
# sequences, NUL and CR rewrite the line), format characters (bidi overrides reorder what is shown) and
# lone surrogates (printing one raises UnicodeEncodeError, a traceback instead of the error line).
UNPRINTABLE = {"Cc", "Cf", "Cs"}


class UserError(Exception):
    """A problem the user can act on (a bad file, flag or folder); the message says what and where."""


def printable(text: str, limit: int | None = None) -> str:
    """text with every control, format or surrogate character replaced by '?', cut to limit characters."""
    return "".join("?" if unicodedata.category(ch) in UNPRINTABLE else ch for ch in text[: limit or None])


def reason(exc: BaseException, limit: int = 200) -> str:
    """The first line of a library's exception message (onnxruntime and torch write pages), or its type.

    Library messages quote names from the files they read (an ONNX node's name, a zip member's), so the
    line is made printable: a bundle's text never reaches the user's terminal as escape sequences.
    """
    text = str(exc).strip()
    return printable(text.splitlines()[0], limit) if text else type(exc).__name__


def os_error_in(exc: BaseException) -> OSError | None:
    """The OSError behind exc, however a library wrapped it (torch.save raises a RuntimeError whose
    __context__ is the ENOSPC from the file it writes to), or None."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, OSError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None
