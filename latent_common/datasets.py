"""Pictures of any size and colour as a dataset: folder:DIR, npz:FILE and the emoji set.

  folder:DIR   one subfolder per class of PNG/JPEG/GIF/BMP/WebP files (torchvision's ImageFolder layout);
               DIR/train/ and DIR/test/, each laid out that way, are the splits when both exist
  npz:FILE     arrays `images` uint8 [N, H, W] (grey) or [N, H, W, 3|4] (RGB, RGBA) and `labels`; optional
               `class_names` (strings) and a split: `test_index` (with `train_index`, else the rest) or
               `split` ("train"/"test" per image). Read with allow_pickle=False
  emoji        DATA_ROOT/emoji-google/ (npm's emoji-datasource-google 16.0.0, `make data-emoji`): the 64x64
               RGBA Noto Emoji, skin-tone variants included, labelled by their emoji.json `category`

Every picture goes through latent_common.images.to_model_input, the conversion the viewer applies to a
picture a user drops on it: transparency onto white, padded to the target's aspect ratio, resized (area
average down, bilinear up), grey when the dataset is grey. Without --image-size the pictures keep their own
size when they all share one; without --channels they stay RGB when any of them has colour.

Where the data names no test split, a seeded, stratified share of each class is held out (--test-fraction):
the same files give the same split on every run, so export measures exactly the images training held out.
latent_common.pictures decodes the files (Pillow, upright by their EXIF orientation), the decoder the viewer uses
for a dropped picture; Pillow is imported only when a folder or the emoji set is read.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from latent_common import files
from latent_common.errors import printable, reason
from latent_common.images import DEFAULT_BACKGROUND, RESIZE_METHOD, has_colour, to_model_input
from latent_common.npz import read_arrays
from latent_common.pictures import PictureError, PillowMissing, read_picture
from latent_common.split import MAX_DATASET_BYTES, DataError, DataOptions, Split

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp")
MIN_SIDE, MAX_SIDE = 8, 256  # the bundle contract's image sizes
MAX_CLASSES = 256  # labels are uint8
SPLIT_SEED = 0  # fixed, not --seed: runs with different seeds are measured on the same held-out images
NPZ_ARRAYS = ("images", "labels", "class_names", "test_index", "train_index", "split")  # what npz:FILE reads
MAX_INDEX_BYTES = 64 << 20  # emoji.json and categories.json: the package's index is ~2 MB
SHOWN_SKIPS = 3  # file names listed in the one-line skip notice

EMOJI_DIR = "emoji-google"
EMOJI_IMAGES = Path("img", "google", "64")
# The five "Component" images are skin-tone swatches, not emoji: too few for a class of their own.
EMOJI_LEFT_OUT = ("Component",)
EMOJI_NOTICE = (
    "Emoji images: Noto Emoji, Copyright Google Inc., licensed under the Apache License, Version 2.0; "
    "from the npm package emoji-datasource-google 16.0.0 (emoji-data, Copyright Cal Henderson, MIT License)."
)


@dataclass
class Source:
    """A whole dataset, decoded and converted, before the split: what each reader returns."""

    images: np.ndarray  # (N, C, H, W) uint8
    labels: np.ndarray  # (N,) uint8
    class_names: list[str]
    is_test: np.ndarray | None  # (N,) bool when the data says which images are held out, else None
    groups: np.ndarray | None  # (N,) int: images that must land on the same side of the split, else None
    background: tuple[int, int, int] = DEFAULT_BACKGROUND
    notice: str | None = None


@dataclass
class Picture:
    """One file to read: where it is, its class, and its group (images that go to the same split)."""

    path: Path
    label: int
    group: int


# The last source read: training asks for "train" then "test", and a folder is decoded once for both.
_CACHE: dict[Any, Source] = {}


def load_split(dataset: str, root: Path, split: str, options: DataOptions) -> Split:
    """The 'train' or 'test' split of a folder:, npz: or emoji dataset."""
    check_options(options)
    source = cached_source(dataset, root, options)
    is_test = (
        source.is_test if source.is_test is not None else held_out(source.labels, options.test_fraction, source.groups)
    )
    chosen = is_test if split == "test" else ~is_test
    if not chosen.any():
        raise DataError(f"--dataset {dataset}: the {split} split holds no images")
    images = source.images[chosen]
    preprocess = {
        "size": list(images.shape[2:]),
        "channels": int(images.shape[1]),
        "background": list(source.background),
        "resize": RESIZE_METHOD,
    }
    return Split(
        images=images,
        labels=source.labels[chosen],
        class_names=source.class_names,
        preprocess=preprocess,
        notice=source.notice,
    )


def check_options(options: DataOptions) -> None:
    if options.size is not None and not all(MIN_SIDE <= n <= MAX_SIDE for n in options.size):
        raise DataError(f"--image-size {options.size[0]}: must be {MIN_SIDE} to {MAX_SIDE} pixels")
    if options.channels not in (0, 1, 3):
        raise DataError(f"--channels {options.channels}: must be 1 (grey) or 3 (RGB), or 0 to decide from the images")
    if not 0.0 < options.test_fraction < 1.0:
        raise DataError(f"--test-fraction {options.test_fraction}: must be between 0 and 1")


def cached_source(dataset: str, root: Path, options: DataOptions) -> Source:
    kind, _, path = dataset.partition(":")
    if kind == "folder":
        pictures, class_names, is_test, skipped = list_folder(Path(path))
        key = (dataset, options, tuple(_stamp(p.path) for p in pictures))
        build = lambda: read_pictures(Path(path), pictures, class_names, is_test, skipped, options)  # noqa: E731
    elif kind == "npz":
        key = (dataset, options, _stamp(Path(path)))
        build = lambda: read_npz(Path(path), options)  # noqa: E731
    else:
        folder = root / EMOJI_DIR
        pictures, class_names = list_emoji(folder)
        key = (dataset, str(folder.resolve()), options, _stamp(folder / "emoji.json"))
        build = lambda: read_pictures(folder, pictures, class_names, None, [], options, notice=EMOJI_NOTICE)  # noqa: E731
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = build()
    return _CACHE[key]


def _stamp(path: Path) -> tuple:
    """What identifies a file's content cheaply: a changed file is read again."""
    try:
        stat = path.stat()
    except OSError:
        return (str(path),)
    return (str(path), stat.st_size, stat.st_mtime_ns)


