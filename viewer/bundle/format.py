"""What a bundle is on disk: its file names, its format version, its limits, and bundle.json as one typed record.

`BundleMeta` is bundle.json: one field per key, each declaring its JSON kind, its default and any check of its
own, so a new optional key is one field here and nothing else. Readers get the record from `from_dict`
(which refuses, in one line, what breaks the schema or the limits); writers build it and `to_dict` it.

A key whose kind is itself a record (a class with `from_dict(value, file)` and `to_dict()`) nests: the optional
`map` (how map.npz was made; its hash sits in `files` beside the others) is `map: MapInfo | None = key(MapInfo)`,
and `timeline` (timeline_info.py: the snapshots of training, their files hashed in `files`) the same way.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from latent_common.errors import printable
from viewer.bundle.kinds import DECODER, JSON_KINDS, BundleError, is_kind
from viewer.bundle.timeline_info import TIMELINE, TimelineInfo

FORMAT_VERSION = 2
ENCODER = "encoder.onnx"
EMBEDDING = "embedding.npz"
METADATA = "bundle.json"
DATA_FILES = (DECODER, ENCODER, EMBEDDING)
NOTICE = "NOTICE"  # the licence notice for the images in embedding.npz, when bundle.json has one (a copy of it)
MAP = "map.npz"  # optional: a 2-D map of the embedding (python -m export.map; read by viewer/mapping.py)
BUNDLE_FILES = frozenset({*DATA_FILES, METADATA, NOTICE, MAP, TIMELINE})  # all a bundle holds; --force deletes no more

# Limits: generous against what the project produces (MNIST: 10,000 points of 28x28, 10 classes, D = 2..8),
# small enough that a hostile bundle is refused before it costs memory.
MAX_LATENT_DIM = 1024  # training's --latent-dim has the same ceiling
MAX_CLASSES = 256  # labels are uint8; an idx: dataset may use every value
MAX_POINTS = 2_000_000  # points in embedding.npz: a million-point embedding opens, with room to spare
MAX_IMAGE_SIDE = 256  # pixels per side of image_shape
MIN_IMAGE_SIDE = 8  # format 2; format 1 took any side from 1
CHANNELS = (1, 3)  # grey or RGB (format 2)
MAX_EMBEDDING_BYTES = 512 << 20  # the arrays read into memory, once decompressed (memory-mapped images don't count)
MAX_METADATA_BYTES = 16 << 20  # bundle.json (and a session): ours are ~10 kB; 500 MB of JSON costs 5 GB parsed
MAX_ONNX_BYTES = 512 << 20  # a graph file: ours are ~1 MB; protobuf itself stops at 2 GB
MAX_TEXT = 200  # characters in a name, a dataset or a class name
LATENT_LIMIT = 1e6  # |z| and |latent_bounds|: beyond it, distances and zoom steps lose float32 precision
MIN_SPAN = 1e-6  # the narrowest latent_bounds pair: the view divides by it

MAP_METHODS = ("umap", "tsne", "pca")
SHA256 = re.compile(r"[0-9a-f]{64}")


def sha256_file(source: Path | BinaryIO) -> str:
    """The SHA-256 of a file, given its path or an open handle (the readers pass one from open_regular)."""
    if not isinstance(source, Path):
        return _sha256(source)
    with source.open("rb") as handle:
        return _sha256(handle)


def _sha256(handle: BinaryIO) -> str:
    digest = hashlib.sha256()
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


# One bundle.json key: a dataclass field whose metadata says what JSON holds there.

Check = Callable[[Any], "str | None"]  # a value of the right kind -> what is wrong with it, or None


def key(kind: type, default: Any = None, check: Check | None = None, *, required: bool = False) -> Any:
    """A field of a bundle.json record: its JSON kind (int, float, str, list, dict, or a nested record), its default
    when the key is absent or null, a check of its value beyond the kind, and whether a file must hold it."""
    meta = {"kind": kind, "check": check, "required": required}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: copy.deepcopy(default), metadata=meta)
    return field(default=default, metadata=meta)


def required(kind: type, check: Check | None = None) -> Any:
    """A key every bundle.json has; the record cannot be built without it."""
    return field(metadata={"kind": kind, "check": check, "required": True})


def _knn_k(value: int) -> str | None:
    return None if 1 <= value <= MAX_POINTS else f"'knn_k' must be 1 to {MAX_POINTS}, got {quote(value)}"


def _model_config(value: dict) -> str | None:
    return None if is_kind(value.get("kind", ""), str) else "'model_config.kind' should be a string"


def _training_history(value: list) -> str | None:
    if all(isinstance(row, dict) for row in value):
        return None
    return "'training_history' should be a list of objects, one per epoch"


@dataclass(frozen=True)
class MapInfo:
    """How map.npz was made: bundle.json's `map` key."""

    method: str  # one of MAP_METHODS
    library: str  # the package that computed it, "umap-learn", "openTSNE" or "numpy"
    version: str  # that package's version
    seed: int  # the same bundle, method, parameters and seed give the same map
    points: int  # M: one map point per test latent, in embedding.npz's order
    fitted: int  # how many of them the method was fitted on (a seeded sample); the rest were placed on it
    embedding_sha256: str  # the embedding.npz the map was computed from (a re-export invalidates it)
    parameters: dict[str, Any] = field(default_factory=dict)  # the method's own settings: n_neighbors, ...

    @classmethod
    def from_dict(cls, value: Any, file: Path) -> MapInfo:
        """bundle.json's `map` object, checked; a BundleError naming the key otherwise."""
        if not isinstance(value, dict):
            raise BundleError(f"{file}: 'map' should be an object")
        kinds = {"method": str, "library": str, "version": str, "seed": int, "points": int, "fitted": int}
        kinds |= {"embedding_sha256": str, "parameters": dict}
        for key, kind in kinds.items():
            if key not in value:
                raise BundleError(f"{file}: 'map' has no '{key}'")
            if not isinstance(value[key], kind) or isinstance(value[key], bool):
                raise BundleError(f"{file}: 'map.{key}' should be {'an integer' if kind is int else kind.__name__}")
        if value["method"] not in MAP_METHODS:
            raise BundleError(f"{file}: 'map.method' must be one of {', '.join(MAP_METHODS)}")
        if not 1 <= value["fitted"] <= value["points"]:
            raise BundleError(f"{file}: 'map.fitted' must be 1 to map.points ({value['points']})")
        if not SHA256.fullmatch(value["embedding_sha256"]):
            raise BundleError(f"{file}: 'map.embedding_sha256' should be 64 lowercase hex digits")
        return cls(**{key: value[key] for key in kinds})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class BundleMeta:
    """bundle.json. Optional keys are what export writes when it knows them; a bundle without them still opens,
    with the defaults here (the card then says "unknown")."""

    format_version: int = key(int, FORMAT_VERSION, required=True)  # written: FORMAT_VERSION, or the older one kept
    name: str = required(str)
    dataset: str = required(str)
    class_names: list[str] = required(list)
    latent_dim: int = required(int)
    image_shape: list[int] = required(list)  # [C, H, W]; format 1: [H, W]
    latent_bounds: list[list[float]] = required(list)  # (D, 2): the view's low and high per dimension
    files: dict[str, str] = key(dict, {}, required=True)  # file name -> SHA-256; write_bundle fills it in

    test_mse: float | None = key(float)  # mean per-pixel squared error on the test split, pixels in [0, 1]
    pca_test_mse: float | None = key(float)  # the same for PCA of the same latent size, fitted on the training split
    knn_accuracy: float | None = key(float)  # leave-one-out k-NN accuracy of the test latents' classes
    knn_k: int | None = key(int, check=_knn_k)
    # ModelConfig as a dict: kind ("ae", "vae", "conv-ae", "conv-vae", "pca"), hidden, ...
    model_config: dict[str, Any] = key(dict, {}, _model_config)
    train_config: dict[str, Any] = key(dict, {})  # the training run's flags
    # one {"epoch", "train_loss", "test_mse", "seconds", ...} per epoch
    training_history: list[dict[str, Any]] = key(list, [], _training_history)
    parity_max_abs_diff: dict[str, float] = key(dict, {})  # onnxruntime vs torch on the parity samples, per graph
    versions: dict[str, Any] = key(dict, {})  # torch, onnx, onnxruntime, opset at export
    training_precision: dict[str, Any] = key(dict, {})  # {"used": "fp32" | "bf16", "requested", "probe": {...}}
    # How a picture becomes model input, as the training data was made (latent_common.images.to_model_input):
    # {"size": [H, W], "channels": C, "background": [r, g, b] (transparency is composited onto it), "resize": ...}
    preprocess: dict[str, Any] = key(dict, {})
    notice: str | None = key(str)  # licence or attribution for the images in embedding.npz, shown by --info
    map: MapInfo | None = key(MapInfo)  # a 2-D map of the embedding in map.npz (python -m export.map)
    timeline: TimelineInfo | None = key(TimelineInfo)  # the latent space as it formed (timeline/, from export)

    # Keys this version doesn't know (a newer exporter's): kept as they are, so rewriting a bundle keeps them.
    unknown: dict[str, Any] = field(default_factory=dict, metadata={"kind": None})

    # Derived from the keys above

    @property
    def kind(self) -> str:
        """The model kind; bundles from before it was recorded were plain autoencoders."""
        return self.model_config.get("kind", "ae")

    @property
    def variational(self) -> bool:
        return self.kind.endswith("vae")

    @property
    def background(self) -> tuple[int, int, int]:
        """The colour transparency was composited onto for training; black (MNIST's paper) if not recorded."""
        value = self.preprocess.get("background")
        valid = isinstance(value, list) and len(value) == 3 and all(is_kind(v, int) and 0 <= v <= 255 for v in value)
        return tuple(value) if valid else (0, 0, 0)

    # JSON

    @classmethod
    def json_fields(cls) -> list[dataclasses.Field]:
        """The fields that are bundle.json keys (every field but `unknown`)."""
        return [f for f in dataclasses.fields(cls) if f.metadata.get("kind") is not None]

    @classmethod
    def from_dict(cls, data: Any, file: Path | str = METADATA) -> BundleMeta:
        """The record of a parsed bundle.json, checked against the schema and the limits; or a BundleError.

        An optional key set to null means unknown, as if absent. Unknown keys are kept, and checked for text
        that could reach a terminal like every other string.
        """
        if not isinstance(data, dict):
            raise BundleError(f"{file}: expected a JSON object at the top level")
        known = {f.name: f for f in cls.json_fields()}
        data = {k: v for k, v in data.items() if not (k in known and v is None and not known[k].metadata["required"])}
        for name, spec in known.items():
            _check_kind(file, name, data, spec.metadata)
        for name, spec in known.items():
            check = spec.metadata["check"]
            problem = check(data[name]) if check is not None and name in data else None
            if problem:
                raise BundleError(f"{file}: {problem}")
        values = {name: _parse(data[name], known[name].metadata["kind"], file) for name in known if name in data}
        meta = cls(**values, unknown={k: v for k, v in data.items() if k not in known})
        meta.check_across_keys(file, data)
        return meta

    def to_dict(self) -> dict[str, Any]:
        """bundle.json's content: every required key, each optional one that differs from its default."""
        data = {}
        for spec in self.json_fields():
            value = getattr(self, spec.name)
            if spec.metadata["required"] or value != _default(spec):
                data[spec.name] = value.to_dict() if hasattr(value, "to_dict") else value
        return data | self.unknown

    def check_across_keys(self, file: Path | str, data: dict[str, Any]) -> None:
        """The checks that span keys: the format version, the sizes against the limits, the texts, the bounds."""
        _check_sizes(file, self)
        _check_texts(file, self, data)
        _check_bounds(file, self)


