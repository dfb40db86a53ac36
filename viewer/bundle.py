"""The model bundle: the contract between export (which writes it) and the viewer (which reads it).

A bundle is a folder:
  decoder.onnx    z float32 [N, D] -> image float32 [N, H, W] in [0, 1], N dynamic
  encoder.onnx    image float32 [N, H, W] in [0, 1] -> z float32 [N, D]
  embedding.npz   z float32 [M, D], labels uint8 [M], images uint8 [M, H, W] (no pickles)
  bundle.json     metadata, including the SHA-256 of each file above

numpy and json only, like safetensors' core: the viewer validates a bundle without torch or onnx.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from latent_common.atomic import write_error
from latent_common.errors import UserError

FORMAT_VERSION = 1
DECODER = "decoder.onnx"
ENCODER = "encoder.onnx"
EMBEDDING = "embedding.npz"
METADATA = "bundle.json"
DATA_FILES = (DECODER, ENCODER, EMBEDDING)
REQUIRED_KEYS = {
    "format_version": int,
    "name": str,
    "dataset": str,
    "class_names": list,
    "latent_dim": int,
    "image_shape": list,
    "latent_bounds": list,
    "files": dict,
}

# Written by export when it knows them; a bundle without them still opens (the accessors say "unknown").
OPTIONAL_KEYS = {
    "test_mse": float,  # mean per-pixel squared error on the test split, pixels in [0, 1]
    "knn_accuracy": float,  # leave-one-out k-NN accuracy of the test latents' classes
    "knn_k": int,
    "model_config": dict,  # ModelConfig as a dict: kind ("ae", "vae", "conv-ae", "conv-vae"), hidden, ...
    "train_config": dict,  # the training run's flags
    "training_history": list,  # one {"epoch", "train_loss", "test_mse", "seconds", ...} per epoch
    "parity_max_abs_diff": dict,  # onnxruntime vs torch on the export's parity samples: {"decoder", "encoder"}
    "versions": dict,  # torch, onnx, onnxruntime, opset at export
}

JSON_KINDS = {int: "an integer", str: "a string", list: "a list", dict: "an object", float: "a number"}


class BundleError(UserError):
    """A bundle that breaks the contract; the message names the file and the problem."""


@dataclass
class Bundle:
    path: Path
    meta: dict[str, Any]
    z: np.ndarray  # (M, D) float32 latents of the test digits
    labels: np.ndarray  # (M,) uint8 class index
    images: np.ndarray  # (M, H, W) uint8 test digits
    warnings: list[str]

    @property
    def latent_dim(self) -> int:
        return self.meta["latent_dim"]

    @property
    def image_shape(self) -> tuple[int, int]:
        return tuple(self.meta["image_shape"])

    @property
    def class_names(self) -> list[str]:
        return self.meta["class_names"]

    @property
    def bounds(self) -> np.ndarray:
        return np.asarray(self.meta["latent_bounds"], dtype=np.float64)  # (D, 2): low, high per dimension

    @property
    def name(self) -> str:
        return self.meta["name"]

    @property
    def dataset(self) -> str:
        return self.meta["dataset"]

    @property
    def model_config(self) -> dict[str, Any]:
        return self.meta.get("model_config", {})

    @property
    def kind(self) -> str:
        """The model kind; bundles from before it was recorded were plain autoencoders."""
        return self.model_config.get("kind", "ae")

    @property
    def variational(self) -> bool:
        return self.kind.endswith("vae")

    @property
    def test_mse(self) -> float | None:
        return self.meta.get("test_mse")

    @property
    def knn_accuracy(self) -> float | None:
        return self.meta.get("knn_accuracy")

    @property
    def training_history(self) -> list[dict[str, Any]]:
        return self.meta.get("training_history", [])

    @property
    def versions(self) -> dict[str, Any]:
        return self.meta.get("versions", {})


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_kind(value: Any, kind: type) -> bool:
    if isinstance(value, bool):  # JSON true/false are never a count, a number or a name
        return False
    if kind is float:
        return isinstance(value, (int, float))
    return isinstance(value, kind)


def _read_metadata(path: Path) -> dict[str, Any]:
    file = path / METADATA
    if not file.is_file():
        raise BundleError(f"{file}: missing (not a model bundle; export one with `python -m export`)")
    try:
        meta = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{file}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise BundleError(f"{file}: expected a JSON object at the top level")
    for key, kind in REQUIRED_KEYS.items():
        if key not in meta:
            raise BundleError(f"{file}: missing key '{key}'")
        if not _is_kind(meta[key], kind):
            raise BundleError(f"{file}: '{key}' should be {JSON_KINDS[kind]}, got {json.dumps(meta[key])[:40]}")
    for key, kind in OPTIONAL_KEYS.items():
        value = meta.get(key)
        if value is not None and not _is_kind(value, kind):
            raise BundleError(f"{file}: '{key}' should be {JSON_KINDS[kind]}, got {json.dumps(value)[:40]}")
    if isinstance(meta.get("model_config"), dict) and not isinstance(meta["model_config"].get("kind", ""), str):
        raise BundleError(f"{file}: 'model_config.kind' should be a string")
    if meta["format_version"] > FORMAT_VERSION:
        raise BundleError(
            f"{file}: format version {meta['format_version']} is newer than this viewer reads ({FORMAT_VERSION}); update latent-explorer"
        )
    dim, shape, bounds = meta["latent_dim"], meta["image_shape"], meta["latent_bounds"]
    if dim < 1:
        raise BundleError(f"{file}: latent_dim must be at least 1, got {dim}")
    if len(shape) != 2 or not all(isinstance(n, int) and n > 0 for n in shape):
        raise BundleError(f"{file}: image_shape must be two positive integers, got {shape}")
    if not meta["class_names"] or not all(isinstance(name, str) for name in meta["class_names"]):
        raise BundleError(f"{file}: class_names must be a non-empty list of strings")
    try:
        bounds_array = np.asarray(bounds, dtype=np.float64)
    except (TypeError, ValueError):
        bounds_array = np.empty(0)
    if (
        bounds_array.shape != (dim, 2)
        or not np.isfinite(bounds_array).all()
        or not (bounds_array[:, 0] < bounds_array[:, 1]).all()
    ):
        raise BundleError(f"{file}: latent_bounds must be {dim} finite [low, high] pairs with low < high")
    return meta


def _check_hashes(path: Path, meta: dict[str, Any], strict: bool) -> list[str]:
    warnings = []
    for name in DATA_FILES:
        file = path / name
        if not file.is_file():
            raise BundleError(f"{file}: missing")
        expected = meta["files"].get(name)
        if expected != sha256_file(file):
            message = f"{file}: SHA-256 differs from the one in {METADATA} (file changed after export)"
            if strict:
                raise BundleError(message)
            warnings.append(message)
    return warnings


def _read_embedding(path: Path, meta: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    file = path / EMBEDDING
    try:
        with np.load(file, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in ("z", "labels", "images") if key in npz.files}
    except ValueError as exc:  # numpy's answer to a pickled array when allow_pickle=False
        raise BundleError(f"{file}: holds pickled objects, which are refused ({exc})") from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise BundleError(f"{file}: not a readable .npz archive ({exc})") from None
    for key in ("z", "labels", "images"):
        if key not in arrays:
            raise BundleError(f"{file}: missing array '{key}'")
    z, labels, images = arrays["z"], arrays["labels"], arrays["images"]
    dim, shape = meta["latent_dim"], tuple(meta["image_shape"])
    if z.dtype != np.float32 or z.ndim != 2 or len(z) == 0:
        raise BundleError(f"{file}: 'z' must be a non-empty float32 [M, D] array, got {z.dtype} {z.shape}")
    if z.shape[1] != dim:
        raise BundleError(f"{file}: 'z' has latent dimension {z.shape[1]}, but {METADATA} says {dim}")
    if not np.isfinite(z).all():
        raise BundleError(f"{file}: 'z' contains NaN or Inf")
    if labels.dtype != np.uint8 or labels.shape != (len(z),):
        raise BundleError(f"{file}: 'labels' must be uint8 [{len(z)}], got {labels.dtype} {labels.shape}")
    if labels.max() >= len(meta["class_names"]):
        raise BundleError(f"{file}: label {labels.max()} is out of range of the {len(meta['class_names'])} class names")
    if images.dtype != np.uint8 or images.shape != (len(z), *shape):
        raise BundleError(f"{file}: 'images' must be uint8 {[len(z), *shape]}, got {images.dtype} {list(images.shape)}")
    return z, labels, images


def load_bundle(path: str | Path, strict: bool = False) -> Bundle:
    """Read and validate everything but the ONNX graphs (see `check_model_io`, which needs a session)."""
    path = Path(path)
    if not path.is_dir():
        raise BundleError(f"{path}: no such bundle directory")
    meta = _read_metadata(path)
    warnings = _check_hashes(path, meta, strict)
    z, labels, images = _read_embedding(path, meta)
    return Bundle(path=path, meta=meta, z=z, labels=labels, images=images, warnings=warnings)


def _expected_io(role: str, latent_dim: int, image_shape: tuple[int, int]) -> tuple[tuple, tuple]:
    latent = ("z", [None, latent_dim])
    image = ("image", [None, *image_shape])
    return (latent, image) if role == "decoder" else (image, latent)


def check_model_io(file: Path, session: Any, role: str, latent_dim: int, image_shape: tuple[int, int]) -> None:
    """Check an onnxruntime session's single input and output against the contract for `role`."""
    for kind, actual, (name, shape) in zip(
        ("input", "output"), (session.get_inputs(), session.get_outputs()), _expected_io(role, latent_dim, image_shape)
    ):
        if len(actual) != 1:
            raise BundleError(f"{file}: the {role} must have exactly one {kind}, found {len(actual)}")
        arg = actual[0]
        if arg.name != name:
            raise BundleError(f"{file}: {role} {kind} is named '{arg.name}', expected '{name}'")
        if arg.type != "tensor(float)":
            raise BundleError(f"{file}: {role} {kind} '{name}' is {arg.type}, expected tensor(float) (float32)")
        if len(arg.shape) != len(shape):
            raise BundleError(
                f"{file}: {role} {kind} '{name}' has rank {len(arg.shape)}, expected {len(shape)} {shape_text(shape)}"
            )
        for axis, (got, want) in enumerate(zip(arg.shape, shape)):
            if want is not None and isinstance(got, int) and got != want:
                raise BundleError(
                    f"{file}: {role} {kind} '{name}' has size {got} on axis {axis}, expected {want} {shape_text(shape)}"
                )
            if want is None and isinstance(got, int) and got != -1:
                raise BundleError(f"{file}: {role} {kind} '{name}' has a fixed batch size {got}; it must be dynamic")


