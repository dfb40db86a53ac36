"""Reading a bundle's timeline: the latent space at each snapshot of its training (numpy only).

bundle.json's `timeline` (TimelineInfo) lists the snapshots; timeline/latents.npz holds their test latents and
where the plot shows them, aligned onto the last snapshot (the bundle itself); timeline/step-NNNNNN.onnx is each
earlier snapshot's decoder. A bundle whose timeline/ folder is absent opens as one without a timeline (the wheel
leaves the shipped bundles' timelines out); one whose timeline files are damaged or changed is refused with
--strict, and else opens without its timeline, with a warning.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from latent_common.errors import printable, reason
from latent_common.files import open_regular
from latent_common.npz import map_member, read_member, stored
from viewer.bundle.contract import check_no_external_data
from viewer.bundle.format import LATENT_LIMIT, MAX_EMBEDDING_BYTES, METADATA, BundleError, sha256_file
from viewer.bundle.read import DEFER_HASH_BYTES, Bundle
from viewer.bundle.timeline_info import TIMELINE, TIMELINE_LATENTS, TimelineInfo

ARRAYS = ("z", "xy", "rotation", "own_mean", "plot_mean")


@dataclass
class Timeline:
    """The snapshots of a bundle's training, first (untrained) to last (the bundle itself)."""

    info: TimelineInfo
    z: np.ndarray  # (S, M, D) float32: the test latents at each snapshot
    xy: np.ndarray  # (S, M, 2) float32: where the plot shows them, aligned onto the last snapshot's plot
    rotation: np.ndarray  # (S, 2, 2): xy = (own - own_mean) @ rotation + plot_mean
    own_mean: np.ndarray  # (S, 2)
    plot_mean: np.ndarray  # (S, 2)
    decoders: list[Path]  # (S,) each snapshot's decoder.onnx; the last is the bundle's own
    # (key, snapshot) of memory-mapped z and xy not yet looked at: checked on first use (at, places, latents)
    unchecked: set[tuple[str, int]] = field(default_factory=set)
    file: Path | None = None  # where z and xy are, for the words of a value `at` refuses

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
        """Snapshot index's test latents (M, D) and plot points (M, 2), float32. A memory-mapped timeline's are
        checked here, a snapshot at a time as it is first used (finite, within the latent limit: a BundleError
        otherwise), so that a million points' timeline costs the first frame nothing."""
        return self.latents(index), self.places(index)

    def places(self, index: int) -> np.ndarray:
        """(M, 2) snapshot index's plot points, checked on first use: all the moving dots need."""
        return self._checked("xy", index)

    def latents(self, index: int) -> np.ndarray:
        """(M, D) snapshot index's test latents, checked on first use."""
        return self._checked("z", index)

    def check(self) -> None:
        """Every snapshot's values now, as --info reports them (a BundleError for the first refused)."""
        for index in range(len(self)):
            self.at(index)

    def _checked(self, key: str, index: int) -> np.ndarray:
        array = getattr(self, key)[index]
        if (key, index) in self.unchecked:
            check_values(self.file, f"{key}[{index}]", array)
            self.unchecked.discard((key, index))
        return array

    def own_plane(self, index: int, xy: np.ndarray) -> np.ndarray:
        """(N, 2) plot points -> (N, 2) in snapshot index's own frame (its latent, or its PCA plane): the
        alignment undone, so that decoding there is decoding in that snapshot's own latent space."""
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        return (xy - self.plot_mean[index]) @ self.rotation[index].T + self.own_mean[index]


def read_timeline(bundle: Bundle, strict: bool = False, defer_hash: bool = False) -> Timeline | None:
    """The bundle's timeline; None when bundle.json has none or the timeline/ folder is absent (see the module).

    defer_hash (not with strict): a large latents.npz's SHA-256 joins the embedding's in verify.check_later, off
    the first frame's path, as load_bundle(defer_hash=True) leaves the embedding's."""
    info = bundle.meta.timeline
    if info is None or not (bundle.path / TIMELINE).is_dir():
        return None
    try:
        return _read(bundle, info, defer_hash and not strict)
    except BundleError as exc:
        if strict:
            raise
        bundle.warnings.append(f"{exc} (the bundle opens without its timeline)")
        return None


def _read(bundle: Bundle, info: TimelineInfo, defer_hash: bool) -> Timeline:
    latents = bundle.path / TIMELINE_LATENTS
    deferred = defer_hash and latents.is_file() and latents.stat().st_size > DEFER_HASH_BYTES
    for name in info.files:
        file = bundle.path / name
        if not file.is_file():
            raise BundleError(f"{file}: missing ({METADATA} lists it in its 'timeline')")
        if deferred and name == TIMELINE_LATENTS:
            continue
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
    arrays, mapped = read_arrays(latents, shapes)  # mapped: the keys of those memory-mapped
    if deferred:
        bundle.unhashed = (*bundle.unhashed, TIMELINE_LATENTS)
    decoders = [bundle.path / snap["decoder"] for snap in info.snapshots]
    wide = {key: arrays[key].astype(np.float64) for key in ("rotation", "own_mean", "plot_mean")}
    unchecked = {(key, index) for key in mapped for index in range(count)}
    return Timeline(info, arrays["z"], arrays["xy"], **wide, decoders=decoders, unchecked=unchecked, file=latents)


MAP_BYTES = 16 << 20  # z and xy past this are memory-mapped where stored uncompressed, and checked as shown


def read_arrays(file: Path, shapes: dict[str, tuple[int, ...]]) -> tuple[dict[str, np.ndarray], set[str]]:
    """float32 arrays of an .npz, each header checked against its expected shape before its data is read, and
    which of z and xy were memory-mapped (left to Timeline to check as used); all the others are checked here:
    finite and within the latent limit."""
    if sum(int(np.prod(shape)) * 4 for shape in shapes.values()) > MAX_EMBEDDING_BYTES:
        raise BundleError(f"{file}: its arrays exceed the viewer's limit of {MAX_EMBEDDING_BYTES >> 20} MiB")
    open_regular(file, BundleError, "missing").close()  # a FIFO or a folder: one line before zipfile opens it
    arrays: dict[str, np.ndarray] = {}
    mapped: set[str] = set()
    try:
        with zipfile.ZipFile(file) as archive:
            for key, shape in shapes.items():
                check = _header_check(file, key, shape)
                info = archive.getinfo(f"{key}.npy")
                if key in ("z", "xy") and stored(info) and info.file_size > MAP_BYTES:
                    if (array := map_member(file, info, key, BundleError, check)) is not None:
                        arrays[key] = array
                        mapped.add(key)
                        continue
                arrays[key] = read_member(archive, file, key, MAX_EMBEDDING_BYTES, BundleError, check)
    except KeyError as exc:
        raise BundleError(f"{file}: missing array {reason(exc)}") from None
    except (OSError, zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise BundleError(f"{file}: not a readable timeline ({reason(exc, 120)})") from None
    for key, array in arrays.items():
        if key not in mapped:
            check_values(file, key, array)
    return arrays, mapped


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
