"""Exact k nearest neighbours among many latents of more than two dimensions (numpy only).

spatial.GridIndex bounds a latent's distance by its distance in the PCA plane alone. An 8-D autoencoder's
latents spread about as much off that plane as on it, so a point between clusters (a map's blend of its dots)
is near no one in the plane's terms either: its bound let most of a million points through, 11 ms a hover.
Here the latents are sorted along a Z-order curve over their widest principal directions and cut into
leaves of LEAF consecutive latents; each leaf keeps its box (the low and high of every latent dimension).
A query bounds its distance to every leaf's box at once, then reads the leaves nearest first, and stops when
the next leaf's box is farther than the k-th distance found: an exact answer from a few thousand latents.
"""

from __future__ import annotations

import numpy as np

from viewer.explore import Plane

LEAF = 128  # latents a leaf: ~8,000 leaves for a million, their boxes bounded in one pass
ORDER_DIMS = 6  # principal directions the Z-order interleaves
ORDER_BITS = 4  # levels per direction (16): 24 bits
EDGE_PERCENT = 0.5  # the levels span the 0.5th to 99.5th percentile; the few beyond share the end levels
SAMPLE = 65_536  # latents the percentiles are taken from
READ = 16  # leaves read at a time, nearest first
SLACK = 1e-5  # relative: a box's float32 bound may round a few ulps above a member's float32 distance


class LeafIndex:
    """The latents in leaves along a Z-order curve, with each leaf's box; `nearest` matches `explore.nearest`."""

    def __init__(self, z: np.ndarray, plane: Plane):
        """z (M, D) float32 latents, D > 2; plane: their PCA plane, whose basis and extra give the directions."""
        self.z = z
        self.order = np.argsort(z_order(z, plane))  # (M,) latent indices, leaf by leaf
        self.sorted = z[self.order]  # (M, D): each leaf's latents side by side
        starts = np.arange(0, len(z), LEAF)
        self.low = np.minimum.reduceat(self.sorted, starts, axis=0)  # (L, D) each leaf's box
        self.high = np.maximum.reduceat(self.sorted, starts, axis=0)

    def nearest(self, target: np.ndarray, k: int, visible: np.ndarray | None = None) -> np.ndarray:
        """Indices of the k latents nearest to target (D,) among the visible ones, nearest first: the same as
        `explore.nearest(z, target, k, visible)`, distances computed alike; exact ties lowest index first."""
        target = np.asarray(target, dtype=self.z.dtype)
        if k <= 0:
            return np.zeros(0, dtype=np.int64)
        gap = np.maximum(self.low - target, 0) + np.maximum(target - self.high, 0)  # (L, D): one of the two is 0
        bound = np.einsum("ld,ld->l", gap, gap) * (1 - SLACK)
        leaves = np.argsort(bound, kind="stable")
        found, distances = np.zeros(0, np.int64), np.zeros(0, self.z.dtype)
        for start in range(0, len(leaves), READ):
            chunk = leaves[start : start + READ]
            if len(found) >= k and bound[chunk[0]] > np.partition(distances, k - 1)[k - 1]:
                break  # every leaf left is farther than the k-th found
            positions = (chunk[:, None] * LEAF + np.arange(LEAF)).ravel()
            positions = positions[positions < len(self.z)]
            index = self.order[positions]
            if visible is not None:
                shown = visible[index]
                positions, index = positions[shown], index[shown]
            diff = self.sorted[positions] - target
            found = np.concatenate([found, index])
            distances = np.concatenate([distances, np.einsum("ij,ij->i", diff, diff)])
            if len(found) > 4 * k:  # keep those at most the k-th distance away (ties with it included)
                near = distances <= np.partition(distances, k - 1)[k - 1]
                found, distances = found[near], distances[near]
        order = np.lexsort((found, distances))[:k]
        return found[order].astype(np.int64)


def z_order(z: np.ndarray, plane: Plane) -> np.ndarray:
    """(M,) each latent's place along a Z-order curve over its ORDER_DIMS widest principal directions: latents
    near each other in those sit near each other along it, so a run of them makes a compact leaf."""
    directions = np.concatenate([plane.basis, plane.extra], axis=1)[:, :ORDER_DIMS]  # (D, Q), widest first
    along = np.einsum("nd,dq->nq", z, directions.astype(z.dtype))  # (M, Q) float32, in one pass over z
    low, high = np.percentile(along[:: max(len(along) // SAMPLE, 1)], [EDGE_PERCENT, 100 - EDGE_PERCENT], axis=0)
    levels = 1 << ORDER_BITS
    code = np.zeros(len(z), dtype=np.uint32)  # ORDER_DIMS * ORDER_BITS bits
    for q in range(directions.shape[1]):
        scale = levels / max(high[q] - low[q], 1e-12)
        level = np.clip((along[:, q] - low[q]) * scale, 0, levels - 1).astype(np.uint32)
        for bit in range(ORDER_BITS):  # interleave: bit b of direction q goes to place b * Q + q
            code |= ((level >> bit) & 1) << (bit * directions.shape[1] + q)
    return code
