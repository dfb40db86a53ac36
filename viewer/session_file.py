"""Files a session leaves behind: the session itself (to carry on where you stopped) and the test embedding as CSV.

A session file is JSON, versioned like a bundle and written atomically:
  {"format": "latent-explorer session", "format_version": 1, "bundle": "mnist-ae", "latent_dim": 2,
   "view": [[x0, x1], [y0, y1]], "pins": [[z_1, ..., z_D], ...], "hidden_classes": [3, 7],
   "offsets": [...D - 2 numbers...], "focus": "hover", "show_map": false, "extra": {...}}
`extra` carries whatever else the viewer keeps (waypoints, the slider position, a feature direction) without a new
format version; keys a version doesn't know are ignored, so a file stays readable by the version that wrote it and
later ones. A file may come from anywhere, so every value is checked before the viewer uses it, and each problem
is one line naming the file and the key (a `SessionError`): the viewer says it and starts fresh. Latents whose
dimension isn't the bundle's are refused: the session was saved with another bundle.
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from latent_common import files
from latent_common.atomic import WriteError, atomic_write, check_writable, replaceable_mode, write_json
from latent_common.errors import UserError, printable
from viewer.bundle import LATENT_LIMIT, MIN_SPAN

FORMAT = "latent-explorer session"
FORMAT_VERSION = 1
MAX_BYTES = 4 << 20  # read like bundle.json (latent_common.files.read_json); ours are ~1 kB, 1000 8-D pins ~200 kB
MAX_PINS = 1000
MAX_OFFSET = 100.0  # in standard deviations: the keys move in steps of a tenth or so
MAX_FOCUS = 40  # characters: a mode's name


class SessionError(UserError):
    """A session file the viewer can't use; the message names the file and what is wrong with it."""


@dataclass
class Session:
    view: np.ndarray  # (2, 2) float64 plane window [[x0, x1], [y0, y1]]
    pins: list[np.ndarray] = field(default_factory=list)  # waypoints in order, (D,) float32 each
    hidden: frozenset[int] = frozenset()  # class indices not drawn
    offsets: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (D - 2,) along further PCs, std units
    focus: str = "hover"  # what drives the decode: the viewer's mode name
    show_map: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # JSON values only


def save_session(path: str | Path, session: Session, latent_dim: int, bundle_name: str = "") -> None:
    """Write the session as JSON, atomically (an earlier file survives a failed write)."""
    data = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "bundle": bundle_name,
        "latent_dim": int(latent_dim),
        "view": np.asarray(session.view, dtype=np.float64).tolist(),
        "pins": [np.asarray(pin, dtype=np.float64).tolist() for pin in session.pins],  # float32 -> exact decimals
        "hidden_classes": sorted(int(label) for label in session.hidden),
        "offsets": np.asarray(session.offsets, dtype=np.float64).tolist(),
        "focus": session.focus,
        "show_map": bool(session.show_map),
        "extra": session.extra,
    }
    write_json(path, data)  # allow_nan=False: a NaN pin is a bug, refused here rather than written


def check_savable(path: str | Path) -> None:
    """Refuse, at start, a session that couldn't be saved at quit (a read-only folder, a FIFO or a folder in its
    place): found only then, the session's pins and waypoints would be lost."""
    try:
        check_writable(Path(path).parent)
        replaceable_mode(Path(path))
    except WriteError as exc:
        raise SessionError(f"{exc}; the session could not be saved at quit, so pick another --session") from None


