"""Atomic file writes (temp file in the same folder, fsync, rename): a crash never leaves half a file."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from latent_common.errors import UserError


class WriteError(UserError):
    """A write that failed (full disk, read-only folder); the file it meant to replace is unchanged."""


def write_error(path: Path, exc: OSError) -> WriteError:
    return WriteError(f"{path}: cannot write ({exc.strerror or exc}); any earlier version is unchanged")


def atomic_write(path: str | Path, write: Callable[[BinaryIO], Any], suffix: str = ".tmp") -> None:
    """Call write(handle) on a temp file beside path, then rename it over path."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise write_error(path, exc) from None
        raise


def write_json(path: str | Path, data: Any) -> None:
    atomic_write(path, lambda handle: handle.write((json.dumps(data, indent=2, allow_nan=False) + "\n").encode()))


def save_png(surface, path: str | Path) -> None:
    """A pygame surface to a PNG, atomically."""
    import pygame  # only the callers that draw have pygame loaded; this module stays stdlib-only for the rest

    atomic_write(path, lambda handle: pygame.image.save(surface, handle, "png"), suffix=".png")
