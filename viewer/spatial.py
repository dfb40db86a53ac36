"""Exact k nearest neighbours among many latents, through a grid over the plotted plane (numpy only).

`explore.nearest` scans every latent: 20 ms a hover frame at a million points. The plane the scatter
shows is either the latent space itself (D = 2) or an orthonormal projection of it, so a point's distance
to the target in the plane is a lower bound of its full D-dimensional distance. A uniform grid over the
plane therefore answers exactly: take the points in the cells around the target, compute their full
distances the way `explore.nearest` does, and stop once every cell left out is farther away, in the plane
alone, than the k-th distance found. A hover frame then looks at a few hundred points, not a million.
"""

from __future__ import annotations

import numpy as np

from viewer.explore import Plane, nearest
from viewer.leaves import LeafIndex

POINTS_PER_CELL = 4  # on average; a hover looks at a few cells around the target, whatever M is
EDGE_PERCENT = 0.5  # the grid spans the 0.5th to 99.5th percentile of the points on each axis
SAMPLE = 65_536  # points the percentiles are taken from
MAX_CELLS = 1 << 22  # the cell table (8 bytes a cell) stays at 32 MB however many points there are
BRUTE_FRACTION = 0.1  # a window holding more of the points than this is no faster than the full scan
INDEX_MIN_POINTS = 50_000  # below this the viewer keeps the full scan (0.5 ms at 50,000 points)
SLACK = 1e-5  # relative: float32 distances and the float64 plane bound may differ by a few ulps