def load_session(
    path: str | Path, latent_dim: int, class_count: int, missing_ok: bool = False, bundle_name: str = ""
) -> Session | None:
    """Read and check a session for a bundle with this latent dimension, class count and name (a session saved
    with another bundle is refused, whatever its latent size: its view, pins and classes mean other things).

    A missing file is a SessionError, or None with missing_ok (the first run of `--session FILE`)."""
    path = Path(path)
    data = read_json(path, missing_ok)
    if data is None:
        return None
    where = printable(str(path))
    check_header(where, data, latent_dim, bundle_name)
    return Session(
        view=read_view(where, data.get("view")),
        pins=read_pins(where, data.get("pins", []), latent_dim),
        hidden=read_hidden(where, data.get("hidden_classes", []), class_count),
        offsets=read_numbers(where, "offsets", data.get("offsets", []), max(latent_dim - 2, 0), MAX_OFFSET),
        focus=read_focus(where, data.get("focus", "hover")),
        show_map=read_bool(where, "show_map", data.get("show_map", False)),
        extra=read_extra(where, data.get("extra", {})),
    )


def read_json(path: Path, missing_ok: bool) -> dict[str, Any] | None:
    """The session's JSON object, read as bundle.json is (latent_common.files.read_json): a regular file only
    (a FIFO or /dev/zero is refused, not waited on or read forever), within MAX_BYTES, nesting past Python's
    limits one line."""
    where = printable(str(path))
    if missing_ok and not os.path.lexists(path):
        return None
    data = files.read_json(
        path, MAX_BYTES, SessionError, "no such session file", refuse_constant, "not a session file: invalid JSON"
    )
    if not isinstance(data, dict):
        raise SessionError(f"{where}: not a session file (expected a JSON object)")
    return data


def refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a session can hold")


def check_header(where: str, data: dict[str, Any], latent_dim: int, bundle_name: str = "") -> None:
    if data.get("format") != FORMAT:
        raise SessionError(f'{where}: not a session file (no "format": "{FORMAT}")')
    version = data.get("format_version")
    if not is_int(version) or version < 1:
        raise SessionError(f"{where}: 'format_version' must be a positive integer")
    if version > FORMAT_VERSION:
        raise SessionError(
            f"{where}: written by a newer latent-explorer (session format {version}; this one reads up to "
            f"{FORMAT_VERSION}): upgrade, or start without it"
        )
    saved = data.get("latent_dim")
    if not is_int(saved):
        raise SessionError(f"{where}: 'latent_dim' must be an integer")
    if saved != latent_dim:
        bundle = data.get("bundle")
        named = f" (bundle {printable(bundle, 60)!r})" if isinstance(bundle, str) and bundle else ""
        raise SessionError(
            f"{where}: saved with a {saved}-D latent{named}, but this bundle's latent is {latent_dim}-D; "
            "open that bundle, or start without the session"
        )
    saved_name = data.get("bundle", "")
    if not isinstance(saved_name, str):
        raise SessionError(f"{where}: 'bundle' must be a bundle's name")
    if saved_name and bundle_name and saved_name != bundle_name:
        raise SessionError(
            f"{where}: saved with the bundle {printable(saved_name, 60)!r}, not {printable(bundle_name, 60)!r}; "
            "open that bundle, or give another session file"
        )


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # JSON true is a Python int: not a count


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def read_numbers(where: str, key: str, value: Any, count: int, limit: float) -> np.ndarray:
    """A list of count finite numbers, each within +-limit, as float64."""
    if not isinstance(value, list) or len(value) != count:
        raise SessionError(f"{where}: '{key}' must be a list of {count} numbers")
    if not all(is_number(v) and abs(v) <= limit for v in value):
        raise SessionError(f"{where}: '{key}' must hold finite numbers within +-{limit:g}")
    return np.array(value, dtype=np.float64)


def read_view(where: str, value: Any) -> np.ndarray:
    if not isinstance(value, list) or len(value) != 2:
        raise SessionError(f"{where}: 'view' must be [[x0, x1], [y0, y1]]")
    view = np.stack([read_numbers(where, "view", row, 2, LATENT_LIMIT) for row in value])
    if not (view[:, 0] < view[:, 1]).all():
        raise SessionError(f"{where}: 'view' must have x0 < x1 and y0 < y1")
    if not (view[:, 1] - view[:, 0] >= MIN_SPAN).all():  # bundle.json's bounds have the same floor
        raise SessionError(f"{where}: 'view' must be at least {MIN_SPAN:g} wide and high (the zoom's limit)")
    return view


