"""The one base class for problems a user can fix, and the one way a library's exception becomes its line.

Every `main()` catches `UserError`, prints `error: <message>` and exits with status 2: no traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can act on (a bad file, flag or folder); the message says what and where."""


def reason(exc: BaseException, limit: int = 200) -> str:
    """The first line of a library's exception message (onnxruntime and torch write pages), or its type."""
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else type(exc).__name__
