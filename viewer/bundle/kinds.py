"""What every bundle record is built on: the error type, the JSON kinds and their test, the decoder's file name.

Its own module so the nested records (timeline_info.py) and bundle.json's record (format.py) share them.
"""

from __future__ import annotations

import math
from typing import Any

from latent_common.errors import UserError

DECODER = "decoder.onnx"
JSON_KINDS = {int: "an integer", str: "a string", list: "a list", dict: "an object", float: "a number"}


class BundleError(UserError):
    """A bundle that breaks the contract; the message names the file and the problem."""


def is_kind(value: Any, kind: type) -> bool:
    if isinstance(value, bool):  # JSON true/false are never a count, a number or a name
        return False
    if kind is float:  # a number a float can hold: 1e400 parses as inf, a 400-digit integer doesn't fit
        return isinstance(value, (int, float)) and _finite(value)
    return isinstance(value, kind)


def _finite(value: int | float) -> bool:
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False