def validate_meta(data: Any, file: Path | str = METADATA) -> BundleMeta:
    """Check a bundle.json's parsed content as the viewer does (for a writer that edits the file as it is on disk,
    keys it doesn't know included); returns its record, or raises BundleError."""
    return BundleMeta.from_dict(data, file)


def _default(spec: dataclasses.Field) -> Any:
    return spec.default_factory() if spec.default_factory is not dataclasses.MISSING else spec.default


def _check_kind(file: Path | str, name: str, data: dict[str, Any], spec: Any) -> None:
    kind = spec["kind"]
    if name not in data:
        if spec["required"]:
            raise BundleError(f"{file}: missing key '{name}'")
        return
    json_kind = dict if hasattr(kind, "from_dict") else kind  # a nested record is a JSON object
    if not is_kind(data[name], json_kind):
        raise BundleError(f"{file}: '{name}' should be {JSON_KINDS[json_kind]}, got {quote(data[name])}")


def _parse(value: Any, kind: type, file: Path | str) -> Any:
    return kind.from_dict(value, file) if hasattr(kind, "from_dict") else value


def quote(value: Any) -> str:
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
            for name, child in item.items():
                yield f"{path} key", name
                stack.append((f"{path}.{name}" if path else name, child))


def _check_texts(file: Path | str, meta: BundleMeta, data: dict[str, Any]) -> None:
    """No string may hold what `printable` replaces (NUL breaks a window title, ESC the terminal, a lone
    surrogate raises when printed); the ones shown to the user have a length limit too."""
    for path, text in _strings(data, ""):
        if printable(text) != text:
            raise BundleError(
                f"{file}: '{printable(path, 60)}' holds a control character (or a format character or lone "
                f"surrogate), which could rewrite the terminal or break printing"
            )
    shown = [("name", meta.name), ("dataset", meta.dataset)]
    shown += [(f"class_names[{i}]", name) for i, name in enumerate(meta.class_names)]
    for path, text in shown:
        if len(text) > MAX_TEXT:
            raise BundleError(f"{file}: '{path}' is {len(text)} characters long; at most {MAX_TEXT} are shown")