def read_pins(where: str, value: Any, latent_dim: int) -> list[np.ndarray]:
    if not isinstance(value, list) or len(value) > MAX_PINS:
        raise SessionError(f"{where}: 'pins' must be a list of at most {MAX_PINS} latents")
    pins = []
    for number, pin in enumerate(value, start=1):
        if not isinstance(pin, list) or len(pin) != latent_dim:
            got = f"{len(pin)} numbers" if isinstance(pin, list) else "not a list"
            raise SessionError(
                f"{where}: pin {number} has {got}, but this bundle's latent has {latent_dim} dimensions "
                "(the session was saved with another bundle)"
            )
        pins.append(read_numbers(where, f"pins[{number - 1}]", pin, latent_dim, LATENT_LIMIT).astype(np.float32))
    return pins


def read_hidden(where: str, value: Any, class_count: int) -> frozenset[int]:
    if not isinstance(value, list) or not all(is_int(v) and 0 <= v < class_count for v in value):
        raise SessionError(f"{where}: 'hidden_classes' must be a list of class indices from 0 to {class_count - 1}")
    return frozenset(value)


def read_focus(where: str, value: Any) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_FOCUS or printable(value) != value:
        raise SessionError(f"{where}: 'focus' must be a mode's name (up to {MAX_FOCUS} printable characters)")
    return value


def read_bool(where: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise SessionError(f"{where}: '{key}' must be true or false")
    return value


def read_extra(where: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SessionError(f"{where}: 'extra' must be an object")
    return value


# The embedding as CSV -------------------------------------------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may run as a formula


def write_embedding_csv(
    path: str | Path,
    z: np.ndarray,
    labels: np.ndarray,
    class_names: list[str],
    plane_xy: np.ndarray,
    map_xy: np.ndarray | None = None,
) -> None:
    """One row per test image: index, label, class name, its plane position (plane x, y: the latent itself for
    D = 2, PC1 and PC2 for a projection), its map position when the bundle has a map (map x, y), and its latent
    z_1..z_D; a header row first; written atomically.

    Numbers are written with 9 significant digits, enough to read every float32 back exactly."""
    z = np.asarray(z, dtype=np.float32)
    plane_xy = np.asarray(plane_xy, dtype=np.float64)
    count = len(z)
    if map_xy is not None:  # its columns follow the plane's
        plane_xy = np.concatenate([plane_xy, np.asarray(map_xy, dtype=np.float64).reshape(count, 2)], axis=1)
    if z.ndim != 2 or np.shape(labels) != (count,) or plane_xy.shape != (count, 2 if map_xy is None else 4):
        raise ValueError(
            f"expected z (M, D), labels (M,), plane_xy (M, 2); got {list(z.shape)}, "
            f"{list(np.shape(labels))}, {list(plane_xy.shape)}"
        )
    names = [spreadsheet_safe(name) for name in class_names]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")  # quotes a name holding a comma or a quote
    places = ["plane_x", "plane_y"] + ([] if map_xy is None else ["map_x", "map_y"])
    writer.writerow(["index", "label", "class", *places, *(f"z_{i + 1}" for i in range(z.shape[1]))])
    for index in range(count):
        label = int(labels[index])
        numbers = [f"{v:.9g}" for v in (*plane_xy[index], *z[index])]
        writer.writerow([index, label, names[label], *numbers])
    atomic_write(path, lambda handle: handle.write(buffer.getvalue().encode("utf-8")), suffix=".csv")


def spreadsheet_safe(name: str) -> str:
    """A class name a spreadsheet shows as text: one starting like a formula gets a leading apostrophe (OWASP's
    advice for CSV injection), unless it is a plain number such as "-1"."""
    if name.startswith(FORMULA_STARTS):
        try:
            float(name)
        except ValueError:
            return "'" + name
    return name
