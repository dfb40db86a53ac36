"""A 2-D map of an N-D embedding, and the way back from it: decode anywhere on the map (numpy only).

`python -m export.map` computes a map of the bundle's test latents (UMAP, t-SNE or PCA) and stores it with the
bundle: map.npz holds xy (M, 2) float32, one map point per test latent; bundle.json's `map` key says how it was
made (MapInfo) and its `files` hold map.npz's SHA-256 beside the other files'. A nonlinear map has no formula
back to the latent space, so `MapProjection` builds both directions from the dots themselves:

  lift     map point -> latent: exact at a dot (that image's own latent: hovering a dot decodes its
           reconstruction), and between dots a smooth blend of the latents of the dots within reach, by
           Franke and Nielson's modified Shepard weights w = ((R - d)+ / d)^p ("Smooth interpolation of large
           sets of scattered data", 1980): they grow without bound at a dot, so the blend passes through
           every dot, and fall to zero at R, so it stays continuous however the dots within reach change.
           Where no dot is within R the map is empty: there the embedding's mean latent takes over,
           continuously, and `distance_to_data` says how far the nearest dot is, so the window can fade.
  project  latent -> map point: the map point of the nearest test latent. Blending the map points of several
           neighbours drops a new image between clusters, where lift then blends latents of different classes
           (measured: docs/maps.md).

The dots are found through spatial.GridIndex over the map, so one lift looks at a few dozen dots whatever M is.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from latent_common.errors import reason
from latent_common.files import open_regular
from viewer.bundle import EMBEDDING, LATENT_LIMIT, MAP, METADATA, Bundle, BundleError, MapInfo, sha256_file
from viewer.explore import Plane, make_plane
from viewer.spatial import INDEX_MIN_POINTS, GridIndex, index_for

# The lift's blend, chosen on 10,000 MNIST latents (mnist-ae-8d) on their UMAP map: each of 2,000 dots left out
# and decoded from the others' blend at its place, MSE to its image (docs/maps.md). Reach 8 spacings, power 1.5:
# 0.040, as good as a Gaussian blend of the 8 nearest dots (0.039, neither exact nor continuous) and far better
# than the nearest other dot (0.050). Reach 3 gave 0.046, 2 0.051: too few dots blend, and gaps open (no dot
# within reach of 13% of the dots at 2); power 1 gave 0.039 but a kink at each dot, 2 gave 0.041.
REACH = 8.0  # R, in typical dot spacings (the median distance from a dot to its nearest other dot)
POWER = 1.5  # p > 1: the blend leaves each dot smoothly, its own image held for a moment under the cursor
FAR_WEIGHT = 1e-3  # the mean latent's weight: it shows only where every dot's weight has faded below this
SPACING_SAMPLE = 4096  # dots the typical spacing is measured at
CHUNK = 4096  # map points lifted, or latents projected, at a time: bounds the temporaries
PAIR_BUDGET = 2_000_000  # (query, dot) pairs looked at in one pass: dots stacked in one cell (a collapsed model's
# map) would otherwise make every query see all of them at once, gigabytes for a lattice of map tiles
TINY = 1e-12  # d / R below this counts as on the dot


# Reading map.npz


def read_map(bundle: Bundle, strict: bool = False) -> tuple[np.ndarray, MapInfo] | None:
    """The bundle's map, xy (M, 2) float64, and how it was made; None when bundle.json has no `map`.

    As load_bundle treats the other files: map.npz's SHA-256 differing from bundle.json's is an error with
    strict and else a warning added to bundle.warnings; a map made from another embedding.npz likewise
    (without strict the map is then not used: its dots would sit in the wrong places).
    """
    info = bundle.meta.map
    if info is None:
        return None
    metadata, file = bundle.path / METADATA, bundle.path / MAP
    if info.points != len(bundle.z):
        raise BundleError(f"{metadata}: 'map.points' is {info.points}, but the embedding holds {len(bundle.z)}")
    if info.embedding_sha256 != bundle.meta.files.get(EMBEDDING):
        message = f"{file}: made from another {EMBEDDING}; recompute it with python -m export.map {bundle.path}"
        if strict:
            raise BundleError(message)
        bundle.warnings.append(message)
        return None
    missing = f"missing ({METADATA} has a 'map'; recompute it with python -m export.map)"
    try:
        with open_regular(file, BundleError, missing) as handle:
            actual = sha256_file(handle)
    except OSError as exc:
        raise BundleError(f"{file}: cannot read ({exc.strerror or reason(exc)})") from None
    if actual != bundle.meta.files.get(MAP):
        message = f"{file}: SHA-256 differs from the one in {METADATA} (file changed after export.map)"
        if strict:
            raise BundleError(message)
        bundle.warnings.append(message)
    return read_xy(file, len(bundle.z)), info


def read_xy(file: Path, points: int) -> np.ndarray:
    """map.npz's xy, its .npy header checked before its data is read: float32 (points, 2), finite."""
    try:
        with zipfile.ZipFile(file) as archive, archive.open("xy.npy") as stream:
            version = np.lib.format.read_magic(stream)
            if version not in ((1, 0), (2, 0)):
                raise BundleError(f"{file}: 'xy' is a .npy file of version {version}, which this viewer doesn't read")
            header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = header(stream)
            if dtype != np.dtype("<f4") or fortran or tuple(shape) != (points, 2):
                raise BundleError(f"{file}: 'xy' must be float32 [{points}, 2], got {dtype} {list(shape)}")
            data = stream.read(points * 2 * 4)
    except KeyError:
        raise BundleError(f"{file}: missing array 'xy'") from None
    except (OSError, ValueError, EOFError, SyntaxError, zipfile.BadZipFile, zlib.error) as exc:
        raise BundleError(f"{file}: not a readable map ({reason(exc, 120)})") from None
    if len(data) < points * 2 * 4:
        raise BundleError(f"{file}: 'xy' is truncated")
    xy = np.frombuffer(data, dtype="<f4").reshape(points, 2).astype(np.float64)
    if not np.isfinite(xy).all() or not (np.abs(xy) <= LATENT_LIMIT).all():
        raise BundleError(f"{file}: 'xy' must be finite and within +-{LATENT_LIMIT:g}")
    return xy


