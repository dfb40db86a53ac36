"""The shipped bundles, and what the command line says about bundles and itself: --list, --info, --version.

The shipped bundles live in models/ at the root of the repository; a wheel carries the same folders as
viewer/models/ (pyproject.toml maps one onto the other). A clone, an editable install and an installed
wheel therefore agree on what `mnist-ae` is, and a path the user gives always wins over a name.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from latent_common.errors import printable
from latent_common.files import exists, kind_of, shown
from viewer import words
from viewer.bundle import (
    DATA_FILES,
    DECODER,
    ENCODER,
    FORMAT_VERSION,
    MAP,
    METADATA,
    TIMELINE,
    Bundle,
    BundleError,
    BundleMeta,
    load_bundle,
    sha256_file,
)
from viewer.bundle.timeline import read_timeline
from viewer.inference import CPU, OnnxModel
from viewer.mapping import read_map

if TYPE_CHECKING:
    from importlib.metadata import Distribution

DEFAULT_NAME = "mnist-ae"
DISTRIBUTION = "latent-explorer"
# The repository's layout, installed as is: generic names, so --version says where each came from and
# warns when another installed distribution ships one of them too (pip lets both write the same folder).
TOP_LEVEL = ("viewer", "training", "export", "latent_common")
UNKNOWN = "unknown"
PACKAGE = Path(__file__).resolve().parent


def shipped_dir() -> Path:
    """viewer/models inside an installed wheel, else models/ beside the package (a clone, an editable install)."""
    packaged = PACKAGE / "models"
    return packaged if packaged.is_dir() else PACKAGE.parent / "models"


def shipped() -> dict[str, Path]:
    """Every shipped bundle's folder, by its name, in name order."""
    root = shipped_dir()
    if not root.is_dir():
        return {}
    return {folder.name: folder for folder in sorted(root.iterdir()) if (folder / METADATA).is_file()}


def default_bundle() -> Path:
    return shipped_dir() / DEFAULT_NAME


def find(text: str) -> Path:
    """The folder for what the user typed: a path that exists, or that has a slash, is taken as given; a bare
    name that is no folder here is a shipped bundle's name when one has it."""
    path = Path(text)
    if exists(path) or "/" in text or os.sep in text:
        return path
    return shipped().get(text, path)


# Bundles a clone has in models/ but the wheel leaves out (pyproject's exclude-package-data: too large for it).
IN_THE_REPOSITORY_ONLY = {
    "emoji-vae": "the colour demo (64 × 64 RGB emoji, a conv-VAE)",
    "emoji-vae-16d": "the colour demo's 16-D conv-VAE, on its t-SNE map",
}


def missing(path: Path) -> str:
    if str(path) in IN_THE_REPOSITORY_ONLY:
        return (
            f"{path}: {IN_THE_REPOSITORY_ONLY[str(path)]} lives in the repository, not in the installed package; "
            f"in a clone, open it by path: latent-explorer path/to/clone/models/{path}"
        )
    try:
        return f"{shown(path)}: is {kind_of(path.stat().st_mode)}, not a bundle folder"
    except (OSError, ValueError):  # nothing there (or a name the system can't look up): a name, then
        pass
    names = ", ".join(shown(name) for name in shipped()) or "none found"
    return f"{shown(path)}: no such bundle folder (shipped bundles, by name: {names})"


# --list


def list_lines() -> list[str]:
    """A header, then one line per shipped bundle: name, dataset, kind, latent dim, test MSE."""
    rows = [("name", "dataset", "kind", "latent dim", "test MSE")]
    notes = [""]
    for name, folder in shipped().items():
        try:
            bundle = load_bundle(folder)
        except BundleError as exc:
            rows.append((shown(name), "-", "-", "-", "-"))  # a folder's name may hold escapes or a newline
            notes.append(f"  broken: {printable(str(exc))}")
            continue
        row = (name, bundle.dataset, bundle.kind, str(bundle.latent_dim), number(bundle.test_mse, ".4f"))
        rows.append(tuple(shown(cell) for cell in row))
        notes.append("  (default)" if name == DEFAULT_NAME else "")
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() + note
        for row, note in zip(rows, notes)
    ]


# --info


