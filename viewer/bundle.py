"""The model bundle: the contract between export (which writes it) and the viewer (which reads it).

A bundle is a folder (format 2; C = 1 or 3 channels, H and W from 8 to 256):
  decoder.onnx    z float32 [N, D] -> image float32 [N, C, H, W] in [0, 1], N dynamic
  encoder.onnx    image float32 [N, C, H, W] in [0, 1] -> z float32 [N, D]
  embedding.npz   z float32 [M, D], labels uint8 [M], images uint8 [M, C, H, W] (no pickles); optional
                  errors float32 [M]: each image's reconstruction MSE (the anomaly view)
  bundle.json     metadata (image_shape [C, H, W]), including the SHA-256 of each file above
Format 1 is the same with grey images and no channel axis: [N, H, W], image_shape [H, W]. The viewer
reads both; export writes format 2.

A large embedding should store images uncompressed (`np.savez`, not `np.savez_compressed`) so the viewer can
memory-map them: a million 28x28 digits are 784 MB, which then cost only the pages the viewer shows. A
compressed images member is read into memory, like z and labels, within MAX_EMBEDDING_BYTES.

numpy and json only, like safetensors' core: the viewer validates a bundle without torch or onnx.
A bundle may come from a stranger, so every size is checked against the limits below before anything
is allocated, every text it holds is checked before it can reach a terminal or a window title, and a
graph may load no file but the ones bundle.json hashes (ONNX external data is refused).
"""

from __future__ import annotations

import hashlib
import json
import math
import mmap
import os
import shutil
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from tokenize import TokenError
from typing import Any

import numpy as np

from latent_common.atomic import WriteError, check_writable, write_error
from latent_common.errors import UserError, printable, reason

FORMAT_VERSION = 2
DECODER = "decoder.onnx"
ENCODER = "encoder.onnx"
EMBEDDING = "embedding.npz"
METADATA = "bundle.json"
DATA_FILES = (DECODER, ENCODER, EMBEDDING)
NOTICE = "NOTICE"  # the licence notice for the images in embedding.npz, when bundle.json has one (a copy of it)
MAP = "map.npz"  # optional: a 2-D map of the embedding (python -m export.map; read by viewer/mapping.py)
BUNDLE_FILES = frozenset({*DATA_FILES, METADATA, NOTICE, MAP})  # all a bundle holds; --force deletes nothing else

# Limits: generous against what the project produces (MNIST: 10,000 points of 28x28, 10 classes, D = 2..8),
# small enough that a hostile bundle is refused before it costs memory.
MAX_LATENT_DIM = 1024  # training's --latent-dim has the same ceiling
MAX_CLASSES = 256  # labels are uint8; an idx: dataset may use every value
MAX_POINTS = 2_000_000  # points in embedding.npz: a million-point embedding opens, with room to spare
MAX_IMAGE_SIDE = 256  # pixels per side of image_shape
MIN_IMAGE_SIDE = 8  # format 2; format 1 took any side from 1
CHANNELS = (1, 3)  # grey or RGB (format 2)
MAX_EMBEDDING_BYTES = 512 << 20  # the arrays read into memory, once decompressed (memory-mapped images don't count)
MAX_TEXT = 200  # characters in a name, a dataset or a class name
LATENT_LIMIT = 1e6  # |z| and |latent_bounds|: beyond it, distances and zoom steps lose float32 precision
MIN_SPAN = 1e-6  # the narrowest latent_bounds pair: the view divides by it
MAX_ONNX_DEPTH = 32  # nested subgraphs the external-data scan follows

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
    "training_precision": dict,  # {"used": "fp32" | "bf16", "requested", "probe": {...}}: the trainer's arithmetic
    # How a picture becomes model input, as the training data was made (latent_common.images.to_model_input):
    # {"size": [H, W], "channels": C, "background": [r, g, b] (transparency is composited onto it), "resize": ...}
    "preprocess": dict,
    "notice": str,  # licence or attribution for the images in embedding.npz, shown by --info
    "map": dict,  # how map.npz was made (viewer/mapping.py MapInfo); its SHA-256 is in "files" beside the others
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
    images: np.ndarray  # uint8 test images as stored: (M, C, H, W), or (M, H, W) in format 1
    warnings: list[str]
    errors: np.ndarray | None = None  # (M,) float32 per-image reconstruction MSE, when export stored it

    @property
    def latent_dim(self) -> int:
        return self.meta["latent_dim"]

    @property
    def image_shape(self) -> tuple[int, ...]:
        """As the graphs declare it: (C, H, W), or (H, W) in format 1."""
        return tuple(self.meta["image_shape"])

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

    @property
    def background(self) -> tuple[int, int, int]:
        """The colour transparency was composited onto for training; black (MNIST's paper) if not recorded."""
        value = self.meta.get("preprocess", {}).get("background")
        valid = isinstance(value, list) and len(value) == 3 and all(_is_kind(v, int) and 0 <= v <= 255 for v in value)
        return tuple(value) if valid else (0, 0, 0)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# bundle.json


