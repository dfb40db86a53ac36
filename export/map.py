"""`python -m export.map BUNDLE [--method umap|tsne|pca] [--seed N]`: a 2-D map of a bundle's test latents,
stored with the bundle for the viewer to show in the place of the PCA plane (viewer/mapping.py reads it).

It writes map.npz (xy (M, 2) float32, one map point per test latent, in embedding.npz's order) and adds to
bundle.json the map's SHA-256 (under "files", like the other files') and how it was made (under "map":
method, parameters, library and version, seed). Both files are replaced atomically, and Ctrl-C is held off
between the two renames, so the bundle is never left with a map its bundle.json doesn't vouch for.

No torch: a map needs only the embedding, numpy and the method's library (the `map` extra: umap-learn,
openTSNE). The same bundle, method, parameters and seed give the same map. Past FIT_LIMIT latents the method is
fitted on a seeded sample of them and the rest are placed on that map by the library's own transform.
"""

from __future__ import annotations

if __name__ == "__main__":  # python -m export.map: a Ctrl-C while numpy and umap load is one line too
    from latent_common.loading import interrupts_while_loading

    interrupts_while_loading("the bundle is as it was")

import dataclasses
import hashlib
import io
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from latent_common.atomic import atomic_write, check_writable, write_json
from latent_common.cli import ArgumentParser, command, int_in, interrupts_held
from latent_common.errors import UserError, printable, reason
from viewer.bundle import (
    EMBEDDING,
    MAP,
    MAP_METHODS,
    METADATA,
    Bundle,
    MapInfo,
    load_bundle,
    sha256_file,
    validate_meta,
)
from viewer.catalog import find, missing
from viewer.explore import make_plane

MAP_EXTRA = "pip install 'latent-explorer[map]'"
LIBRARIES = {"umap": ("umap", "umap-learn"), "tsne": ("openTSNE", "openTSNE"), "pca": ("numpy", "numpy")}
# UMAP of 10,000 8-D latents takes ~1.5 min on 2 cores; fitting a million would take hours, placing them
# on a map fitted to a sample takes minutes.
FIT_LIMIT = 50_000
PLACE_CHUNK = 20_000  # latents placed per library call: one step of the progress bar
MIN_POINTS = 10  # fewer latents than this make no neighbourhood graph (umap, tsne)


class MapError(UserError):
    """A bundle or a setting the map can't be made from."""


@dataclass(frozen=True)
class MapSettings:
    method: str = "umap"
    seed: int = 0
    neighbors: int = 15  # umap's n_neighbors; its default, and the notes' measured map
    min_dist: float = 0.1  # umap's default: clusters stay readable without piling dots on each other
    perplexity: float = 30.0  # openTSNE's default
    fit_limit: int = FIT_LIMIT

    def parameters(self, points: int) -> dict:
        """The method's own settings as used on `points` latents (a small embedding caps them), for bundle.json."""
        if self.method == "umap":
            return {"n_neighbors": min(self.neighbors, points - 1), "min_dist": self.min_dist, "metric": "euclidean"}
        if self.method == "tsne":
            return {"perplexity": min(self.perplexity, (points - 1) / 3), "metric": "euclidean"}
        return {"components": "the first two principal components, through the mean (the viewer's plane)"}


