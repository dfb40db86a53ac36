"""The leaf index answers exactly what the full scan (explore.nearest) answers, for latents above 2-D (and on
test_spatial.py's random data of every shape, beside the grid index)."""

from __future__ import annotations

import numpy as np

from tests.viewer.test_spatial import assert_same, clustered
from viewer import leaves
from viewer.explore import make_plane, nearest
from viewer.leaves import LeafIndex
from viewer.spatial import INDEX_MIN_POINTS, GridIndex, index_for


def test_no_neighbours_asked_for_is_none_found():
    z = np.random.default_rng(0).normal(size=(1000, 8)).astype(np.float32)
    assert len(LeafIndex(z, make_plane(z)).nearest(z[0], 0)) == 0 == len(nearest(z, z[0], 0))


def test_tied_distances_come_lowest_index_first():
    z = np.repeat(np.eye(5, dtype=np.float32)[None, 0], 300, axis=0)  # 300 copies of one point
    z[150:] += 1.0
    assert list(LeafIndex(z, make_plane(z)).nearest(z[0], 4)) == [0, 1, 2, 3]


def test_a_point_between_clusters_reads_a_few_leaves_not_all(monkeypatch):
    """The reason for the index: a blend of two clusters' latents, near no one, still looks at a few leaves."""
    rng = np.random.default_rng(3)
    z = clustered(rng, 100_000, 8)
    index = LeafIndex(z, make_plane(z))
    read = []
    real = np.einsum
    monkeypatch.setattr(leaves.np, "einsum", lambda spec, *a: read.append(len(a[0])) or real(spec, *a))
    between = (z[z[:, 0] > 2][0] + z[z[:, 0] < -2][0]) / 2  # halfway between two far latents
    found = index.nearest(between, 4)
    monkeypatch.undo()
    assert_same(index, z, between, 4)
    assert sum(read[1:]) < len(z) / 10, sum(read[1:])  # the distances computed: a small part of the embedding
    assert len(found) == 4


def test_index_for_takes_the_grid_up_to_2_d_and_leaves_above():
    rng = np.random.default_rng(1)
    for dim, kind in ((2, GridIndex), (8, LeafIndex)):
        z = clustered(rng, INDEX_MIN_POINTS + 1, dim)
        plane = make_plane(z)
        assert isinstance(index_for(z, plane, plane.project(z)), kind)