def _is_kind(value: Any, kind: type) -> bool:
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


def _quote(value: Any) -> str:
    """A JSON value as a short, printable quotation for an error line."""
    try:
        text = json.dumps(value)  # ensure_ascii: escapes every control and non-ASCII character
    except ValueError:  # a string holding a lone surrogate is still dumpable; this is belt and braces
        text = repr(value)
    return printable(text[:40] + ("..." if len(text) > 40 else ""))


def _strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """Every string in a JSON value, keys included, with where it sits; iterative, so depth can't overflow."""
    stack = [(where, value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            yield path, item
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", child) for i, child in enumerate(item))
        elif isinstance(item, dict):
            for key, child in item.items():
                yield f"{path} key", key
                stack.append((f"{path}.{key}" if path else key, child))


def _check_texts(file: Path, meta: dict[str, Any]) -> None:
    """No string may hold what `printable` replaces (NUL breaks a window title, ESC the terminal, a lone
    surrogate raises when printed); the ones shown to the user have a length limit too."""
    for path, text in _strings(meta, ""):
        if printable(text) != text:
            raise BundleError(
                f"{file}: '{printable(path, 60)}' holds a control character (or a format character or lone "
                f"surrogate), which could rewrite the terminal or break printing"
            )
    shown = [("name", meta["name"]), ("dataset", meta["dataset"])]
    shown += [(f"class_names[{i}]", name) for i, name in enumerate(meta["class_names"])]
    for path, text in shown:
        if len(text) > MAX_TEXT:
            raise BundleError(f"{file}: '{path}' is {len(text)} characters long; at most {MAX_TEXT} are shown")


def _check_types(file: Path, meta: dict[str, Any]) -> None:
    for key, kind in REQUIRED_KEYS.items():
        if key not in meta:
            raise BundleError(f"{file}: missing key '{key}'")
        if not _is_kind(meta[key], kind):
            raise BundleError(f"{file}: '{key}' should be {JSON_KINDS[kind]}, got {_quote(meta[key])}")
    for key, kind in OPTIONAL_KEYS.items():
        value = meta.get(key)
        if value is not None and not _is_kind(value, kind):
            raise BundleError(f"{file}: '{key}' should be {JSON_KINDS[kind]}, got {_quote(value)}")
    if not _is_kind(meta.get("model_config", {}).get("kind", ""), str):
        raise BundleError(f"{file}: 'model_config.kind' should be a string")
    if not all(isinstance(row, dict) for row in meta.get("training_history") or []):
        raise BundleError(f"{file}: 'training_history' should be a list of objects, one per epoch")
    if meta.get("knn_k") is not None and not 1 <= meta["knn_k"] <= MAX_POINTS:
        raise BundleError(f"{file}: 'knn_k' must be 1 to {MAX_POINTS}, got {_quote(meta['knn_k'])}")


def _check_image_shape(file: Path, version: int, shape: list) -> None:
    if version == 1:
        if len(shape) != 2 or not all(_is_kind(n, int) and 1 <= n <= MAX_IMAGE_SIDE for n in shape):
            raise BundleError(
                f"{file}: image_shape must be two integers from 1 to {MAX_IMAGE_SIDE}, got {_quote(shape)}"
            )
        return
    sides_ok = all(_is_kind(n, int) and MIN_IMAGE_SIDE <= n <= MAX_IMAGE_SIDE for n in shape[1:])
    if len(shape) != 3 or shape[0] not in CHANNELS or not sides_ok:
        raise BundleError(
            f"{file}: image_shape must be [C, H, W] with C 1 or 3 and H, W from {MIN_IMAGE_SIDE} to {MAX_IMAGE_SIDE}, "
            f"got {_quote(shape)}"
        )


def _check_sizes(file: Path, meta: dict[str, Any]) -> None:
    version, dim, shape, names = meta["format_version"], meta["latent_dim"], meta["image_shape"], meta["class_names"]
    if version > FORMAT_VERSION:
        raise BundleError(
            f"{file}: format version {_quote(version)} is newer than this viewer reads ({FORMAT_VERSION}); "
            "update latent-explorer"
        )
    if version < 1:
        raise BundleError(f"{file}: format version must be 1 to {FORMAT_VERSION}, got {_quote(version)}")
    if not 1 <= dim <= MAX_LATENT_DIM:
        raise BundleError(f"{file}: latent_dim must be 1 to {MAX_LATENT_DIM}, got {_quote(dim)}")
    _check_image_shape(file, version, shape)
    if not 1 <= len(names) <= MAX_CLASSES or not all(isinstance(name, str) for name in names):
        raise BundleError(f"{file}: class_names must be a list of 1 to {MAX_CLASSES} strings")


def _check_bounds(file: Path, meta: dict[str, Any]) -> None:
    dim, bounds = meta["latent_dim"], meta["latent_bounds"]
    pairs = len(bounds) == dim and all(
        isinstance(pair, list) and len(pair) == 2 and all(_is_kind(x, float) for x in pair) for pair in bounds
    )
    array = np.asarray(bounds, dtype=np.float64) if pairs else np.empty((0, 2))
    if not pairs or not (np.abs(array) <= LATENT_LIMIT).all() or not (array[:, 1] - array[:, 0] >= MIN_SPAN).all():
        raise BundleError(
            f"{file}: latent_bounds must be {dim} finite [low, high] pairs with low < high, "
            f"within +-{LATENT_LIMIT:g} and at least {MIN_SPAN:g} apart"
        )


def validate_meta(meta: Any, file: Path) -> dict[str, Any]:
    """Check bundle.json's content against the schema and the limits; returns it, or raises BundleError.

    export calls this too before it writes, so it never produces a bundle the viewer refuses.
    """
    if not isinstance(meta, dict):
        raise BundleError(f"{file}: expected a JSON object at the top level")
    # An optional key set to null means unknown, as if absent: the accessors then give their defaults.
    meta = {key: value for key, value in meta.items() if not (key in OPTIONAL_KEYS and value is None)}
    _check_types(file, meta)
    _check_sizes(file, meta)
    _check_texts(file, meta)
    _check_bounds(file, meta)
    return meta


def _read_metadata(path: Path) -> dict[str, Any]:
    file = path / METADATA
    if not file.is_file():
        raise BundleError(f"{file}: missing (not a model bundle; export one with `python -m export`)")
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise BundleError(f"{file}: cannot read ({exc.strerror or reason(exc)})") from None
    except UnicodeDecodeError as exc:
        raise BundleError(f"{file}: not valid JSON (not UTF-8 text: {reason(exc)})") from None
    try:
        meta = json.loads(text)
    except (ValueError, RecursionError) as exc:  # ValueError: bad JSON, or an integer of over 4,300 digits
        raise BundleError(f"{file}: not valid JSON ({reason(exc)})") from None
    return validate_meta(meta, file)


# The data files


def _check_hashes(path: Path, meta: dict[str, Any], strict: bool) -> list[str]:
    warnings = []
    for name in DATA_FILES:
        file = path / name
        if not file.is_file():
            raise BundleError(f"{file}: missing")
        expected = meta["files"].get(name)
        try:
            actual = sha256_file(file)
        except OSError as exc:
            raise BundleError(f"{file}: cannot read ({exc.strerror or reason(exc)})") from None
        if expected != actual:
            message = f"{file}: SHA-256 differs from the one in {METADATA} (file changed after export)"
            if strict:
                raise BundleError(message)
            warnings.append(message)
    return warnings


# ONNX external data: a graph may name other files to load tensors from (`decoder.onnx.data`). bundle.json
# hashes only the three data files, so such a file could be swapped unnoticed; a bundle's graphs must
# therefore hold all their tensors. The check reads the protobuf wire format directly (the viewer has no
# `onnx` package) and follows only the fields that can hold a tensor:
#   ModelProto.graph 7, .training_info 20, .functions 25; TrainingInfoProto 1, 2 (graphs);
#   FunctionProto.node 7, .attribute_proto 11; GraphProto.node 1, .initializer 5, .sparse_initializer 15;
#   NodeProto.attribute 5; AttributeProto.t 5, .g 6, .tensors 10, .graphs 11, .sparse_tensor 22,
#   .sparse_tensors 23; SparseTensorProto.values 1, .indices 2;
#   TensorProto.external_data 13, .data_location 14 (EXTERNAL = 1).
ONNX_CHILDREN = {
    "model": {7: "graph", 20: "training", 25: "function"},
    "training": {1: "graph", 2: "graph"},
    "function": {7: "node", 11: "attribute"},
    "graph": {1: "node", 5: "tensor", 15: "sparse"},
    "node": {5: "attribute"},
    "attribute": {5: "tensor", 6: "graph", 10: "tensor", 11: "graph", 22: "sparse", 23: "sparse"},
    "sparse": {1: "tensor", 2: "tensor"},
    "tensor": {},
}
TENSOR_EXTERNAL_DATA, TENSOR_DATA_LOCATION, EXTERNAL = 13, 14, 1


class _Malformed(Exception):
    pass


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise _Malformed("a varint runs past its message")
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if byte < 0x80:
            return value, pos


def _fields(data: bytes, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """(field number, wire type, value or start, end) for each field of the message in data[start:end]."""
    pos = start
    while pos < end:
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            yield number, wire, value, pos
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
            yield number, wire, 0, pos
        elif wire == 2:
            length, pos = _varint(data, pos)
            yield number, wire, pos, pos + length
            pos += length
        else:  # groups (3, 4) are not used by ONNX; anything else is not protobuf
            raise _Malformed(f"wire type {wire}")
        if pos > end:
            raise _Malformed("a field runs past its message")


def _external_tensor(data: bytes) -> bool:
    """Whether any tensor in the serialized ModelProto keeps its data in an external file."""
    stack = [("model", 0, len(data), 0)]
    while stack:
        kind, start, end, depth = stack.pop()
        if depth > MAX_ONNX_DEPTH:
            raise _Malformed(f"subgraphs nested more than {MAX_ONNX_DEPTH} deep")
        for number, wire, a, b in _fields(data, start, end):
            if kind == "tensor" and (
                number == TENSOR_EXTERNAL_DATA or (number == TENSOR_DATA_LOCATION and wire == 0 and a == EXTERNAL)
            ):
                return True
            child = ONNX_CHILDREN[kind].get(number)
            if child is not None and wire == 2:
                stack.append((child, a, b, depth + 1))
    return False


def check_no_external_data(file: Path) -> None:
    """Refuse an ONNX file that loads tensors from other files (which no hash in bundle.json covers)."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise BundleError(f"{file}: cannot read ({exc.strerror or reason(exc)})") from None
    try:
        external = _external_tensor(data)
    except _Malformed as exc:
        raise BundleError(f"{file}: not a loadable ONNX model (malformed protobuf: {exc})") from None
    if external:
        raise BundleError(
            f"{file}: keeps tensor data in a separate file (ONNX external data), which bundles refuse: "
            f"{METADATA} could not vouch for it; export the model as a single file"
        )


# embedding.npz, read member by member: each .npy header is checked before its data is read, so a
# declared size beyond the limits (or a deflate bomb, which must declare what it inflates to) costs nothing.
EMBEDDING_ARRAYS = {
    "z": np.dtype(np.float32),
    "labels": np.dtype(np.uint8),
    "images": np.dtype(np.uint8),
    "errors": np.dtype(np.float32),  # optional: bundles without it still open, the view computes it on first use
}
MAP_HINT = "; store the images uncompressed (np.savez) so the viewer memory-maps them instead"


def _npy_header(stream, file: Path, key: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran_order, dtype) from a .npy header; the data stays unread."""
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            return np.lib.format.read_array_header_1_0(stream)
        if version == (2, 0):
            return np.lib.format.read_array_header_2_0(stream)
    except (ValueError, SyntaxError, TokenError) as exc:  # numpy tokenizes old headers: garbage can raise TokenError
        raise BundleError(f"{file}: '{key}' is not a .npy array ({reason(exc, 120)})") from None
    raise BundleError(f"{file}: '{key}' is a .npy file of version {version}, which this viewer doesn't read")


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
    """One array of the archive, its header checked against expected and its size against limit first."""
    info = _member(archive, file, key)
    try:
        with archive.open(info) as stream:
            shape, fortran, dtype = _npy_header(stream, file, key)
            _check_header(file, key, dtype, tuple(shape), expected)
            size = math.prod(shape) * dtype.itemsize
            if size > limit:
                hint = MAP_HINT if key == "images" else ""
                raise BundleError(
                    f"{file}: its arrays exceed the viewer's limit of {MAX_EMBEDDING_BYTES >> 20} MiB{hint}"
                )
            data = stream.read(size)
            trailing = stream.read(1)  # reading to the end also makes zipfile check the CRC
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise BundleError(f"{file}: '{key}' is truncated or corrupt ({reason(exc, 120)})") from None
    except (NotImplementedError, RuntimeError, OSError) as exc:  # an unknown compression, encryption, I/O
        raise BundleError(f"{file}: '{key}' cannot be read ({reason(exc, 120)})") from None
    if len(data) < size:
        raise BundleError(f"{file}: '{key}' is truncated ({len(data)} of {size} data bytes)")
    if trailing:
        raise BundleError(f"{file}: '{key}' holds more data than its header declares")
    array = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
    return np.ascontiguousarray(array, dtype=EMBEDDING_ARRAYS[key])


# Memory-mapping an uncompressed member: its bytes sit in the file as they are, after the member's local
# header (30 bytes, then its name and extra field, whose lengths only the local header gives) and the .npy header.
LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, 22 bytes we don't need, name length, extra length
LOCAL_SIGNATURE = b"PK\x03\x04"


def _stored(info: zipfile.ZipInfo) -> bool:
    """Whether a member's bytes can be used in place: neither compressed nor encrypted."""
    return info.compress_type == zipfile.ZIP_STORED and not info.flag_bits & 1 and info.compress_size == info.file_size


def _map_member(file: Path, info: zipfile.ZipInfo, key: str, expected: tuple) -> np.ndarray | None:
    """A stored member as a read-only array over the file's pages, its .npy header checked first; None for
    a Fortran-ordered array (read it instead: mapped, its images would be scattered over the file).

    The zip's CRC is not checked (that would read every page): bundle.json's SHA-256 covers the file, and
    any bytes are valid pixels. The member's size must match its header exactly, as when it is read.
    """
    try:
        with file.open("rb") as handle:
            handle.seek(info.header_offset)
            local = handle.read(LOCAL_HEADER.size)
            if len(local) < LOCAL_HEADER.size or local[:4] != LOCAL_SIGNATURE:
                raise BundleError(f"{file}: '{key}' is truncated or corrupt (its local zip header is missing)")
            name_length, extra_length = LOCAL_HEADER.unpack(local)[1:]
            start = info.header_offset + LOCAL_HEADER.size + name_length + extra_length
            handle.seek(start)
            shape, fortran, dtype = _npy_header(handle, file, key)
            _check_header(file, key, dtype, tuple(shape), expected)
            if fortran:
                return None
            data_start, end = handle.tell(), start + info.compress_size
            size = math.prod(shape) * dtype.itemsize
            if data_start + size > min(end, os.fstat(handle.fileno()).st_size):
                raise BundleError(f"{file}: '{key}' is truncated (its header declares {size} data bytes)")
            if data_start + size < end:
                raise BundleError(f"{file}: '{key}' holds more data than its header declares")
            pages = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)  # stays valid once the file is closed
    except (OSError, ValueError) as exc:  # I/O, or a file mmap refuses
        raise BundleError(f"{file}: '{key}' cannot be read ({reason(exc, 120)})") from None
    return np.frombuffer(pages, dtype=EMBEDDING_ARRAYS[key], count=math.prod(shape), offset=data_start).reshape(shape)


def _read_images(archive: zipfile.ZipFile, file: Path, expected: tuple, limit: int) -> np.ndarray:
    """The images, memory-mapped where the archive stores them uncompressed, else read within limit."""
    info = _member(archive, file, "images")
    mapped = _map_member(file, info, "images", expected) if _stored(info) else None
    return mapped if mapped is not None else _read_member(archive, file, "images", expected, limit)


def _open_archive(file: Path) -> zipfile.ZipFile:
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


def _read_embedding(path: Path, meta: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    file = path / EMBEDDING
    limit = MAX_EMBEDDING_BYTES
    with _open_archive(file) as archive:
        z = _read_member(archive, file, "z", (None, meta["latent_dim"]), limit)
        limit -= z.nbytes
        labels = _read_member(archive, file, "labels", (len(z),), limit)
        limit -= labels.nbytes
        images = _read_images(archive, file, (len(z), *meta["image_shape"]), limit)
        errors = _read_member(archive, file, "errors", (len(z),), limit) if _has_member(archive, "errors") else None
    if errors is not None and not (np.isfinite(errors).all() and (errors >= 0).all()):
        raise BundleError(f"{file}: 'errors' must be finite and not negative")
    if not np.isfinite(z).all():
        raise BundleError(f"{file}: 'z' contains NaN or Inf")
    if not (np.abs(z) <= LATENT_LIMIT).all():
        raise BundleError(f"{file}: 'z' has values beyond +-{LATENT_LIMIT:g}")
    if labels.max() >= len(meta["class_names"]):
        raise BundleError(f"{file}: label {labels.max()} is out of range of the {len(meta['class_names'])} class names")
    return z, labels, images, errors


def _has_member(archive: zipfile.ZipFile, key: str) -> bool:
    return f"{key}.npy" in archive.namelist()


def load_bundle(path: str | Path, strict: bool = False) -> Bundle:
    """Read and validate everything but running the ONNX graphs (see `check_model_io`, which needs a session)."""
    path = Path(path)
    if not path.is_dir():
        raise BundleError(f"{path}: no such bundle directory")
    meta = _read_metadata(path)
    warnings = _check_hashes(path, meta, strict)
    for name in (DECODER, ENCODER):
        check_no_external_data(path / name)
    z, labels, images, errors = _read_embedding(path, meta)
    return Bundle(path=path, meta=meta, z=z, labels=labels, images=images, warnings=warnings, errors=errors)


def _expected_io(role: str, latent_dim: int, image_shape: tuple[int, int]) -> tuple[tuple, tuple]:
    latent = ("z", [None, latent_dim])
    image = ("image", [None, *image_shape])
    return (latent, image) if role == "decoder" else (image, latent)


def single_float(file: Path | str, actual: list, role: str, kind: str, name: str) -> Any:
    """The one float32 input or output (onnxruntime's NodeArg) the contract names, or a BundleError that says why."""
    if len(actual) != 1:
        raise BundleError(f"{file}: the {role} must have exactly one {kind}, found {len(actual)}")
    arg = actual[0]
    if arg.name != name:
        raise BundleError(f"{file}: {role} {kind} is named '{printable(str(arg.name), 60)}', expected '{name}'")
    if arg.type != "tensor(float)":
        raise BundleError(
            f"{file}: {role} {kind} '{name}' is {printable(str(arg.type), 60)}, expected tensor(float) (float32)"
        )
    return arg


def check_model_io(file: Path, session: Any, role: str, latent_dim: int, image_shape: tuple[int, int]) -> None:
    """Check an onnxruntime session's single input and output against the contract for `role`."""
    for kind, actual, (name, shape) in zip(
        ("input", "output"), (session.get_inputs(), session.get_outputs()), _expected_io(role, latent_dim, image_shape)
    ):
        arg = single_float(file, actual, role, kind, name)
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


# Writing


def check_replaceable(out: Path, force: bool) -> None:
    """Refuse to write a bundle at out unless nothing is there, an empty folder is, or (with force) a
    bundle and nothing but a bundle is: replacing a folder deletes everything in it. The bundle is built beside
    out, so its folder must take new files: checked here too, before any work."""
    try:
        check_writable(out.parent)
    except WriteError as exc:
        raise BundleError(f"{exc}; pick another --out (nothing was written)") from None
    if not os.path.lexists(out):
        return
    if out.is_symlink():
        raise BundleError(f"{out}: is a symbolic link; give the bundle folder itself (nothing was written)")
    if not out.is_dir():
        raise BundleError(f"{out}: is a file, not a bundle folder; pick another --out (nothing was written)")
    try:
        entries = sorted(entry.name for entry in out.iterdir())
    except OSError as exc:
        raise BundleError(f"{out}: cannot read ({exc.strerror or reason(exc)})") from None
    if not entries:
        return  # an empty folder: nothing to lose
    if METADATA not in entries:
        raise BundleError(
            f"{out}: not a bundle (no {METADATA}) and not empty; --force only ever replaces a bundle, "
            f"so pick another --out (nothing was written)"
        )
    others = [name for name in entries if name not in BUNDLE_FILES]
    if others:
        listed = ", ".join(printable(name, 60) for name in others[:3]) + (", ..." if len(others) > 3 else "")
        raise BundleError(
            f"{out}: holds {len(others)} file(s) that are not part of a bundle ({listed}); replacing it would "
            f"delete them, so nothing was written"
        )
    if not force:
        raise BundleError(f"{out}: already exists; pass --force to replace it")


def write_bundle(out: Path, files: dict[str, bytes | Path], meta: dict[str, Any], force: bool = False) -> None:
    """Write a bundle atomically: build it in a temp folder beside `out`, then rename it into place.

    `files` maps each of DATA_FILES to its bytes or to a file to copy. The hashes go into bundle.json, and
    `format_version` is FORMAT_VERSION unless meta names an older one its files follow.
    An existing bundle is replaced only with force (and only a bundle: see check_replaceable), and
    stays whole if anything fails before the swap.
    """
    out = Path(out)
    check_replaceable(out, force)
    # New bundles are the current format; rewriting a format-1 bundle's own files keeps its format.
    meta = dict(meta, format_version=meta.get("format_version", FORMAT_VERSION), files={})
    validate_meta(meta, out / METADATA)  # never write what the viewer would refuse
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
        meta["files"] = {n: sha256_file(staging / n) for n in DATA_FILES}
        (staging / METADATA).write_text(json.dumps(meta, indent=2, allow_nan=False) + "\n", encoding="utf-8")
        if meta.get("notice"):  # a licence travels with the images it covers, readable without opening JSON
            (staging / NOTICE).write_text(meta["notice"] + "\n", encoding="utf-8")
        for file in staging.iterdir():
            with file.open("rb") as handle:
                os.fsync(handle.fileno())
        check_replaceable(out, force)  # again, just before the swap: the folder may have changed meanwhile
        if os.path.lexists(out):
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