def _check_image_shape(file: Path | str, version: int, shape: list) -> None:
    if version == 1:
        if len(shape) != 2 or not all(is_kind(n, int) and 1 <= n <= MAX_IMAGE_SIDE for n in shape):
            raise BundleError(
                f"{file}: image_shape must be two integers from 1 to {MAX_IMAGE_SIDE}, got {quote(shape)}"
            )
        return
    sides_ok = all(is_kind(n, int) and MIN_IMAGE_SIDE <= n <= MAX_IMAGE_SIDE for n in shape[1:])
    if len(shape) != 3 or shape[0] not in CHANNELS or not sides_ok:
        raise BundleError(
            f"{file}: image_shape must be [C, H, W] with C 1 or 3 and H, W from {MIN_IMAGE_SIDE} to {MAX_IMAGE_SIDE}, "
            f"got {quote(shape)}"
        )


def _check_sizes(file: Path | str, meta: BundleMeta) -> None:
    version, dim, names = meta.format_version, meta.latent_dim, meta.class_names
    if version > FORMAT_VERSION:
        raise BundleError(
            f"{file}: format version {quote(version)} is newer than this viewer reads ({FORMAT_VERSION}); "
            "update latent-explorer"
        )
    if version < 1:
        raise BundleError(f"{file}: format version must be 1 to {FORMAT_VERSION}, got {quote(version)}")
    if not 1 <= dim <= MAX_LATENT_DIM:
        raise BundleError(f"{file}: latent_dim must be 1 to {MAX_LATENT_DIM}, got {quote(dim)}")
    _check_image_shape(file, version, meta.image_shape)
    if not 1 <= len(names) <= MAX_CLASSES or not all(isinstance(name, str) for name in names):
        raise BundleError(f"{file}: class_names must be a list of 1 to {MAX_CLASSES} strings")


