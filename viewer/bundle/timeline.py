"""Reading a bundle's timeline: the latent space at each snapshot of its training (numpy only).

bundle.json's `timeline` (TimelineInfo) lists the snapshots; timeline/latents.npz holds their test latents and
where the plot shows them, aligned onto the last snapshot (the bundle itself); timeline/step-NNNNNN.onnx is each
earlier snapshot's decoder. A bundle whose timeline/ folder is absent opens as one without a timeline (the wheel
leaves the shipped bundles' timelines out); one whose timeline files are damaged or changed is refused with
--strict, and else opens without its timeline, with a warning.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from latent_common.errors import printable, reason
from latent_common.files import is_dir, open_regular
from latent_common.npz import Stored, read_member, read_row, stored, stored_member
from viewer.bundle.contract import check_no_external_data
from viewer.bundle.format import LATENT_LIMIT, MAX_EMBEDDING_BYTES, METADATA, BundleError, sha256_file
from viewer.bundle.read import DEFER_HASH_BYTES, Bundle, hash_warning
from viewer.bundle.timeline_info import TIMELINE, TIMELINE_LATENTS, TimelineInfo

ARRAYS = ("z", "xy", "rotation", "own_mean", "plot_mean")


@dataclass
class Timeline:
    """The snapshots of a bundle's training, first (untrained) to last (the bundle itself)."""

    info: TimelineInfo
    z: np.ndarray | None  # (S, M, D) float32: the test latents at each snapshot (None: read as used, `stored`)
    xy: np.ndarray | None  # (S, M, 2) float32: where the plot shows them, aligned onto the last snapshot's plot
    rotation: np.ndarray  # (S, 2, 2): xy = (own - own_mean) @ rotation + plot_mean
    own_mean: np.ndarray  # (S, 2)
    plot_mean: np.ndarray  # (S, 2)
    decoders: list[Path]  # (S,) each snapshot's decoder.onnx; the last is the bundle's own
    # a large timeline's z and xy, left in latents.npz: each snapshot's read from `handle` and checked on first use
    stored: dict[str, Stored] = field(default_factory=dict)
    handle: BinaryIO | None = None  # latents.npz, open while the timeline is: a file replaced since is not read
    file: Path | None = None
    loaded: dict[tuple[str, int], np.ndarray] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.info.snapshots)

    @property
    def steps(self) -> np.ndarray:
        return np.array([snap["step"] for snap in self.info.snapshots])

    @property
    def epochs(self) -> np.ndarray:
        return np.array([snap["epoch"] for snap in self.info.snapshots], dtype=np.float64)

    @property
    def test_mse(self) -> np.ndarray:
        return np.array([snap["test_mse"] for snap in self.info.snapshots], dtype=np.float64)

    def at(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Snapshot index's test latents (M, D) and plot points (M, 2), float32. A large timeline's are read and
        checked here, a snapshot at a time as it is first used (finite, within the latent limit: a BundleError
        otherwise, as for a file cut short since), so that a million points' timeline costs the first frame
        nothing."""
        return self.latents(index), self.places(index)

    def places(self, index: int) -> np.ndarray:
        """(M, 2) snapshot index's plot points, checked on first use: all the moving dots need."""
        return self._checked("xy", index)

    def latents(self, index: int) -> np.ndarray:
        """(M, D) snapshot index's test latents, checked on first use."""
        return self._checked("z", index)

    def check(self) -> None:
        """Every value the window uses, now, as --info reports them (a BundleError for the first refused): each
        earlier snapshot's latents and places, and the last's places (its latents are the bundle's own)."""
        for index in range(len(self) - 1):
            self.at(index)
        self.places(len(self) - 1)

    def _checked(self, key: str, index: int) -> np.ndarray:
        if key not in self.stored:
            return getattr(self, key)[index]  # read and checked with the timeline
        if (key, index) not in self.loaded:
            row = read_row(self.handle, self.stored[key], index, self.file, key, BundleError)
            check_values(self.file, f"{key}[{index}]", row)
            self.loaded[(key, index)] = row
        return self.loaded[(key, index)]

    def own_plane(self, index: int, xy: np.ndarray) -> np.ndarray:
        """(N, 2) plot points -> (N, 2) in snapshot index's own frame (its latent, or its PCA plane): the
        alignment undone, so that decoding there is decoding in that snapshot's own latent space."""
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        return (xy - self.plot_mean[index]) @ self.rotation[index].T + self.own_mean[index]


def read_timeline(bundle: Bundle, strict: bool = False, defer_hash: bool = False) -> Timeline | None:
    """The bundle's timeline; None when bundle.json has none or the timeline/ folder is absent (see the module).

    defer_hash (not with strict): a large latents.npz's SHA-256 joins the embedding's in verify.check_later, off
    the first frame's path, as load_bundle(defer_hash=True) leaves the embedding's. A large one that differs is
    then a warning, as it is when checked here without strict: the window shows it either way."""
    info = bundle.meta.timeline
    if info is None or not is_dir(bundle.path / TIMELINE):
        return None
    try:
        return _read(bundle, info, defer_hash and not strict, strict)
    except BundleError as exc:
        if strict:
            raise
        bundle.warnings.append(f"{exc} (the bundle opens without its timeline)")
        return None


def _read(bundle: Bundle, info: TimelineInfo, defer_hash: bool, strict: bool) -> Timeline:
    latents = bundle.path / TIMELINE_LATENTS
    missing = f"missing ({METADATA} lists it in its 'timeline')"
    for name in info.files:
        file = bundle.path / name
        try:
            with open_regular(file, BundleError, missing) as handle:  # a FIFO or a folder: one line, not a hang
                large = name == TIMELINE_LATENTS and os.fstat(handle.fileno()).st_size > DEFER_HASH_BYTES
                if large and defer_hash:
                    bundle.unhashed = (*bundle.unhashed, TIMELINE_LATENTS)  # verify.check_later's
                    continue
                actual = sha256_file(handle)
        except OSError as exc:
            raise BundleError(f"{file}: cannot read ({exc.strerror or reason(exc)})") from None
        if actual != bundle.meta.files.get(name):
            if not large or strict:
                raise BundleError(f"{file}: SHA-256 differs from the one in {METADATA} (file changed after export)")
            bundle.warnings.append(hash_warning(file))  # as the window, which checks it later, only warns
        if name.endswith(".onnx"):
            check_no_external_data(file)
    count, points, dim = len(info.snapshots), len(bundle.z), bundle.latent_dim
    shapes = {"z": (count, points, dim), "xy": (count, points, 2), "rotation": (count, 2, 2)}
    shapes |= {"own_mean": (count, 2), "plot_mean": (count, 2)}
    arrays, where = read_arrays(latents, shapes)
    decoders = [bundle.path / snap["decoder"] for snap in info.snapshots]
    wide = {key: arrays[key].astype(np.float64) for key in ("rotation", "own_mean", "plot_mean")}
    handle = open_regular(latents, BundleError, missing) if where else None
    z, xy = arrays.get("z"), arrays.get("xy")
    return Timeline(info, z, xy, **wide, decoders=decoders, stored=where, handle=handle, file=latents)


LAZY_BYTES = 16 << 20  # z and xy past this, stored uncompressed, are read a snapshot at a time as they are used


def read_arrays(file: Path, shapes: dict[str, tuple[int, ...]]) -> tuple[dict[str, np.ndarray], dict[str, Stored]]:
    """float32 arrays of an .npz, each header checked against its expected shape before its data is read, all
    finite and within the latent limit; and where in the file z and xy lie when they are large and stored
    uncompressed (read and checked by Timeline as each snapshot is used, not here)."""
    if sum(int(np.prod(shape)) * 4 for shape in shapes.values()) > MAX_EMBEDDING_BYTES:
        raise BundleError(f"{file}: its arrays exceed the viewer's limit of {MAX_EMBEDDING_BYTES >> 20} MiB")
    open_regular(file, BundleError, "missing").close()  # a FIFO or a folder: one line before zipfile opens it
    arrays: dict[str, np.ndarray] = {}
    where: dict[str, Stored] = {}
    try:
        with zipfile.ZipFile(file) as archive:
            for key, shape in shapes.items():
                check = _header_check(file, key, shape)
                info = archive.getinfo(f"{key}.npy")
                if key in ("z", "xy") and stored(info) and info.file_size > LAZY_BYTES:
                    if (place := stored_member(file, info, key, BundleError, check)) is not None:
                        where[key] = place
                        continue
                arrays[key] = read_member(archive, file, key, MAX_EMBEDDING_BYTES, BundleError, check)
    except KeyError as exc:
        raise BundleError(f"{file}: missing array {reason(exc)}") from None
    except (OSError, zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise BundleError(f"{file}: not a readable timeline ({reason(exc, 120)})") from None
    for key, array in arrays.items():
        check_values(file, key, array)
    return arrays, where


def _header_check(file: Path, key: str, shape: tuple[int, ...]):
    def check(got: tuple[int, ...], dtype: np.dtype) -> None:
        if dtype.fields is not None or dtype.newbyteorder("=") != np.dtype(np.float32) or got != shape:
            raise BundleError(
                f"{file}: '{key}' must be float32 {list(shape)}, got {printable(str(dtype), 60)} {list(got)}"
            )

    return check


def check_values(file: Path | None, key: str, array: np.ndarray) -> None:
    """A timeline's values must be finite and within the latent limit, as the embedding's."""
    low, high = (float(array.min()), float(array.max())) if array.size else (0.0, 0.0)
    if not -LATENT_LIMIT <= low <= high <= LATENT_LIMIT:  # NaN fails every comparison: refused too
        raise BundleError(f"{file}: '{key}' must be finite and within +-{LATENT_LIMIT:g}")