# The split


def held_out(
    labels: np.ndarray, fraction: float, groups: np.ndarray | None = None, seed: int = SPLIT_SEED
) -> np.ndarray:
    """Which images are held out for testing: (N,) bool.

    Stratified: in each class, round(fraction x its groups) of them, at least one while one stays for
    training. A group (an image alone, when there are no groups) is never split across the two sides.
    Each class draws from its own generator, seeded by (seed, label): adding a class changes no other's split.
    """
    groups = np.arange(len(labels)) if groups is None else groups
    is_test = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        in_class = labels == label
        members = np.unique(groups[in_class])  # sorted: the draw doesn't depend on the files' order
        count = min(max(round(len(members) * fraction), 1), len(members) - 1) if len(members) > 1 else 0
        chosen = np.random.default_rng([seed, int(label)]).permutation(members)[:count]
        is_test |= in_class & np.isin(groups, chosen)
    return is_test


# folder:DIR


def list_folder(folder: Path) -> tuple[list[Picture], list[str], np.ndarray | None, list[str]]:
    """The pictures under folder (one subfolder per class, or train/ and test/ each laid out so), sorted
    by path; the class names; which are test pictures (when train/ and test/ say so); skipped file names."""
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder (--dataset folder:DIR wants one subfolder of pictures per class)")
    if (folder / "train").is_dir() and (folder / "test").is_dir():
        parts = [folder / "train", folder / "test"]
    else:
        parts = [folder]
    class_names = sorted({d.name for part in parts for d in _visible(part) if d.is_dir()})
    if not class_names:
        raise DataError(
            f"{folder}: no class subfolders; lay the pictures out as {folder}/<class>/<picture>.png, "
            "one folder per class"
        )
    if len(class_names) > MAX_CLASSES:
        raise DataError(f"{folder}: {len(class_names)} class folders; at most {MAX_CLASSES} are supported")
    pictures, test_flags, skipped = [], [], []
    for part_index, part in enumerate(parts):
        for label, name in enumerate(class_names):
            for path in sorted(p for p in (part / name).rglob("*") if p.is_file() and not _hidden(p, part)):
                if path.suffix.lower() not in IMAGE_EXTENSIONS:
                    skipped.append(str(path.relative_to(folder)))
                    continue
                pictures.append(Picture(path, label, len(pictures)))
                test_flags.append(part_index == 1)
    is_test = np.array(test_flags, dtype=bool) if len(parts) == 2 else None
    return pictures, class_names, is_test, skipped