def shape_text(shape: list) -> str:
    return "[" + ", ".join("N" if n is None else str(n) for n in shape) + "]"


def view_bounds(z: np.ndarray, coverage: float = 0.99, margin: float = 0.15) -> list[list[float]]:
    """Latent bounds for the view, per dimension: the central `coverage` of the embedded digits, padded.

    A plain autoencoder scatters a few digits far from the rest; framing every one of them would squeeze
    the clusters people want to explore into a corner, so the rare outliers fall outside the view.
    """
    tail = (1.0 - coverage) / 2 * 100
    low, high = np.percentile(z.astype(np.float64), [tail, 100 - tail], axis=0)
    pad = np.maximum((high - low) * margin, 1e-3)
    return [[float(lo), float(hi)] for lo, hi in zip(low - pad, high + pad)]


def write_bundle(out: Path, files: dict[str, bytes | Path], meta: dict[str, Any], force: bool = False) -> None:
    """Write a bundle atomically: build it in a temp folder beside `out`, then rename it into place.

    `files` maps each of DATA_FILES to its bytes or to a file to copy. The hashes go into bundle.json.
    An existing bundle is replaced only with force, and stays whole if anything fails before the swap.
    """
    out = Path(out)
    if out.exists() and not force:
        raise BundleError(f"{out}: already exists; pass --force to replace it")
    staging = None
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
        staging.chmod(0o755)  # mkdtemp makes it private; a bundle is meant to be shared
        for name in DATA_FILES:
            source = files[name]
            if isinstance(source, Path):
                shutil.copyfile(source, staging / name)
            else:
                (staging / name).write_bytes(source)
        meta = dict(meta, format_version=FORMAT_VERSION, files={n: sha256_file(staging / n) for n in DATA_FILES})
        (staging / METADATA).write_text(json.dumps(meta, indent=2, allow_nan=False) + "\n", encoding="utf-8")
        for file in staging.iterdir():
            with file.open("rb") as handle:
                os.fsync(handle.fileno())
        if out.exists():
            retired = out.parent / f".{out.name}.old"
            shutil.rmtree(retired, ignore_errors=True)
            os.replace(out, retired)
            os.replace(staging, out)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, out)
    except BaseException as exc:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):
            raise write_error(out, exc) from None
        raise
