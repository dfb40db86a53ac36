"""Reading a file someone handed us: the one way every reader opens a path, reads its bytes and parses JSON.

A path may name anything: a FIFO (opening it blocks until a writer comes), a directory, /dev/zero (whose size
reads as 0, so a size check on stat passes, and then it never ends), a 3 GB deflate bomb in 3 MB. So:
  - `open_regular` opens without blocking (O_NONBLOCK) and refuses anything that isn't a regular file, saying
    what it is ("is a FIFO", "is a directory"), checked on the opened descriptor, after symlinks are followed;
  - `read_limited` reads at most a byte limit, whatever the file's size claims;
  - `inflate` decompresses gzip/zlib data with a cap on what it produces;
  - `read_json` parses with the limits bundle.json has always had: a byte limit, and JSON past Python's
    limits (100,000 nested brackets, a 5,000-digit integer) is one error, not a traceback.
Each takes the caller's error type, so a bundle reader raises BundleError and a dataset reader DataError.
"""

from __future__ import annotations

import json
import os
import stat
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from latent_common.errors import UserError, printable, reason

KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device node"),
    (stat.S_ISBLK, "a block device node"),
)
MAX_PATH_SHOWN = 300  # characters of a path in an error line: a 5,000-character name is cut, not printed whole
GZIP_MAGIC = b"\x1f\x8b"


def shown(path: str | Path) -> str:
    """A path as an error line shows it: printable (no escapes, no newline), and cut if absurdly long."""
    text = printable(str(path))
    return text if len(text) <= MAX_PATH_SHOWN else text[: MAX_PATH_SHOWN - 3] + "..."


def is_dir(path: str | Path) -> bool:
    """Path.is_dir that answers False, not OSError, for a name the system can't even look up (5,000 characters)."""
    try:
        return Path(path).is_dir()
    except (OSError, ValueError):  # ENAMETOOLONG; ValueError: a NUL in the name
        return False


def exists(path: str | Path) -> bool:
    """Path.exists, False for a name the system can't look up."""
    try:
        return Path(path).exists()
    except (OSError, ValueError):
        return False


def kind_of(mode: int) -> str:
    """What a stat mode names, in words: 'a directory', 'a FIFO (named pipe)', ..., or 'a regular file'."""
    return next((kind for test, kind in KINDS if test(mode)), "a regular file" if stat.S_ISREG(mode) else "special")


def open_regular(path: str | Path, error: type[UserError] = UserError, missing: str = "no such file") -> BinaryIO:
    """path opened for reading in binary, refused in one line unless it is a regular file (symlinks followed).

    O_NONBLOCK makes opening a FIFO return at once instead of waiting for a writer; the descriptor's own
    fstat then says what it is, so nothing can be swapped between the check and the read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise error(f"{shown(path)}: {missing}") from None
    except OSError as exc:  # permission, a name too long, a loop of links, ENXIO for a socket
        raise error(f"{shown(path)}: cannot read ({exc.strerror or reason(exc)})") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise error(f"{shown(path)}: is {kind_of(mode)}, not a regular file; cannot read it as one")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def read_limited(
    path: str | Path, limit: int, error: type[UserError] = UserError, missing: str = "no such file"
) -> bytes:
    """The bytes of the regular file at path, refused if there are more than limit (read: never trusted to stat)."""
    with open_regular(path, error, missing) as handle:
        try:
            data = _read_upto(handle, limit + 1)
        except OSError as exc:
            raise error(f"{shown(path)}: cannot read ({exc.strerror or reason(exc)})") from None
    if len(data) > limit:
        raise error(f"{shown(path)}: too large (over {limit:,} bytes, the limit for this file)")
    return data


def _read_upto(handle: BinaryIO, most: int) -> bytes:
    """At most `most` bytes; the buffer grows with what arrives (read(n) alone allocates all n at once)."""
    expected = min(os.fstat(handle.fileno()).st_size, most)
    data = bytearray(handle.read(expected))
    while len(data) < most:
        block = handle.read(min(most - len(data), 1 << 20))
        if not block:
            break
        data += block
    return bytes(data)


def inflate(data: bytes, limit: int, where: str | Path, error: type[UserError] = UserError, wbits: int = 31) -> bytes:
    """gzip (wbits 31) or zlib data decompressed, refused once it would pass limit bytes: a bomb stops at the cap."""
    try:
        inflater = zlib.decompressobj(wbits)
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise error(f"{shown(where)}: corrupt compressed data ({reason(exc)})") from None
    if len(out) > limit:
        raise error(f"{shown(where)}: too large (inflates to over {limit:,} bytes, the limit for this file)")
    if not inflater.eof:
        raise error(f"{shown(where)}: corrupt compressed data (truncated)")
    return out


def read_json(
    path: str | Path,
    limit: int,
    error: type[UserError] = UserError,
    missing: str = "no such file",
    parse_constant: Callable[[str], Any] | None = None,
    invalid: str = "not valid JSON",
) -> Any:
    """The JSON value in the regular file at path, read within limit bytes; every failure is one error
    (invalid: the words for text that isn't JSON, before the parser's own in brackets)."""
    data = read_limited(path, limit, error, missing)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{shown(path)}: {invalid} (not UTF-8 text: {reason(exc)})") from None
    return parse_json(text, path, error, parse_constant, invalid)


def parse_json(
    text: str,
    where: str | Path,
    error: type[UserError] = UserError,
    parse_constant: Callable[[str], Any] | None = None,
    invalid: str = "not valid JSON",
) -> Any:
    """json.loads with Python's own limits as one error: nesting past the recursion limit, a 5,000-digit integer."""
    try:
        return json.loads(text, parse_constant=parse_constant)
    except (ValueError, RecursionError) as exc:  # ValueError: bad JSON, a huge integer, what parse_constant refused
        raise error(f"{shown(where)}: {invalid} ({reason(exc)})") from None