class GridIndex:
    """The latents sorted by grid cell over the plane, built once; `nearest` matches `explore.nearest`.

    The grid spans the central 99% of the points, where nearly all of them are; the rest fall into the
    edge cells (which reach out to infinity), so a few far outliers don't stretch every cell.
    """

    def __init__(self, z: np.ndarray, plane: Plane, points: np.ndarray | None = None):
        """z (M, D) float32 latents; points (M, 2) their plane coordinates, `plane.project(z)` if not given."""
        self.z, self.plane = z, plane
        uv = plane.project(z) if points is None else np.asarray(points, dtype=np.float64)  # (M, 2)
        sample = uv[:: max(len(uv) // SAMPLE, 1)]  # the central range from a stride sample: 30x faster, as good
        self.low, high = np.percentile(sample, [EDGE_PERCENT, 100 - EDGE_PERCENT], axis=0)
        span = high - self.low
        self.shape = grid_shape(len(z), span)  # (columns, rows)
        self.cell = np.maximum(span, 1e-12) / self.shape  # (2,) cell width and height in plane units
        col, row = self._cells(uv)
        cells = row * self.shape[0] + col  # (M,) row-major, so a row of cells in a window is one run of points
        self.order = np.argsort(cells)  # (M,) point indices, cell by cell (in any order within one: ties come later)
        counts = np.bincount(cells, minlength=self.shape[0] * self.shape[1])
        self.starts = np.concatenate([[0], np.cumsum(counts)])  # (cells + 1,) where each cell's points begin
        table = counts.reshape(self.shape[1], self.shape[0]).cumsum(axis=0).cumsum(axis=1)
        self.table = np.pad(table, ((1, 0), (1, 0)))  # (rows + 1, columns + 1) summed-area table: window counts

    def _cells(self, uv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Column and row of the cell each plane point (N, 2) falls in; points beyond the grid clamp to its edge."""
        # a column at a time: on (M, 2) at once, numpy's broadcasting takes 5x as long
        return tuple(
            np.clip(np.floor((uv[:, axis] - self.low[axis]) / self.cell[axis]), 0, self.shape[axis] - 1).astype(np.intp)
            for axis in (0, 1)
        )

    def nearest(self, target: np.ndarray, k: int, visible: np.ndarray | None = None) -> np.ndarray:
        """Indices of the k latents nearest to target (D,) among the visible ones, nearest first.

        The same answer as `explore.nearest(z, target, k, visible)`, distances computed alike; among points
        at exactly the same distance, the lower index comes first (the full scan's order there is arbitrary).
        Two steps: the smallest square of cells around the target holding k visible points gives an upper
        bound on the k-th distance; every point within that distance in the plane is then a candidate.
        """
        k = min(k, len(self.z))  # a tiny embedding has fewer points than neighbours asked for
        if k <= 0:
            return np.zeros(0, dtype=np.int64)
        uv = self.plane.project(np.asarray(target)[None])[0]  # (2,)
        col, row = (int(v[0]) for v in self._cells(uv[None]))
        radius = self._radius_holding(col, row, k)
        while radius is not None:
            window = self._window(col, row, radius)
            found, distances = self._candidates(self._positions(*window), target, visible)
            if len(found) >= k:
                reach = float(np.sqrt(np.partition(distances, k - 1)[k - 1])) * (1 + SLACK) + 1e-12
                if self._clearance(uv, window) >= reach:
                    return self._best(found, distances, k)
                positions = self._disc(uv, reach)  # nearer points may lie outside the square
                if positions is not None:
                    return self._best(*self._candidates(positions, target, visible), k)
            # too few shown here (hidden classes), or a reach so long its disc holds much of the embedding (a target
            # off the grid, whose edge cells gather far outliers): a wider square finds nearer points
            radius = self._wider(radius)
            if radius is not None and self._count(self._window(col, row, radius)) > BRUTE_FRACTION * len(self.z):
                break
        return nearest(self.z, target, k, visible)  # too much of the embedding to look at: scan it all

    def around(self, uv: np.ndarray, reach: float) -> tuple[np.ndarray, np.ndarray]:
        """(owner, index) pairs for plane points uv (N, 2): every point in the cells within reach of uv[owner],
        so every point within reach of it in the plane, and some more (whole cells); owners in ascending order.
        One vectorised pass for a whole batch (a hover, or a lattice of map tiles)."""
        uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
        (columns, rows), (col, row) = self.shape, self._cells(uv)
        cols_out, rows_out = (int(min(np.ceil(reach / self.cell[axis]), n)) for axis, n in enumerate(self.shape))
        c0, c1 = np.maximum(col - cols_out, 0), np.minimum(col + cols_out, columns - 1)  # (N,)
        r0, r1 = np.maximum(row - rows_out, 0), np.minimum(row + rows_out, rows - 1)
        spans = r1 - r0 + 1  # rows of cells each query looks at
        query = np.repeat(np.arange(len(uv)), spans)
        band = np.repeat(r0 - np.cumsum(spans) + spans, spans) + np.arange(int(spans.sum()))  # each query's rows
        begin, end = self.starts[band * columns + c0[query]], self.starts[band * columns + c1[query] + 1]
        return np.repeat(query, end - begin), self.order[self._runs(begin, end)]

    def _radius_holding(self, col: int, row: int, k: int) -> int | None:
        """The smallest radius whose square of cells around (col, row) holds k points, visible or not;
        None when it would hold more than BRUTE_FRACTION of them."""
        low, high = 0, max(self.shape)
        if self._count(self._window(col, row, high)) < k:
            return None
        while low < high:  # the count only grows with the radius
            middle = (low + high) // 2
            low, high = (middle + 1, high) if self._count(self._window(col, row, middle)) < k else (low, middle)
        return low if self._count(self._window(col, row, low)) <= BRUTE_FRACTION * len(self.z) else None

    def _wider(self, radius: int) -> int | None:
        radius = 2 * radius + 1
        return radius if radius <= max(self.shape) else None

    def _window(self, col: int, row: int, radius: int) -> tuple[int, int, int, int]:
        """(first column, last column, first row, last row) of the cells within radius of a cell, on the grid."""
        columns, rows = self.shape
        return max(col - radius, 0), min(col + radius, columns - 1), max(row - radius, 0), min(row + radius, rows - 1)

    def _count(self, window: tuple[int, int, int, int]) -> int:
        c0, c1, r0, r1 = window
        t = self.table
        return int(t[r1 + 1, c1 + 1] - t[r0, c1 + 1] - t[r1 + 1, c0] + t[r0, c0])

    def _positions(self, c0, c1, r0, r1) -> np.ndarray:
        """Positions in the sorted points of everything in columns c0..c1 of rows r0..r1 (scalars or (rows,))."""
        firsts = np.arange(r0, r1 + 1) * self.shape[0]
        return self._runs(self.starts[firsts + c0], self.starts[firsts + c1 + 1])

    @staticmethod
    def _runs(begin: np.ndarray, end: np.ndarray) -> np.ndarray:
        """The positions begin[i]..end[i] - 1 of each run, laid end to end."""
        lengths = end - begin
        return np.arange(int(lengths.sum())) + np.repeat(begin - (np.cumsum(lengths) - lengths), lengths)

    def _disc(self, uv: np.ndarray, reach: float) -> np.ndarray | None:
        """Positions of every point within reach of uv in the plane (and some more): for each row of cells the
        band reaches, the columns its chord spans. None when that is more than BRUTE_FRACTION of the points."""
        columns, rows = self.shape
        r0, r1 = np.clip(np.floor((uv[1] + np.array([-reach, reach]) - self.low[1]) / self.cell[1]), 0, rows - 1)
        band = np.arange(int(r0), int(r1) + 1)  # (rows,)
        bottom = self.low[1] + band * self.cell[1]  # each row's band; the edge rows reach to infinity
        below = np.where(band > 0, bottom, -np.inf)
        above = np.where(band < rows - 1, bottom + self.cell[1], np.inf)
        dy = np.maximum(np.maximum(below - uv[1], uv[1] - above), 0.0)
        half = np.sqrt(np.maximum(reach**2 - dy**2, 0.0))  # the chord's half-width in each band
        c0 = np.clip(np.floor((uv[0] - half - self.low[0]) / self.cell[0]), 0, columns - 1).astype(np.int64)
        c1 = np.clip(np.floor((uv[0] + half - self.low[0]) / self.cell[0]), 0, columns - 1).astype(np.int64)
        firsts = band * columns
        begin, end = self.starts[firsts + c0], self.starts[firsts + c1 + 1]
        if int((end - begin).sum()) > BRUTE_FRACTION * len(self.z):
            return None
        return self._runs(begin, end)

    def _candidates(self, positions: np.ndarray, target: np.ndarray, visible: np.ndarray | None):
        """(indices, squared distances) of the visible points at these sorted positions, as explore.nearest
        computes them: float32 differences, summed by einsum."""
        indices = self.order[positions]
        z = self.z[indices]
        if visible is not None:
            shown = visible[indices]
            indices, z = indices[shown], z[shown]
        diff = z - target.astype(z.dtype)
        return indices, np.einsum("ij,ij->i", diff, diff)

    def _clearance(self, uv: np.ndarray, window: tuple[int, int, int, int]) -> float:
        """How far, in the plane, the target is from any cell outside the window: a lower bound of the full
        distance to every point not looked at yet (infinite when the window is the whole grid)."""
        (c0, c1, r0, r1), (columns, rows) = window, self.shape
        x0, y0 = self.low + np.array([c0, r0]) * self.cell
        x1, y1 = self.low + np.array([c1 + 1, r1 + 1]) * self.cell
        gaps = [np.inf]
        if c0 > 0:
            gaps.append(uv[0] - x0)
        if c1 < columns - 1:
            gaps.append(x1 - uv[0])
        if r0 > 0:
            gaps.append(uv[1] - y0)
        if r1 < rows - 1:
            gaps.append(y1 - uv[1])
        return max(min(gaps) - 1e-9 * float(self.cell.max()), 0.0)  # less a hair, for floor() at a cell's edge

    @staticmethod
    def _best(indices: np.ndarray, distances: np.ndarray, k: int) -> np.ndarray:
        """The k nearest, nearest first, ties by index."""
        if len(indices) > k:  # sort only those at most the k-th distance away (ties with it included)
            near = distances <= np.partition(distances, k - 1)[k - 1]
            indices, distances = indices[near], distances[near]
        order = np.lexsort((indices, distances))[:k]
        return indices[order].astype(np.int64)


def grid_shape(count: int, span: np.ndarray) -> tuple[int, int]:
    """(columns, rows) for count points spread over span (2,): about POINTS_PER_CELL a cell, cells about
    square, so a 1-D latent (no spread up) gets one row of many columns."""
    cells = min(max(count // POINTS_PER_CELL, 1), MAX_CELLS)
    width, height = np.maximum(span, 1e-12)
    columns = int(np.clip(np.sqrt(cells * width / height), 1, cells))
    return columns, max(1, min(cells // columns, MAX_CELLS // columns))


def index_for(z: np.ndarray, plane: Plane, points: np.ndarray) -> GridIndex | LeafIndex | None:
    """An index for an embedding past INDEX_MIN_POINTS: the grid over its plane up to 2-D (the plane is the latent
    itself), leaves.LeafIndex above, where the plane alone bounds a distance too loosely; None below, where the
    full scan takes under a millisecond and small bundles keep exactly the neighbours they always had."""
    if len(z) <= INDEX_MIN_POINTS:
        return None
    return GridIndex(z, plane, points) if plane.dim <= 2 else LeafIndex(z, plane)