def _visible(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith(".")) if folder.is_dir() else []


def _hidden(path: Path, base: Path) -> bool:
    """.DS_Store, .git/...: hidden files and folders are not pictures and not worth a skip notice."""
    return any(part.startswith(".") for part in path.relative_to(base).parts)


# Decoding and converting pictures


def decode(path: Path) -> np.ndarray | None:
    """The picture's pixels as uint8 RGBA (H, W, 4), upright, or None when it can't be read (too large, not an
    image, truncated): latent_common.pictures.read_picture, the decoder the viewer uses for a user's picture."""
    try:
        return read_picture(path)
    except PillowMissing as exc:
        raise DataError(str(exc)) from None
    except PictureError:
        return None


def read_pictures(
    folder: Path,
    pictures: list[Picture],
    class_names: list[str],
    is_test: np.ndarray | None,
    skipped: list[str],
    options: DataOptions,
    notice: str | None = None,
) -> Source:
    """Decode and convert every picture (to_model_input), skipping the unreadable ones with one notice."""
    channels = options.channels or 3  # auto: convert to RGB, keep one plane if nothing had colour (exact: see below)
    total, skipped = len(pictures) + len(skipped), list(skipped)  # files looked at; the ones left out
    images, kept, coloured, sizes = [], [], False, SharedSize(folder)
    for index, picture in enumerate(pictures):
        rgba = decode(picture.path)
        if rgba is None:
            skipped.append(str(picture.path.relative_to(folder)))
            continue
        coloured = coloured or has_colour(rgba)
        size = options.size or sizes.check(rgba.shape[:2], picture.path)  # upright: after the EXIF orientation
        images.append(to_model_input(rgba, size, channels, DEFAULT_BACKGROUND))
        kept.append(index)
    if not images:
        raise DataError(f"{folder}: no readable pictures{_skip_text(skipped, total)}")
    if skipped:
        print(f"{folder}: skipped {len(skipped)} of {total} files{_skip_text(skipped, total)}", file=sys.stderr)
    stacked = np.stack(images)  # (N, C, H, W)
    if options.channels == 0 and not coloured:
        # A grey picture's three converted planes are equal, and its one-channel conversion is exactly the
        # first of them (to_model_input keeps grey values exact and resizes each plane on its own).
        stacked = np.ascontiguousarray(stacked[:, :1])
    kept_pictures = [pictures[i] for i in kept]
    return Source(
        images=stacked,
        labels=np.array([p.label for p in kept_pictures], dtype=np.uint8),
        class_names=class_names,
        is_test=None if is_test is None else is_test[kept],
        groups=np.array([p.group for p in kept_pictures], dtype=np.int64),
        notice=notice,
    )