def number(value: float | None, spec: str) -> str:
    return UNKNOWN if value is None else format(value, spec)


# What a model kind is, beside its kind: a dense model's hidden widths mean something, a conv model's don't
# (its layers follow from the image size), and latent_dim and image_shape have lines of their own.
CONV_WORDS = "stride-2 convolutions down to a few pixels a side, transposed convolutions back up"
SHOWN_ELSEWHERE = ("kind", "latent_dim", "image_shape")


def model_line(meta: BundleMeta) -> str:
    if meta.kind.startswith("conv-"):
        details = [CONV_WORDS]
    else:
        details = [f"{key} {plain(value)}" for key, value in meta.model_config.items() if key not in SHOWN_ELSEWHERE]
    return meta.kind + (f" ({', '.join(details)})" if details else "") + f", latent dim {meta.latent_dim}"


def plain(value: object) -> str:
    """A JSON value as a person reads it: lists without brackets or quotes."""
    if isinstance(value, list):
        return "-".join(plain(item) for item in value)
    return str(value)


# The training config's keys the card names, in its words; a bundle from before a key existed just lacks it.
RECIPE_WORDS = (("schedule", "schedule"), ("lr", "lr"), ("batch_size", "batch"), ("adam_beta2", "Adam β2"),
                ("ema", "weight average"), ("seed", "seed"))  # fmt: skip


def training_line(meta: BundleMeta) -> str:
    history = meta.training_history
    seconds = [epoch["seconds"] for epoch in history if "seconds" in epoch]
    config = meta.train_config
    recipe = ", ".join(f"{label} {config[key]}" for key, label in RECIPE_WORDS if key in config)
    epochs = f"{len(history)} epochs" if history else "epochs unknown"
    time = f"{sum(seconds):.0f} s" if seconds and len(seconds) == len(history) else "time unknown"
    return f"{epochs}, {time}" + (f" ({recipe})" if recipe else "")


def versions_line(meta: BundleMeta) -> str:
    versions = ", ".join(f"{key} {value}" for key, value in meta.versions.items()) or UNKNOWN
    return f"{versions}; bundle format {meta.format_version} (this viewer reads up to {FORMAT_VERSION})"


def file_lines(bundle: Bundle) -> tuple[list[str], int]:
    """Size, SHA-256 and whether it matches bundle.json, for each data file; and how many match."""
    lines, verified = [], 0
    for name in (*DATA_FILES, *([MAP] if bundle.meta.map is not None else [])):
        file = bundle.path / name
        digest = sha256_file(file)
        ok = digest == bundle.meta.files.get(name)
        verified += ok
        status = "verified" if ok else "DIFFERS from bundle.json"
        lines.append(f"    {name:<14} {file.stat().st_size:>10,} bytes  sha256 {digest}  {status}")
    return lines, verified


def map_line(meta: BundleMeta) -> str:
    """How the bundle's 2-D map was made, or why there is none (python -m export.map makes one)."""
    info = meta.map
    if info is None:
        return words.NO_MAP_INFO if meta.latent_dim > 2 else "none needed: the latent is the plot"
    settings = ", ".join(f"{key} {value}" for key, value in info.parameters.items())
    fitted = "" if info.fitted == info.points else f", fitted on {info.fitted:,}"
    return (f"{words.MAP_NAMES.get(info.method, info.method)} ({info.library} {info.version}, seed {info.seed}"
            f"{', ' + settings if settings else ''}), {info.points:,} points{fitted}")  # fmt: skip


def timeline_line(bundle: Bundle, strict: bool = False) -> str:
    """The timeline's snapshots, steps and whether its files are there and verify (the wheel leaves them out)."""
    info = bundle.meta.timeline
    if info is None:
        return words.NO_TIMELINE
    steps = [snap["step"] for snap in info.snapshots]
    where = f"{len(steps)} snapshots, steps {steps[0]:,} to {steps[-1]:,}, {info.weights} decoders"
    if not (bundle.path / TIMELINE).is_dir():
        return f"{where}; its files are not here (a wheel leaves them out)"
    found = read_timeline(bundle, strict)  # damaged: with strict an error, else a warning and None
    if found is None:
        return f"{where}; NOT usable: {bundle.warnings[-1]}"
    try:
        found.check()  # a large timeline's values, which the window checks a snapshot at a time
    except BundleError as exc:
        if strict:
            raise
        return f"{where}; NOT usable: {exc}"
    return f"{where}; its files verify"


