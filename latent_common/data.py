"""Datasets as whole-dataset arrays, through one entry point: `load_split(dataset, root, split)`.

  mnist, fashion-mnist   torchvision's layout under root (fetched there when missing, by the caller's `fetch`)
  idx:DIR                any four IDX files with MNIST's names in DIR; this module holds the strict IDX reader
  folder:DIR, npz:FILE, emoji   pictures of any size and colour: latent_common/datasets.py

Every split holds uint8 images [N, C, H, W] (C = 1 or 3) and uint8 labels. Holding the 70,000 digits as one
array and slicing shuffled index batches out of it is several times faster on a CPU than a per-sample
DataLoader, so this module returns arrays, not a Dataset. No torch here: training and both export paths read
data through it, and only training's `fetch` (training/download.py) brings in torchvision to download MNIST.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from latent_common import datasets
from latent_common.errors import reason
from latent_common.files import GZIP_MAGIC, read_limited
from latent_common.split import MAX_DATASET_BYTES, DataError, DataOptions, Split

IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
MNIST_CLASSES = [str(digit) for digit in range(10)]
FASHION_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
# name -> (torchvision's folder and class, class names); "idx:DIR" reads any four IDX files in DIR instead.
DATASETS = {"mnist": ("MNIST", MNIST_CLASSES), "fashion-mnist": ("FashionMNIST", FASHION_CLASSES)}
PICTURE_SOURCES = ("folder:", "npz:")  # + "emoji": read by latent_common/datasets.py
Fetch = Callable[[Path, str], None]  # (root, torchvision's folder name) -> files there, or nothing on failure
IDX_MAX_HEADER = 4 + 4 * 255  # magic (4 bytes: 0, 0, dtype, ndim) and up to 255 sizes of 4 bytes
IDX_SHAPE = (1, 28, 28)  # what MNIST, Fashion-MNIST and idx:DIR images are: C, H, W


def read_idx(path: Path, limit: int = MAX_DATASET_BYTES) -> np.ndarray:
    """Read one IDX file (optionally gzipped) into an array, checking its header against limit and its size.

    The header is read (inflated) first: a gzip whose header declares more than limit bytes is refused before
    the rest is inflated, and the rest is inflated only up to what the header declares (a bomb stops there)."""
    raw = read_limited(path, limit, DataError)  # a regular file only: a FIFO or /dev/zero is one line
    inflater = zlib.decompressobj(31) if raw[:2] == GZIP_MAGIC else None
    try:
        head = inflater.decompress(raw, IDX_MAX_HEADER) if inflater else raw[:IDX_MAX_HEADER]
    except zlib.error as exc:
        raise DataError(f"{path}: corrupt gzip data ({reason(exc)})") from None
    if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in IDX_DTYPES:
        raise DataError(f"{path}: not an IDX file (bad magic number)")
    dtype = np.dtype(IDX_DTYPES[head[2]])
    ndim = head[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(head) < header:
        raise DataError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(head[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + math.prod(shape) * dtype.itemsize  # exact: np.prod would wrap on a hostile header
    if expected > limit:
        raise DataError(f"{path}: its header {shape} declares {expected:,} bytes, over the limit of {limit:,}")
    if inflater:
        try:
            # one byte past the declared size, at most: more data than that is a size mismatch, not inflated
            raw = head + inflater.decompress(inflater.unconsumed_tail, max(expected - len(head), 0) + 1)
        except zlib.error as exc:
            raise DataError(f"{path}: corrupt gzip data ({reason(exc)})") from None
    if inflater and len(raw) > expected:
        raise DataError(f"{path}: inflates to more than {expected} bytes, but its header {shape} says {expected}")
    if len(raw) != expected:
        raise DataError(f"{path}: size {len(raw)} bytes, but its header {shape} says {expected}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _find(raw_dir: Path, name: str) -> Path | None:
    for candidate in (raw_dir / name, raw_dir / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def check_dataset(dataset: str) -> None:
    if dataset not in (*DATASETS, "emoji") and not dataset.startswith(("idx:", *PICTURE_SOURCES)):
        raise DataError(
            f"--dataset {dataset}: expected one of {', '.join(DATASETS)}, emoji, idx:DIR, folder:DIR or npz:FILE"
        )
    if dataset.partition(":")[2] == "" and ":" in dataset:
        raise DataError(f"--dataset {dataset}: give the path after the colon, e.g. {dataset}path/to/data")


def class_names(dataset: str, labels: np.ndarray) -> list[str]:
    """The dataset's class names; an IDX folder's classes are its label values."""
    return DATASETS[dataset][1] if dataset in DATASETS else [str(i) for i in range(int(labels.max(initial=0)) + 1)]


def load_split(
    dataset: str, root: str | Path, split: str, fetch: Fetch | None = None, options: DataOptions | None = None
) -> Split:
    """Load the 'train' or 'test' split of any dataset above: images (N, C, H, W) uint8, labels, class names.

    fetch, when given, is asked once to bring MNIST or Fashion-MNIST files that are missing (training passes
    torchvision's downloader); without it missing files are one DataError naming them."""
    check_dataset(dataset)
    split_data = _load_any(dataset, root, split, fetch, options or DataOptions())
    if len(split_data.labels) == 0:  # every reader's empty split, before a caller concatenates or measures it
        use = "nothing to train on" if split == "train" else "nothing to measure the model on"
        raise DataError(f"--dataset {dataset}: the {split} split has 0 images; {use}")
    return split_data


def _load_any(dataset: str, root: str | Path, split: str, fetch: Fetch | None, options: DataOptions) -> Split:
    if dataset == "emoji" or dataset.startswith(PICTURE_SOURCES):
        return datasets.load_split(dataset, Path(root), split, options)
    if (options.size or IDX_SHAPE[1:]) != IDX_SHAPE[1:] or options.channels not in (0, IDX_SHAPE[0]):
        raise DataError(
            f"--dataset {dataset}: its images are {'x'.join(map(str, IDX_SHAPE))} (channels x height x width); "
            f"--image-size and --channels convert folder:, npz: and emoji pictures only"
        )
    split_data = _load_idx_split(dataset, root, split, fetch)
    split_data.class_names = class_names(dataset, split_data.labels)
    return split_data


def _load_idx_split(dataset: str, root: str | Path, split: str, fetch: Fetch | None) -> Split:
    """torchvision's layout under root (root/MNIST/raw/, ...), or idx:DIR; images come as (N, 1, 28, 28)."""
    if dataset.startswith("idx:"):
        raw_dir, folder, hint = Path(dataset[4:]), None, "point --dataset idx:DIR at a folder holding them"
    else:
        folder = DATASETS[dataset][0]
        raw_dir, hint = (
            Path(root) / folder / "raw",
            f"point --data-root (make: DATA_ROOT=) at a folder holding {folder}/raw/",
        )
    names = MNIST_FILES[split]
    paths = [_find(raw_dir, name) for name in names]
    if None in paths and fetch is not None and folder is not None:
        fetch(Path(root), folder)
        paths = [_find(raw_dir, name) for name in names]
    if None in paths:
        missing = ", ".join(name for name, path in zip(names, paths, strict=True) if path is None)
        fetched = " and could not be downloaded" if fetch is not None and folder is not None else ""
        raise DataError(f"{raw_dir}: {dataset} files missing ({missing}){fetched}; {hint}")
    images, labels = (read_idx(path) for path in paths)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise DataError(f"{paths[0]}: expected uint8 images of shape (N, 28, 28), got {images.dtype} {images.shape}")
    if labels.shape != (images.shape[0],) or labels.dtype != np.uint8:
        raise DataError(f"{paths[1]}: expected {images.shape[0]} uint8 labels, got {labels.dtype} {labels.shape}")
    if dataset in DATASETS and labels.max(initial=0) >= len(DATASETS[dataset][1]):
        raise DataError(f"{paths[1]}: label {labels.max()} is out of range 0-{len(DATASETS[dataset][1]) - 1}")
    return Split(images=images[:, None], labels=labels)  # (N, 1, 28, 28): one channel


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write an array as an IDX file; used to make tiny datasets for tests and demos."""
    code = {np.dtype(dt).newbyteorder(">"): c for c, dt in IDX_DTYPES.items()}
    big_endian = array.astype(array.dtype.newbyteorder(">"))
    header = bytes([0, 0, code[big_endian.dtype], array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    path.write_bytes(header + big_endian.tobytes())