class SharedSize:
    """Without --image-size the pictures keep their own size, so they must all share one that a model takes:
    the first readable picture sets it, and the first that differs is a clear error naming both."""

    def __init__(self, folder: Path):
        self.folder, self.size, self.first = folder, None, None

    def check(self, size: tuple[int, int], path: Path) -> tuple[int, int]:
        """size (H, W) of the picture at path; returns the shared size."""
        size = tuple(int(n) for n in size)
        if self.size is None:
            if not all(MIN_SIDE <= n <= MAX_SIDE for n in size):
                raise DataError(
                    f"{self.folder}: the pictures are {size[1]}x{size[0]}; models take {MIN_SIDE} to {MAX_SIDE} "
                    "pixels a side, so pass --image-size N"
                )
            self.size, self.first = size, path
        elif size != self.size:
            a, b = self.size, size
            raise DataError(
                f"{self.folder}: pictures differ in size ({self.first.name} is {a[1]}x{a[0]}, "
                f"{path.name} {b[1]}x{b[0]}); pass --image-size N to resize them all to NxN"
            )
        return self.size


def _skip_text(skipped: list[str], total: int) -> str:
    if not skipped:
        return ""
    names = ", ".join(printable(name, 80) for name in skipped[:SHOWN_SKIPS]) + (
        ", ..." if len(skipped) > SHOWN_SKIPS else ""
    )
    return f" (not readable as PNG/JPEG/GIF/BMP/WebP: {names})"


# npz:FILE


def read_npz(path: Path, options: DataOptions) -> Source:
    arrays = _npz_arrays(path)
    images, labels = arrays["images"], arrays["labels"]
    if images.dtype != np.uint8 or not (images.ndim == 3 or (images.ndim == 4 and images.shape[3] in (3, 4))):
        raise DataError(
            f"{path}: 'images' must be uint8 [N, H, W] or [N, H, W, 3] (or 4 with alpha), "
            f"got {images.dtype} {list(images.shape)}"
        )
    count = len(images)
    if count == 0:
        raise DataError(f"{path}: 'images' holds no images")
    if labels.shape != (count,) or labels.dtype.kind not in "iu":
        raise DataError(
            f"{path}: 'labels' must be {count} integers, one per image, got {labels.dtype} {list(labels.shape)}"
        )
    names = _npz_class_names(path, arrays, labels)
    size = options.size or tuple(images.shape[1:3])
    if not all(MIN_SIDE <= n <= MAX_SIDE for n in size):
        raise DataError(
            f"{path}: the images are {size[1]}x{size[0]}; models take {MIN_SIDE} to {MAX_SIDE} pixels a side, "
            "so pass --image-size N"
        )
    coloured = images.ndim == 4 and any(has_colour(image) for image in images)
    channels = options.channels or (3 if coloured else 1)
    return Source(
        images=_convert_all(images, size, channels),
        labels=labels.astype(np.uint8),
        class_names=names,
        is_test=_npz_split(path, arrays, count),
        groups=None,
    )


def _npz_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays this reader uses, each refused from its header if pickled or past MAX_DATASET_BYTES (others
    in the archive are never read, however large)."""
    arrays = read_arrays(path, NPZ_ARRAYS, MAX_DATASET_BYTES, DataError)
    missing = [name for name in ("images", "labels") if name not in arrays]
    if missing:
        raise DataError(f"{path}: needs arrays 'images' and 'labels'; missing {', '.join(missing)}")
    return arrays


def _npz_class_names(path: Path, arrays: dict[str, np.ndarray], labels: np.ndarray) -> list[str]:
    top = int(labels.max())
    if labels.min() < 0 or top >= MAX_CLASSES:
        raise DataError(f"{path}: labels must be 0 to {MAX_CLASSES - 1}, found {labels.min()} to {top}")
    if "class_names" not in arrays:
        return [str(i) for i in range(top + 1)]
    names = arrays["class_names"]
    if names.ndim != 1 or names.dtype.kind != "U" or not 0 < len(names) <= MAX_CLASSES:
        raise DataError(
            f"{path}: 'class_names' must be a list of up to {MAX_CLASSES} strings, "
            f"got {names.dtype} {list(names.shape)}"
        )
    if top >= len(names):
        raise DataError(f"{path}: label {top} has no name ('class_names' holds {len(names)})")
    return [str(name) for name in names]


def _npz_split(path: Path, arrays: dict[str, np.ndarray], count: int) -> np.ndarray | None:
    """The data's own split, if it names one: `test_index` (+ `train_index`) or `split` ("train"/"test")."""
    if "test_index" in arrays:
        test = _indices(path, arrays, "test_index", count)
        is_test = np.zeros(count, dtype=bool)
        is_test[test] = True
        if "train_index" in arrays:
            train = _indices(path, arrays, "train_index", count)
            if is_test[train].any():
                raise DataError(f"{path}: 'train_index' and 'test_index' share images")
            if len(np.union1d(train, test)) != count:  # an image in neither list would silently vanish
                raise DataError(f"{path}: 'train_index' and 'test_index' together must list every image once")
        return is_test
    if "split" in arrays:
        split = arrays["split"]
        if split.shape != (count,) or split.dtype.kind != "U" or not np.isin(split, ["train", "test"]).all():
            raise DataError(f'{path}: \'split\' must say "train" or "test" for each of the {count} images')
        return split == "test"
    return None