# The projection


class MapProjection:
    """A 2-D map of the latents, in the place of explore.Plane: the same `dim`, `extra_dims` (none),
    `project` and `lift`, and the plane's origin, extra and extra_std (the mean latent and no further
    directions), so code written for the plane runs unchanged; plus `distance_to_data`.
    """

    def __init__(self, z: np.ndarray, xy: np.ndarray, info: MapInfo | None = None):
        """z (M, D) the test latents; xy (M, 2) each one's map point."""
        self.z = np.ascontiguousarray(z, dtype=np.float32)  # (M, D)
        self.xy = np.ascontiguousarray(xy, dtype=np.float64)  # (M, 2)
        if self.z.ndim != 2 or self.xy.shape != (len(self.z), 2) or len(self.z) == 0:
            raise ValueError(f"z (M, D) and xy (M, 2) must hold the same M > 0 points, got {z.shape}, {xy.shape}")
        self.info = info
        self.origin = self.z.mean(axis=0, dtype=np.float64)  # (D,): the far field, where the map is empty
        self.extra, self.extra_std = np.zeros((self.dim, 0)), np.zeros(0)
        self.index = GridIndex(self.xy, make_plane(self.xy), self.xy)  # the dots by grid cell over the map
        self.chunk = queries_within(PAIR_BUDGET, self.index)  # map points a pass, as dense as the densest cell
        self.spacing = typical_spacing(self.index, self.xy)  # map units
        self.reach = REACH * self.spacing  # R
        self._latent_index = None  # spatial.index_for's, built on first use, for project() past INDEX_MIN_POINTS

    @property
    def dim(self) -> int:
        return self.z.shape[1]

    @property
    def extra_dims(self) -> int:
        return 0

    def lift(self, uv: np.ndarray, offsets: np.ndarray | None = None) -> np.ndarray:
        """(N, 2) map points -> (N, D) float32 latents: a dot's own latent at a dot, a smooth blend between.

        offsets is the plane's argument for its further directions; a map has none, so it is ignored.
        """
        uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
        out = np.empty((len(uv), self.dim), dtype=np.float32)
        step = self.chunk
        for start in range(0, len(uv), step):
            out[start : start + step] = self._lift(uv[start : start + step])
        return out

    def lift_path(self, along: np.ndarray) -> np.ndarray:
        """(T, 2) a path on the map -> (T, D) float32 latents: lifted where the path is near the dots, and where it
        crosses an empty stretch of the map (past the lift's reach, where it would give the mean latent) the
        latents go straight in z between the last and the next point near the dots."""
        latents = self.lift(along)
        near = self.distance_to_data(along) < REACH  # (T,)
        if near.any() and not near.all():
            frames = np.arange(len(along))
            for d in range(self.dim):  # D is small: one np.interp per latent dimension
                latents[~near, d] = np.interp(frames[~near], frames[near], latents[near, d])
        return latents

    def _lift(self, uv: np.ndarray) -> np.ndarray:
        owner, index, t = self._within_reach(uv)
        weight = ((1.0 - t) / np.maximum(t, TINY)) ** POWER  # (P,): 1e18 on a dot, 0 at R
        total = np.bincount(owner, weight, minlength=len(uv)) + FAR_WEIGHT  # (N,)
        blend = np.outer(np.full(len(uv), FAR_WEIGHT), self.origin)  # (N, D)
        if len(owner):
            firsts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])  # owners come sorted
            blend[owner[firsts]] += np.add.reduceat(weight[:, None] * self.z[index], firsts, axis=0)
        return blend / total[:, None]

    def _within_reach(self, uv: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(owner, dot, d / R) for every dot within R of each map point uv (N, 2); owners ascending."""
        owner, index = self.index.around(uv, self.reach)
        t = np.hypot(*(self.xy[index] - uv[owner]).T) / self.reach
        near = t < 1.0
        return owner[near], index[near], t[near]

    def distance_to_data(self, uv: np.ndarray, beyond: float | None = None) -> np.ndarray:
        """(N, 2) map points -> (N,) distance to the nearest dot, in typical dot spacings: 0 on a dot, about 1
        between neighbouring dots, past a few in a gap; past REACH the lift fades to the mean latent. beyond: a
        distance (in spacings) past which the exact figure isn't wanted: inf there (a hover far out between a
        million dots' clusters would otherwise look at most of them)."""
        uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
        gap = np.full(len(uv), np.inf)  # (N,) map units
        todo, reach = np.arange(len(uv)), self.reach
        widest = 4 * self.reach if beyond is None else max(beyond * self.spacing, self.reach)
        while len(todo):  # once wider, for the points still without a dot
            reach = min(reach, widest)
            for start in range(0, len(todo), self.chunk):
                part = todo[start : start + self.chunk]
                owner, dot = self.index.around(uv[part], reach)
                nearest_gap = np.full(len(part), np.inf)
                np.minimum.at(nearest_gap, owner, np.hypot(*(self.xy[dot] - uv[part][owner]).T))
                gap[part] = np.where(nearest_gap <= reach, nearest_gap, np.inf)  # beyond reach: maybe not the nearest
            todo = todo[np.isinf(gap[todo])]
            if reach >= widest:
                break
            reach *= 4
        if beyond is not None:
            return gap / self.spacing
        for i in todo:  # far out: the index looks as far as it takes
            gap[i] = np.hypot(*(self.xy[self.index.nearest(uv[i], 1)[0]] - uv[i]))
        return gap / self.spacing

    def project(self, z: np.ndarray) -> np.ndarray:
        """(N, D) latents -> (N, 2) map points: each the map point of the nearest test latent (the test
        latents themselves land exactly on their dots)."""
        z = np.asarray(z, dtype=np.float32).reshape(-1, self.dim)
        if z.shape == self.z.shape and (z is self.z or np.array_equal(z, self.z)):
            return self.xy.copy()
        return self.xy[self.nearest_latent(z)]

    def nearest_latent(self, z: np.ndarray) -> np.ndarray:
        """(N, D) latents -> (N,) index of the nearest test latent to each (Euclidean, as explore.nearest)."""
        z = np.asarray(z, dtype=np.float32).reshape(-1, self.dim)
        if len(self.z) > INDEX_MIN_POINTS:  # exact through an index (spatial.index_for)
            if self._latent_index is None:
                plane = make_plane(self.z)
                self._latent_index = index_for(self.z, plane, plane.project(self.z))
            return np.array([self._latent_index.nearest(row, 1)[0] for row in z], dtype=np.int64)
        found = np.empty(len(z), dtype=np.int64)
        rows = max((1 << 20) // (len(self.z) * self.dim), 1)  # about a million differences at a time
        for start in range(0, len(z), rows):
            diff = self.z[None] - z[start : start + rows, None]  # (rows, M, D)
            found[start : start + rows] = np.einsum("nmd,nmd->nm", diff, diff).argmin(axis=1)
        return found


def queries_within(budget: int, index: GridIndex) -> int:
    """How many queries one pass of index.around may take so that the pairs stay within budget, however many dots
    share the densest cell (a query looks at its 3x3 cells, more for a wider reach: a generous guess)."""
    densest = int(np.diff(index.starts).max(initial=1))
    return int(min(CHUNK, max(budget // (25 * densest), 1)))


def typical_spacing(index: GridIndex, xy: np.ndarray) -> float:
    """The median distance from a dot to its nearest other dot on the map, over a stride sample of the dots
    (those with another dot in the grid cells around them); a floor keeps it above zero when most dots sit
    on top of each other."""
    count = min(SPACING_SAMPLE, queries_within(PAIR_BUDGET, index) * 4)  # fewer where dots stack up
    sample = np.arange(0, len(xy), max(len(xy) // count, 1))[:count]  # (S,)
    owner, dot = index.around(xy[sample], float(index.cell.min()))  # the 3x3 cells around each
    gap = np.hypot(*(xy[dot] - xy[sample[owner]]).T)
    gap[dot == sample[owner]] = np.inf  # not itself
    nearest_gap = np.full(len(sample), np.inf)
    np.minimum.at(nearest_gap, owner, gap)
    found = nearest_gap[np.isfinite(nearest_gap)]
    span = max(float(np.ptp(xy, axis=0).max()), 1e-12)
    return max(float(np.median(found)) if len(found) else span, span * 1e-9)


def projection_for(bundle: Bundle, strict: bool = False) -> MapProjection | Plane:
    """What the viewer shows a bundle on: its map when it has one (and the latent is more than 2-D), else
    explore.make_plane's plane (the latent itself up to 2-D, the PCA plane above)."""
    if bundle.latent_dim > 2:
        found = read_map(bundle, strict)
        if found is not None:
            xy, info = found
            return MapProjection(bundle.z, xy, info)
    return make_plane(bundle.z)
