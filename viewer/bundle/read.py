"""Reading a bundle: bundle.json into its record, the hashes, and embedding.npz member by member (numpy only).

A bundle may come from a stranger, so every size is checked against the limits (format.py) before anything
is allocated. A large embedding's uncompressed images are memory-mapped: a million 28x28 digits are 784 MB,
which then cost only the pages the viewer shows.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from latent_common.errors import printable, reason
from latent_common.files import is_dir, kind_of, open_regular, read_json, shown
from latent_common.npz import map_member, read_member, stored
from viewer.bundle.contract import check_no_external_data, shape_text
from viewer.bundle.format import (
    DATA_FILES,
    DECODER,
    EMBEDDING,
    ENCODER,
    LATENT_LIMIT,
    MAX_EMBEDDING_BYTES,
    MAX_METADATA_BYTES,
    MAX_POINTS,
    METADATA,
    BundleError,
    BundleMeta,
    sha256_file,
)


@dataclass
class Bundle:
    path: Path
    meta: BundleMeta  # bundle.json
    z: np.ndarray  # (M, D) float32 latents of the test images
    labels: np.ndarray  # (M,) uint8 class index
    images: np.ndarray  # uint8 test images as stored: (M, C, H, W), or (M, H, W) in format 1
    warnings: list[str]
    errors: np.ndarray | None = None  # (M,) float32 per-image reconstruction MSE, when export stored it
    unhashed: tuple[str, ...] = ()  # data files whose hash load_bundle left to verify.check_later

    @property
    def latent_dim(self) -> int:
        return self.meta.latent_dim

    @property
    def image_shape(self) -> tuple[int, ...]:
        """As the graphs declare it: (C, H, W), or (H, W) in format 1."""
        return tuple(self.meta.image_shape)

    @property
    def chw(self) -> tuple[int, int, int]:
        """(C, H, W) of an image: format 1's grey (H, W) images have one channel."""
        shape = self.image_shape
        return shape if len(shape) == 3 else (1, *shape)

    @property
    def images_chw(self) -> np.ndarray:
        """The test images as uint8 (M, C, H, W), a view whatever the stored layout."""
        return self.images if self.images.ndim == 4 else self.images[:, None]

    @property
    def class_names(self) -> list[str]:
        return self.meta.class_names

    @property
    def bounds(self) -> np.ndarray:
        return np.asarray(self.meta.latent_bounds, dtype=np.float64)  # (D, 2): low, high per dimension

    @property
    def name(self) -> str:
        return self.meta.name

    @property
    def dataset(self) -> str:
        return self.meta.dataset

    @property
    def model_config(self) -> dict[str, Any]:
        return self.meta.model_config

    @property
    def kind(self) -> str:
        return self.meta.kind

    @property
    def variational(self) -> bool:
        return self.meta.variational

    @property
    def test_mse(self) -> float | None:
        return self.meta.test_mse

    @property
    def knn_accuracy(self) -> float | None:
        return self.meta.knn_accuracy

    @property
    def training_history(self) -> list[dict[str, Any]]:
        return self.meta.training_history

    @property
    def versions(self) -> dict[str, Any]:
        return self.meta.versions

    @property
    def background(self) -> tuple[int, int, int]:
        return self.meta.background


def load_bundle(path: str | Path, strict: bool = False, defer_hash: bool = False) -> Bundle:
    """Read and validate everything but running the ONNX graphs (see `check_model_io`, which needs a session).

    defer_hash: leave the embedding's SHA-256 (a pass over every point and image: ~0.4 s for a million) to
    `verify.check_later`, off the first frame's path; a mismatch is only ever a warning then, so --strict
    still checks it here."""
    path = Path(path)
    if not is_dir(path):
        raise BundleError(f"{shown(path)}: {_not_a_folder(path)}")
    meta = _read_metadata(path)
    deferred = defer_hash and not strict and _size(path / EMBEDDING) > DEFER_HASH_BYTES
    warnings = _check_hashes(path, meta, strict, skip=(EMBEDDING,) if deferred else ())
    for name in (DECODER, ENCODER):
        check_no_external_data(path / name)
    z, labels, images, errors = _read_embedding(path, meta)
    bundle = Bundle(path=path, meta=meta, z=z, labels=labels, images=images, warnings=warnings, errors=errors)
    bundle.unhashed = (EMBEDDING,) if deferred else ()
    return bundle


