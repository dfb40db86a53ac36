"""The numbers behind exploring: the plotted plane, zoom and pan, neighbours, paths, grids, drawing.

numpy only, no pygame and no inference, so every piece is testable on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from viewer.bundle import view_bounds


@dataclass(frozen=True)
class Plane:
    """The 2-D plane the scatter shows, inside a D-dimensional latent space.

    For D = 2 it is the latent space itself. For D > 2 it is the plane of the embedding's first two
    principal components through its mean; the other components are `extra`, moved by keys. For D = 1
    the latent is the x axis and y is not a latent direction (every point sits at y = 0).
    """

    origin: np.ndarray  # (D,) float64
    basis: np.ndarray  # (D, 2): orthonormal columns for D > 2, the identity for D = 2
    extra: np.ndarray  # (D, D - 2): the remaining principal directions
    extra_std: np.ndarray  # (D - 2,): the embedding's spread along each, the step unit for keys

    @property
    def dim(self) -> int:
        return len(self.origin)

    @property
    def extra_dims(self) -> int:
        """How many further principal components the offsets move along: D - 2, or none."""
        return self.extra.shape[1]

    def project(self, z: np.ndarray) -> np.ndarray:
        """(N, D) latents -> (N, 2) plane coordinates."""
        # einsum, not @: numpy hands a tall, thin matmul to multithreaded OpenBLAS, whose threads stall for up to
        # half a second at a million points when other work shares the cores; einsum's own loop takes ~20 ms
        return np.einsum("nd,dk->nk", np.asarray(z, dtype=np.float64) - self.origin, self.basis)

    def lift(self, uv: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """(N, 2) plane coordinates, plus offsets (in std units) along the extra directions -> (N, D) float32."""
        uv = np.atleast_2d(np.asarray(uv, dtype=np.float64))
        z = self.origin + uv @ self.basis.T + (self.extra @ (np.asarray(offsets) * self.extra_std))
        return z.astype(np.float32)


PLANE_SAMPLE = 65_536  # past this many latents the PCA plane is fitted to a stride sample: 1M 8-D in 10 ms, not 160


def make_plane(z: np.ndarray) -> Plane:
    dim = np.shape(z)[1]
    if dim <= 2:
        return Plane(np.zeros(dim), np.eye(dim, 2), np.zeros((dim, 0)), np.zeros(0))
    z = np.asarray(z[:: max(len(z) // PLANE_SAMPLE, 1)], dtype=np.float64)
    mean = z.mean(axis=0)
    # Fewer points than dimensions (a 1-point embedding): full matrices, so vt still holds D directions; U is small.
    _, singular, vt = np.linalg.svd(z - mean, full_matrices=len(z) < dim)
    singular = np.pad(singular, (0, dim - len(singular)))  # the directions no point spans have no spread
    std = singular / np.sqrt(max(len(z) - 1, 1))
    return Plane(mean, vt[:2].T, vt[2:].T, std[2:])


def plane_bounds(plane: Plane, points: np.ndarray, bundle_bounds: np.ndarray) -> np.ndarray:
    """The home view: the bundle's own bounds for a 2-D latent, else those of the embedding's `points` (N, 2) on
    the plane (a stride sample of PLANE_SAMPLE past that many: its percentiles are as good)."""
    if plane.dim == 2:
        return np.asarray(bundle_bounds, dtype=np.float64)
    if plane.dim == 1:  # x is the latent; y, which no latent moves, shows a band around the line of dots
        x_low, x_high = np.asarray(bundle_bounds, dtype=np.float64)[0]
        half = (x_high - x_low) / 4
        return np.array([[x_low, x_high], [-half, half]])
    return np.asarray(view_bounds(points[:: max(len(points) // PLANE_SAMPLE, 1)]), dtype=np.float64)


def equal_scales(view: np.ndarray) -> np.ndarray:
    """Widen the narrower axis of a view about its centre so both have the same span: on the square plot a unit
    is then as long across as up, and distances (a VAE's round prior, say) look as they are."""
    centre, half = view.mean(axis=1), np.ptp(view, axis=1).max() / 2
    return np.stack([centre - half, centre + half], axis=1)


def zoom(view: np.ndarray, anchor: np.ndarray, factor: float) -> np.ndarray:
    """Scale the view about an anchor point (which stays under the cursor); factor < 1 zooms in."""
    anchor = np.asarray(anchor, dtype=np.float64)[:, None]
    return anchor + (view - anchor) * factor


def pan(view: np.ndarray, start: np.ndarray, now: np.ndarray) -> np.ndarray:
    """Move the view so the latent point grabbed at `start` follows the cursor to `now`."""
    return view - (np.asarray(now) - np.asarray(start))[:, None]


def nearest(points: np.ndarray, target: np.ndarray, k: int, visible: np.ndarray | None = None) -> np.ndarray:
    """Indices of the k rows of points nearest to target (Euclidean), nearest first; all of them, when there
    are k or fewer (an embedding of 1 to 3 points asks for more neighbours than it has)."""
    diff = points - target.astype(points.dtype)
    distances = np.einsum("ij,ij->i", diff, diff)  # one pass, no (N, D) temporary for the squares
    k = min(k, len(distances))
    if visible is not None:
        distances[~visible] = np.inf
        k = min(k, int(visible.sum()))
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(distances, k - 1)[:k]
    return part[np.argsort(distances[part])]


def segment(a: np.ndarray, b: np.ndarray, count: int) -> np.ndarray:
    """count points from a to b inclusive: (count, D) float32."""
    t = np.linspace(0.0, 1.0, count)[:, None]
    return ((1 - t) * a + t * b).astype(np.float32)


def grid_centres(view: np.ndarray, n: int) -> np.ndarray:
    """(n * n, 2) plane points at the centres of an n-by-n tiling of the view, rows from the top."""
    (x0, x1), (y0, y1) = view
    xs = x0 + (np.arange(n) + 0.5) / n * (x1 - x0)
    ys = y1 - (np.arange(n) + 0.5) / n * (y1 - y0)
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


def grid_nodes(view: np.ndarray, n: int) -> np.ndarray:
    """(n * n, 2) plane points on an n-by-n lattice spanning the view, corners included, rows from the bottom."""
    (x0, x1), (y0, y1) = view
    gx, gy = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


def bilinear(images: np.ndarray, view: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Interpolate a lattice of decoded images (n, n, C, H, W) from `grid_nodes` at plane point uv -> (C, H, W)."""
    n = images.shape[0]
    (x0, x1), (y0, y1) = view
    fx = np.clip((uv[0] - x0) / (x1 - x0), 0.0, 1.0) * (n - 1)
    fy = np.clip((uv[1] - y0) / (y1 - y0), 0.0, 1.0) * (n - 1)
    i0, j0 = min(int(fy), n - 2), min(int(fx), n - 2)
    ty, tx = fy - i0, fx - j0
    top = (1 - tx) * images[i0, j0] + tx * images[i0, j0 + 1]
    bottom = (1 - tx) * images[i0 + 1, j0] + tx * images[i0 + 1, j0 + 1]
    return ((1 - ty) * top + ty * bottom).astype(np.float32)


def brush(canvas: np.ndarray, x: float, y: float, radius: float = 0.9) -> np.ndarray:
    """Paint a soft round dab at pixel (x, y) of a (..., H, W) canvas in [0, 1], like an MNIST pen stroke."""
    rows, cols = np.mgrid[0 : canvas.shape[-2], 0 : canvas.shape[-1]]
    dab = np.exp(-((rows - y) ** 2 + (cols - x) ** 2) / (2 * radius**2))
    return np.maximum(canvas, np.clip(dab * 1.3, 0.0, 1.0)).astype(np.float32)


def stroke(canvas: np.ndarray, start: tuple[float, float], end: tuple[float, float]) -> np.ndarray:
    """Dabs along a segment, close enough together that a fast mouse still draws a line."""
    steps = max(int(np.hypot(end[0] - start[0], end[1] - start[1]) * 2), 1)
    for t in np.linspace(0.0, 1.0, steps + 1):
        canvas = brush(canvas, start[0] + t * (end[0] - start[0]), start[1] + t * (end[1] - start[1]))
    return canvas