def library_version(method: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    module, package = LIBRARIES[method]
    if module == "numpy":
        return np.__version__
    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


def import_library(method: str):
    """The method's module, or a MapError saying how to install it."""
    module = LIBRARIES[method][0]
    try:
        if method == "umap":
            with warnings.catch_warnings():  # umap warns about optional extras it doesn't need here
                warnings.simplefilter("ignore")
                import umap

            return umap
        if method == "tsne":
            import openTSNE

            return openTSNE
    except ModuleNotFoundError as exc:
        raise MapError(f"--method {method} needs {module} ({exc.name} is not installed): {MAP_EXTRA}") from None
    return np


def fit_sample(points: int, settings: MapSettings) -> np.ndarray:
    """Indices of the latents the method is fitted on, ascending: all of them up to fit_limit, else a seeded sample."""
    if points <= settings.fit_limit:
        return np.arange(points)
    return np.sort(np.random.default_rng(settings.seed).choice(points, settings.fit_limit, replace=False))


def compute_map(z: np.ndarray, settings: MapSettings, progress: bool = True) -> tuple[np.ndarray, int]:
    """(M, D) latents -> (M, 2) float32 map points, and how many latents the method was fitted on."""
    z = np.ascontiguousarray(z, dtype=np.float32)
    if settings.method == "pca":  # the viewer's own plane, as a map: nothing to fit beyond the SVD
        return make_plane(z).project(z).astype(np.float32), len(z)
    library = import_library(settings.method)
    fit = fit_sample(len(z), settings)
    params = settings.parameters(len(fit))
    with warnings.catch_warnings():  # umap: "n_jobs overridden by setting random_state" (that is the point)
        warnings.simplefilter("ignore")
        if settings.method == "umap":
            model = library.UMAP(
                n_neighbors=params["n_neighbors"], min_dist=settings.min_dist, random_state=settings.seed
            )
            fitted = model.fit_transform(z[fit])
            place = model.transform
        else:
            model = library.TSNE(perplexity=params["perplexity"], random_state=settings.seed, n_jobs=1)
            embedding = model.fit(z[fit])
            fitted, place = np.asarray(embedding), embedding.transform
        xy = np.empty((len(z), 2), dtype=np.float32)
        xy[fit] = fitted
        rest = np.setdiff1d(np.arange(len(z)), fit)
        for start in progress_bar(range(0, len(rest), PLACE_CHUNK), len(rest), progress):
            chunk = rest[start : start + PLACE_CHUNK]
            xy[chunk] = np.asarray(place(z[chunk]))
    return xy, len(fit)


def progress_bar(steps: range, total: int, show: bool) -> Iterator[int]:
    """The steps, with tqdm's bar on stderr (the `map` extra has it) counting latents placed."""
    if not show or not len(steps):
        yield from steps
        return
    from tqdm import tqdm

    with tqdm(total=total, unit="latent", desc="placing", file=sys.stderr) as bar:
        for start in steps:
            yield start
            bar.update(min(steps.step, total - start))


def npz_bytes(xy: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, xy=np.ascontiguousarray(xy, dtype=np.float32))
    return buffer.getvalue()


def store_map(bundle: Bundle, xy: np.ndarray, info: MapInfo) -> None:
    """Write map.npz and record it in bundle.json, both atomically: the map first, then the file vouching for it."""
    file = bundle.path / METADATA
    data = npz_bytes(xy)
    files = {**bundle.meta.files, MAP: hashlib.sha256(data).hexdigest()}
    meta = dataclasses.replace(bundle.meta, map=info, files=files).to_dict()  # keys the reader doesn't know stay
    validate_meta(meta, file)  # never write what the viewer would refuse
    with interrupts_held(str(bundle.path / MAP)):
        atomic_write(bundle.path / MAP, lambda handle: handle.write(data))
        write_json(file, meta)


def make_map(path: Path, settings: MapSettings, progress: bool = True) -> MapInfo:
    """Compute the bundle's map and store it with the bundle; returns what bundle.json now says of it."""
    if not path.exists():
        raise MapError(missing(path))
    bundle = load_bundle(path, strict=True)  # a map of data that doesn't match its hashes would vouch for it
    if bundle.latent_dim <= 2:
        raise MapError(f"{path}: its latent is {bundle.latent_dim}-D, which the viewer shows as it is; no map needed")
    if settings.method != "pca" and len(bundle.z) < MIN_POINTS:
        raise MapError(f"{path}: {len(bundle.z)} latents are too few for --method {settings.method}; use pca")
    check_writable(path)  # before minutes of work, not after
    try:
        xy, fitted = compute_map(bundle.z, settings, progress)
    except (ValueError, RuntimeError, MemoryError) as exc:  # the library gave up on these latents
        raise MapError(f"--method {settings.method} failed on {path} ({reason(exc)})") from None
    if not np.isfinite(xy).all():
        raise MapError(f"--method {settings.method} gave non-finite map points; try another --seed or method")
    info = MapInfo(
        method=settings.method,
        library=LIBRARIES[settings.method][1],
        version=library_version(settings.method),
        seed=settings.seed,
        points=len(xy),
        fitted=fitted,
        embedding_sha256=sha256_file(path / EMBEDDING),
        parameters=settings.parameters(fitted) | {"fit_limit": settings.fit_limit},
    )
    store_map(bundle, xy, info)
    return info


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="python -m export.map",
        description="Compute a 2-D map of a bundle's test latents (UMAP, t-SNE or PCA) and store it with the "
        "bundle, where the viewer shows it in place of the PCA plane.",
        epilog=f"umap and tsne need the map extra: {MAP_EXTRA}",
    )
    parser.add_argument("bundle", help="bundle folder, or a shipped bundle's name (python -m viewer --list)")
    parser.add_argument("--method", choices=MAP_METHODS, default="umap", help="how the latents are laid out in 2-D")
    parser.add_argument("--seed", type=int_in(0, 2**32 - 1), default=0, help="same seed, same map")
    parser.add_argument("--neighbors", type=int_in(2, 200), default=15, help="umap's n_neighbors")
    parser.add_argument("--min-dist", type=float, default=0.1, help="umap's min_dist (0 to 1)")
    parser.add_argument("--perplexity", type=float, default=30.0, help="t-SNE's perplexity (1 to 100)")
    parser.add_argument(
        "--fit-limit",
        type=int_in(MIN_POINTS, 2_000_000),
        default=FIT_LIMIT,
        help="past this many latents, fit on a seeded sample of this many and place the rest on its map",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    return command(lambda: map_command(argv), "the bundle is as it was")


def map_command(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    if not 0.0 <= args.min_dist <= 1.0 or not 1.0 <= args.perplexity <= 100.0:
        raise MapError("--min-dist must be 0 to 1 and --perplexity 1 to 100")
    settings = MapSettings(args.method, args.seed, args.neighbors, args.min_dist, args.perplexity, args.fit_limit)
    path = find(args.bundle)
    started = time.perf_counter()
    info = make_map(path, settings)
    print(
        printable(
            f"wrote {path / MAP} ({info.method}, {info.points:,} points, seed {info.seed}, "
            f"{time.perf_counter() - started:.1f}s); view it with: python -m viewer {path}"
        )
    )
    return 0


if __name__ == "__main__":
    from latent_common.loading import finish

    finish(main())