def _size(file: Path) -> int:
    try:
        return file.stat().st_size
    except (OSError, ValueError):  # missing: the hash check says so
        return 0


def _not_a_folder(path: Path) -> str:
    try:
        return f"is {kind_of(path.stat().st_mode)}, not a bundle directory"
    except (OSError, ValueError):  # missing, or a name the system can't look up
        return "no such bundle directory"


def _read_metadata(path: Path) -> BundleMeta:
    file = path / METADATA
    missing = "missing (not a model bundle; export one with `python -m export`)"
    data = read_json(file, MAX_METADATA_BYTES, BundleError, missing)  # a regular file, read within its limit
    return BundleMeta.from_dict(data, file)


# The data files


DEFER_HASH_BYTES = 64 << 20  # smaller embeddings hash in a few ms: checked at once, as before


def hash_warning(file: Path) -> str:
    return f"{file}: SHA-256 differs from the one in {METADATA} (file changed after export)"


def _check_hashes(path: Path, meta: BundleMeta, strict: bool, skip: tuple[str, ...] = ()) -> list[str]:
    warnings = []
    for name in (name for name in DATA_FILES if name not in skip):
        file = path / name
        expected = meta.files.get(name)
        try:
            with open_regular(file, BundleError, "missing") as handle:  # a FIFO or /dev/zero is refused here
                actual = sha256_file(handle)
        except OSError as exc:
            raise BundleError(f"{file}: cannot read ({exc.strerror or reason(exc)})") from None
        if expected != actual:
            message = hash_warning(file)
            if strict:
                raise BundleError(message)
            warnings.append(message)
    return warnings


# embedding.npz, read member by member: each .npy header is checked before its data is read, so a
# declared size beyond the limits (or a deflate bomb, which must declare what it inflates to) costs nothing.
EMBEDDING_ARRAYS = {
    "z": np.dtype(np.float32),
    "labels": np.dtype(np.uint8),
    "images": np.dtype(np.uint8),
    "errors": np.dtype(np.float32),  # optional: bundles without it still open, the view computes it on first use
}
MAP_HINT = "; store the images uncompressed (np.savez) so the viewer memory-maps them instead"


def _check_header(file: Path, key: str, dtype: np.dtype, shape: tuple, expected: tuple) -> None:
    """dtype and shape as declared against the contract; None in expected: any count from 1 to MAX_POINTS."""
    want = EMBEDDING_ARRAYS[key]
    if dtype.hasobject:
        raise BundleError(f"{file}: '{key}' holds pickled Python objects, which are refused")
    if dtype.fields is not None or dtype.newbyteorder("=") != want:
        raise BundleError(f"{file}: '{key}' must be {want}, got {printable(str(dtype), 60)}")
    text = shape_text(list(expected)).replace("N", "M")
    if len(shape) != len(expected):
        raise BundleError(f"{file}: '{key}' must be a {want} {text} array, got shape {list(shape)}")
    if expected[0] is None and not 1 <= shape[0] <= MAX_POINTS:
        raise BundleError(f"{file}: '{key}' must hold 1 to {MAX_POINTS} points, got {shape[0]}")
    if key == "z" and shape[1] != expected[1]:
        raise BundleError(f"{file}: 'z' has latent dimension {shape[1]}, but {METADATA} says {expected[1]}")
    if any(size is not None and got != size for got, size in zip(shape, expected)):
        raise BundleError(f"{file}: '{key}' must be {want} {list(expected)}, got {dtype} {list(shape)}")


