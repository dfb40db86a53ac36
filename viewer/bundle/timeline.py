"""Reading a bundle's timeline: the latent space at each snapshot of its training (numpy only).

bundle.json's `timeline` (TimelineInfo) lists the snapshots; timeline/latents.npz holds their test latents and
where the plot shows them, aligned onto the last snapshot (the bundle itself); timeline/step-NNNNNN.onnx is each
earlier snapshot's decoder. A bundle whose timeline/ folder is absent opens as one without a timeline (the wheel
leaves the shipped bundles' timelines out); one whose timeline files are damaged or changed is refused with
--strict, and else opens without its timeline, with a warning.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from latent_common.errors import reason
from viewer.bundle.contract import check_no_external_data
from viewer.bundle.format import LATENT_LIMIT, MAX_EMBEDDING_BYTES, METADATA, BundleError, sha256_file
from viewer.bundle.read import Bundle
from viewer.bundle.timeline_info import TIMELINE, TIMELINE_LATENTS, TimelineInfo

ARRAYS = ("z", "xy", "rotation", "own_mean", "plot_mean")


@dataclass
class Timeline:
    """The snapshots of a bundle's training, first (untrained) to last (the bundle itself)."""

    info: TimelineInfo
    z: np.ndarray  # (S, M, D) float32: the test latents at each snapshot
    xy: np.ndarray  # (S, M, 2) float64: where the plot shows them, aligned onto the last snapshot's plot
    rotation: np.ndarray  # (S, 2, 2): xy = (own - own_mean) @ rotation + plot_mean
    own_mean: np.ndarray  # (S, 2)
    plot_mean: np.ndarray  # (S, 2)
    decoders: list[Path]  # (S,) each snapshot's decoder.onnx; the last is the bundle's own

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

    def own_plane(self, index: int, xy: np.ndarray) -> np.ndarray:
        """(N, 2) plot points -> (N, 2) in snapshot index's own frame (its latent, or its PCA plane): the
        alignment undone, so that decoding there is decoding in that snapshot's own latent space."""
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        return (xy - self.plot_mean[index]) @ self.rotation[index].T + self.own_mean[index]


def read_timeline(bundle: Bundle, strict: bool = False) -> Timeline | None:
    """The bundle's timeline; None when bundle.json has none or the timeline/ folder is absent (see the module)."""
    info = bundle.meta.timeline
    if info is None or not (bundle.path / TIMELINE).is_dir():
        return None
    try:
        return _read(bundle, info)
    except BundleError as exc:
        if strict:
            raise
        bundle.warnings.append(f"{exc} (the bundle opens without its timeline)")
        return None


def _read(bundle: Bundle, info: TimelineInfo) -> Timeline:
    for name in info.files:
        file = bundle.path / name
        if not file.is_file():
            raise BundleError(f"{file}: missing ({METADATA} lists it in its 'timeline')")
        try:
            actual = sha256_file(file)
        except OSError as exc:
            raise BundleError(f"{file}: cannot read ({exc.strerror or reason(exc)})") from None
        if actual != bundle.meta.files.get(name):
            raise BundleError(f"{file}: SHA-256 differs from the one in {METADATA} (file changed after export)")
        if name.endswith(".onnx"):
            check_no_external_data(file)
    count, points, dim = len(info.snapshots), len(bundle.z), bundle.latent_dim
    shapes = {"z": (count, points, dim), "xy": (count, points, 2), "rotation": (count, 2, 2)}
    shapes |= {"own_mean": (count, 2), "plot_mean": (count, 2)}
    arrays = read_arrays(bundle.path / TIMELINE_LATENTS, shapes)
    decoders = [bundle.path / snap["decoder"] for snap in info.snapshots]
    return Timeline(
        info=info,
        z=arrays["z"].astype(np.float32),
        xy=arrays["xy"].astype(np.float64),
        rotation=arrays["rotation"].astype(np.float64),
        own_mean=arrays["own_mean"].astype(np.float64),
        plot_mean=arrays["plot_mean"].astype(np.float64),
        decoders=decoders,
    )


def read_arrays(file: Path, shapes: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """float32 arrays of an .npz, each header checked against its expected shape before its data is read;
    all finite and within the latent limit."""
    if sum(int(np.prod(shape)) * 4 for shape in shapes.values()) > MAX_EMBEDDING_BYTES:
        raise BundleError(f"{file}: its arrays exceed the viewer's limit of {MAX_EMBEDDING_BYTES >> 20} MiB")
    arrays = {}
    try:
        with zipfile.ZipFile(file) as archive:
            for key, shape in shapes.items():
                with archive.open(f"{key}.npy") as stream:
                    arrays[key] = _read_npy(stream, file, key, shape)
    except KeyError as exc:
        raise BundleError(f"{file}: missing array {reason(exc)}") from None
    except (OSError, ValueError, EOFError, SyntaxError, zipfile.BadZipFile, zlib.error) as exc:
        raise BundleError(f"{file}: not a readable timeline ({reason(exc, 120)})") from None
    for key, array in arrays.items():
        if not np.isfinite(array).all() or not (np.abs(array) <= LATENT_LIMIT).all():
            raise BundleError(f"{file}: '{key}' must be finite and within +-{LATENT_LIMIT:g}")
    return arrays


def _read_npy(stream, file: Path, key: str, shape: tuple[int, ...]) -> np.ndarray:
    version = np.lib.format.read_magic(stream)
    if version not in ((1, 0), (2, 0)):
        raise BundleError(f"{file}: '{key}' is a .npy file of version {version}, which this viewer doesn't read")
    header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    got, fortran, dtype = header(stream)
    if dtype != np.dtype("<f4") or fortran or tuple(got) != shape:
        raise BundleError(f"{file}: '{key}' must be float32 {list(shape)}, got {dtype} {list(got)}")
    size = int(np.prod(shape)) * 4
    data = stream.read(size)
    if len(data) < size:
        raise BundleError(f"{file}: '{key}' is truncated")
    return np.frombuffer(data, dtype="<f4").reshape(shape)