def _indices(path: Path, arrays: dict[str, np.ndarray], name: str, count: int) -> np.ndarray:
    index = arrays[name]
    if index.ndim != 1 or index.dtype.kind not in "iu" or (len(index) and (index.min() < 0 or index.max() >= count)):
        raise DataError(f"{path}: '{name}' must be integer positions from 0 to {count - 1}")
    return index


def _convert_all(images: np.ndarray, size: tuple[int, int], channels: int) -> np.ndarray:
    """(N, H, W[, C]) uint8 -> (N, channels, *size) uint8 through to_model_input; arrays already in the
    target's size and channel count are only transposed (what to_model_input would return for them)."""
    same_size = tuple(images.shape[1:3]) == tuple(size)
    if same_size and images.ndim == 3 and channels == 1:
        return np.ascontiguousarray(images[:, None])
    if same_size and images.ndim == 4 and images.shape[3] == 3 and channels == 3:
        return np.ascontiguousarray(images.transpose(0, 3, 1, 2))
    return np.stack([to_model_input(image, size, channels, DEFAULT_BACKGROUND) for image in images])


# emoji


def list_emoji(folder: Path) -> tuple[list[Picture], list[str]]:
    """Every emoji image emoji.json names, skin-tone variants included, labelled by category; the variants
    of one emoji form a group, so they all land on the same side of the split (no near-duplicate leaks)."""
    index_file = folder / "emoji.json"
    missing = (
        f"missing; fetch the emoji set with `make data-emoji DATA_ROOT={folder.parent}` (needs npm), "
        f"or point --data-root at a folder holding {EMOJI_DIR}/"
    )
    entries = files.read_json(index_file, MAX_INDEX_BYTES, DataError, missing)
    try:
        class_names = _emoji_categories(folder, entries)
        pictures = []
        for group, entry in enumerate(entries):
            if entry["category"] in EMOJI_LEFT_OUT:
                continue
            label = class_names.index(entry["category"])
            names = [entry["image"], *(v["image"] for v in (entry.get("skin_variations") or {}).values())]
            pictures += [Picture(folder / EMOJI_IMAGES / name, label, group) for name in names]
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise DataError(
            f"{index_file}: not the emoji-datasource index this reader knows ({reason(exc, 120)})"
        ) from None
    return pictures, class_names


def _emoji_categories(folder: Path, entries: list[dict]) -> list[str]:
    """Categories in the package's own order (categories.json), else in order of first appearance."""
    order_file = folder / "categories.json"
    seen = list(files.read_json(order_file, MAX_INDEX_BYTES, DataError)) if order_file.is_file() else []
    for entry in entries:
        if entry["category"] not in seen:
            seen.append(entry["category"])
    return [name for name in seen if name not in EMOJI_LEFT_OUT]