def info_lines(path: Path, strict: bool = False) -> list[str]:
    """The bundle's card; raises BundleError (exit 2) for anything the viewer itself would refuse."""
    bundle = load_bundle(path, strict=strict)
    for role, name in (("decoder", DECODER), ("encoder", ENCODER)):  # the same checks as opening the viewer
        OnnxModel(bundle.path / name, role, bundle.latent_dim, bundle.image_shape, [CPU]).trial()  # bounded run
    if bundle.meta.map is not None:
        read_map(bundle, strict)  # as the viewer opens it: a broken map.npz is an error, a changed one with strict
    files, verified = file_lines(bundle)
    meta, (channels, height, width) = bundle.meta, bundle.chw
    k = meta.knn_k
    return [
        f"{meta.name}  {bundle.path.resolve()}",
        f"  model          {model_line(meta)}",
        f"  dataset        {meta.dataset}, {len(meta.class_names)} classes: {', '.join(meta.class_names)}",
        f"  image shape    {height} × {width}, {'grey' if channels == 1 else 'colour (RGB)'}",
        f"  embedding      {len(bundle.z):,} test images",
        f"  test MSE       {number(meta.test_mse, '.4f')}"
        + (f" (PCA of the same latent size: {meta.pca_test_mse:.4f})" if meta.pca_test_mse is not None else ""),
        f"  k-NN accuracy  {number(meta.knn_accuracy, '.3f')}" + (f" (k = {k}, leave-one-out)" if k else ""),
        f"  training       {training_line(meta)}",
        f"  map            {map_line(meta)}",
        f"  timeline       {timeline_line(bundle, strict)}",
        f"  exported with  {versions_line(meta)}",
        "  files",
        *files,
        f"  check          {verified} of {len(files)} files verify; "
        "decoder and encoder load, match the contract and run",
    ] + ([f"  notice         {meta.notice}"] if meta.notice else [])


# --version


def installed_version() -> str | None:
    from importlib import metadata  # here, not at the top: 20 ms of start-up only --version needs

    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None


def origin() -> str:
    """Whether the viewer package running is the installed distribution's own files, and if not, why not."""
    from importlib import metadata

    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "a source tree; latent-explorer is not installed in this environment"
    recorded = Path(str(dist.locate_file("viewer/__init__.py"))).resolve()
    if recorded == PACKAGE / "__init__.py":
        return "the installed distribution's own files"
    return f"not the installed distribution's files ({recorded.parent}): a source tree or editable install"


def top_level_names(dist: Distribution) -> set[str]:
    """The importable names a distribution puts on sys.path: top_level.txt when it has one, else its RECORD."""
    listed = dist.read_text("top_level.txt")
    if listed is not None:
        return set(listed.split())
    return {
        file.parts[0].removesuffix(".py") for file in dist.files or [] if len(file.parts) > 1 or file.suffix == ".py"
    }


def rivals(path: list[str] | None = None) -> list[str]:
    """A warning for each other installed distribution that ships one of our top-level packages."""
    from importlib import metadata

    ours = canonical(DISTRIBUTION)
    found: dict[str, set[str]] = {}
    for dist in metadata.distributions(**({"path": path} if path is not None else {})):
        name = dist.metadata["Name"] or "?"
        if canonical(name) != ours:
            found.setdefault(f"{name} {dist.version}", set()).update(top_level_names(dist) & set(TOP_LEVEL))
    return [
        f"{name} also installs {', '.join(sorted(shared))}: the two overwrite each other's files; "
        "give latent-explorer its own venv (or pipx)"
        for name, shared in sorted(found.items())
        if shared
    ]


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503


def version_lines() -> list[str]:
    bundles = ", ".join(shipped()) or "none"
    return [
        f"{DISTRIBUTION} {installed_version() or UNKNOWN}",
        f"  viewer package   {PACKAGE}  ({origin()})",
        f"  shipped bundles  {shipped_dir()}  ({bundles})",
        *(f"  warning: {line}" for line in rivals()),
    ]