def _check_bounds(file: Path | str, meta: BundleMeta) -> None:
    dim, bounds = meta.latent_dim, meta.latent_bounds
    pairs = len(bounds) == dim and all(
        isinstance(pair, list) and len(pair) == 2 and all(is_kind(x, float) for x in pair) for pair in bounds
    )
    array = np.asarray(bounds, dtype=np.float64) if pairs else np.empty((0, 2))
    if not pairs or not (np.abs(array) <= LATENT_LIMIT).all() or not (array[:, 1] - array[:, 0] >= MIN_SPAN).all():
        raise BundleError(
            f"{file}: latent_bounds must be {dim} finite [low, high] pairs with low < high, "
            f"within +-{LATENT_LIMIT:g} and at least {MIN_SPAN:g} apart"
        )


def view_bounds(z: np.ndarray, coverage: float = 0.99, margin: float = 0.15) -> list[list[float]]:
    """latent_bounds for the view, per dimension: the central `coverage` of the embedded images, padded.

    A plain autoencoder scatters a few images far from the rest; framing every one of them would squeeze
    the clusters people want to explore into a corner, so the rare outliers fall outside the view.
    """
    tail = (1.0 - coverage) / 2 * 100
    low, high = np.percentile(z.astype(np.float64), [tail, 100 - tail], axis=0)
    pad = np.maximum((high - low) * margin, 1e-3)
    return [[float(lo), float(hi)] for lo, hi in zip(low - pad, high + pad)]