def _member(archive: zipfile.ZipFile, file: Path, key: str) -> zipfile.ZipInfo:
    try:
        return archive.getinfo(f"{key}.npy")
    except KeyError:
        raise BundleError(f"{file}: missing array '{key}'") from None


def _read_member(archive: zipfile.ZipFile, file: Path, key: str, expected: tuple, limit: int) -> np.ndarray:
    """One array of the archive through latent_common.npz's reader, its header checked against the contract and
    its size against limit before anything is read (_check_header has already fixed its dtype)."""
    hint = MAP_HINT if key == "images" else ""
    return read_member(
        archive,
        file,
        key,
        limit,
        BundleError,
        check=lambda shape, dtype: _check_header(file, key, dtype, shape, expected),
        over_limit=f"{file}: its arrays exceed the viewer's limit of {MAX_EMBEDDING_BYTES >> 20} MiB{hint}",
    )


def _map_member(file: Path, info: zipfile.ZipInfo, key: str, expected: tuple) -> np.ndarray | None:
    """A stored member mapped over the file's pages, its header checked against the contract; bundle.json's
    SHA-256 covers the file, and any bytes are valid pixels."""
    check = lambda shape, dtype: _check_header(file, key, dtype, shape, expected)  # noqa: E731
    return map_member(file, info, key, BundleError, check)


def _read_images(archive: zipfile.ZipFile, file: Path, expected: tuple, limit: int) -> np.ndarray:
    """The images, memory-mapped where the archive stores them uncompressed, else read within limit."""
    info = _member(archive, file, "images")
    mapped = _map_member(file, info, "images", expected) if stored(info) else None
    return mapped if mapped is not None else _read_member(archive, file, "images", expected, limit)


def _open_archive(file: Path) -> zipfile.ZipFile:
    open_regular(file, BundleError, "missing").close()  # a FIFO, a folder or a device: one line, not a hang
    try:
        return zipfile.ZipFile(file)
    except OSError as exc:
        raise BundleError(f"{file}: cannot read ({exc.strerror or reason(exc)})") from None
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        if _starts_like_a_zip(file):  # a zip's index sits at its end: a cut-off archive has none
            raise BundleError(f"{file}: truncated (it starts like a zip archive, but its end is missing)") from None
        raise BundleError(f"{file}: not a readable .npz archive (a zip of .npy arrays): {reason(exc, 120)}") from None


def _starts_like_a_zip(file: Path) -> bool:
    with file.open("rb") as handle:
        return handle.read(4) == b"PK\x03\x04"


def _read_embedding(path: Path, meta: BundleMeta) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    file = path / EMBEDDING
    limit = MAX_EMBEDDING_BYTES
    with _open_archive(file) as archive:
        z = _read_member(archive, file, "z", (None, meta.latent_dim), limit)
        limit -= z.nbytes
        labels = _read_member(archive, file, "labels", (len(z),), limit)
        limit -= labels.nbytes
        images = _read_images(archive, file, (len(z), *meta.image_shape), limit)
        errors = _read_member(archive, file, "errors", (len(z),), limit) if _has_member(archive, "errors") else None
    if errors is not None and not (np.isfinite(errors).all() and (errors >= 0).all()):
        raise BundleError(f"{file}: 'errors' must be finite and not negative")
    if not np.isfinite(z).all():
        raise BundleError(f"{file}: 'z' contains NaN or Inf")
    if not (np.abs(z) <= LATENT_LIMIT).all():
        raise BundleError(f"{file}: 'z' has values beyond +-{LATENT_LIMIT:g}")
    if labels.max() >= len(meta.class_names):
        raise BundleError(f"{file}: label {labels.max()} is out of range of the {len(meta.class_names)} class names")
    return z, labels, images, errors


def _has_member(archive: zipfile.ZipFile, key: str) -> bool:
    return f"{key}.npy" in archive.namelist()
