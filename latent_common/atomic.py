"""Atomic file writes (temp file in the same folder, fsync, rename): a crash never leaves half a file.

Only a regular file (or nothing) is ever replaced: renaming over a symlink, a device node or a folder
would destroy what the user pointed at. A new file gets the mode the umask gives any new file; a
replaced one keeps its own mode (mkstemp alone would make every file 0600).
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from latent_common.errors import UserError, os_error_in, reason
from latent_common.files import kind_of

# torch's zip writer reports a failed write in its own words when it can't pass the OSError on.
WRITE_FAILURE_WORDS = ("file write failed", "No space left on device", "Disk quota exceeded")


class WriteError(UserError):
    """A write that failed (full disk, read-only folder); the file it meant to replace is unchanged."""


def write_error(path: Path, exc: BaseException) -> WriteError:
    cause = exc.strerror if isinstance(exc, OSError) and exc.strerror else reason(exc)
    return WriteError(f"{path}: cannot write ({cause}); any earlier version is unchanged")


def failed_write(exc: BaseException) -> BaseException | None:
    """The failure behind exc if it is a failed write (an OSError, or one a library wrapped), else None."""
    if not isinstance(exc, Exception) or isinstance(exc, UserError):
        return None  # Ctrl-C, and the project's own errors, pass through as they are
    wrapped = os_error_in(exc)
    if wrapped is not None:
        return wrapped
    if isinstance(exc, RuntimeError) and any(words in str(exc) for words in WRITE_FAILURE_WORDS):
        return exc
    return None


def replaceable_mode(path: Path) -> int | None:
    """The permission bits of the regular file at path, None if nothing is there; refuses anything else."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(mode):  # named as the readers name it (latent_common.files.kind_of)
        kind = "a symbolic link" if stat.S_ISLNK(mode) else kind_of(mode)
        raise WriteError(f"{path}: is {kind}, not a regular file; refusing to replace it (pick another path)")
    return stat.S_IMODE(mode)


def new_file_mode() -> int:
    """0666 less the process umask: the mode open() would give a new file."""
    try:  # Linux >= 4.7 reports it without changing it (os.umask can only be read by setting it)
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(path: str | Path, write: Callable[[BinaryIO], Any], suffix: str = ".tmp") -> None:
    """Call write(handle) on a temp file beside path, then rename it over path (a regular file or nothing)."""
    path = Path(path)
    tmp = None
    try:
        mode = replaceable_mode(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fchmod(handle.fileno(), new_file_mode() if mode is None else mode)
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        failure = failed_write(exc)
        if failure is not None:
            raise write_error(path, failure) from None
        raise


def check_writable(folder: str | Path) -> None:
    """Raise WriteError now if files can't be written in folder (read-only, not a folder, no permission), rather
    than after minutes of work: a temp file is made and removed in it, or in the nearest existing folder above it
    when it doesn't exist yet (so nothing is left behind, not even an empty folder)."""
    folder = Path(folder)
    probe_in = folder
    while not probe_in.exists() and probe_in != probe_in.parent:
        probe_in = probe_in.parent
    try:
        fd, tmp = tempfile.mkstemp(dir=probe_in, prefix=".write-check.")
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise WriteError(f"{folder}: cannot write there ({exc.strerror or reason(exc)})") from None


def write_json(path: str | Path, data: Any) -> None:
    atomic_write(path, lambda handle: handle.write((json.dumps(data, indent=2, allow_nan=False) + "\n").encode()))


def save_png(surface, path: str | Path) -> None:
    """A pygame surface to a PNG, atomically."""
    import pygame  # only the callers that draw have pygame loaded; this module stays stdlib-only for the rest

    atomic_write(path, lambda handle: pygame.image.save(surface, handle, "png"), suffix=".png")
