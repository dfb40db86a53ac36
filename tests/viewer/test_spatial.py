"""The grid index (and the leaf index: test_leaves.py) answers exactly what the full scan (explore.nearest)
answers, on random data of every shape."""

from __future__ import annotations

import numpy as np
import pytest

from viewer.explore import make_plane, nearest
from viewer.leaves import LeafIndex
from viewer.spatial import INDEX_MIN_POINTS, GridIndex, grid_shape, index_for


def clustered(rng: np.random.Generator, count: int, dim: int) -> np.ndarray:
    """Latents like an autoencoder's: ten tight clusters, a wide cloud, and a few far outliers."""
    centres = rng.normal(scale=4.0, size=(10, dim))
    z = centres[rng.integers(0, 10, count)] + rng.normal(scale=0.4, size=(count, dim))
    z[: count // 10] = rng.normal(scale=6.0, size=(count // 10, dim))
    z[: max(count // 1000, 1)] *= 30.0
    return z.astype(np.float32)


def targets(rng: np.random.Generator, z: np.ndarray, count: int) -> np.ndarray:
    """Query points: on data points, between them, and well outside the embedding."""
    near = z[rng.integers(0, len(z), count)] + rng.normal(scale=0.05, size=(count, z.shape[1]))
    wide = rng.normal(scale=15.0, size=(count, z.shape[1]))
    far = rng.normal(scale=1.0, size=(count, z.shape[1])) + 500.0
    return np.concatenate([near, wide, far, z[:count]]).astype(np.float32)


def assert_same(index: GridIndex, z: np.ndarray, target: np.ndarray, k: int, visible=None) -> None:
    """The full scan's k nearest at the same float32 distances, and the same points in the same order once
    exact ties (which the full scan orders arbitrarily) are broken by index."""
    got = index.nearest(target, k, visible)
    want = nearest(z, target, k, visible)
    diff = z - target.astype(z.dtype)
    distances = np.einsum("ij,ij->i", diff, diff)
    np.testing.assert_array_equal(distances[got], distances[want])
    candidates = np.flatnonzero(visible) if visible is not None else np.arange(len(z))
    by_index = candidates[np.lexsort((candidates, distances[candidates]))][: len(want)]
    np.testing.assert_array_equal(got, by_index)


@pytest.mark.parametrize("kind", [GridIndex, LeafIndex])
@pytest.mark.parametrize("dim", [2, 3, 8, 16])
@pytest.mark.parametrize("count", [7, 500, 20_000])
def test_matches_the_full_scan(kind, dim: int, count: int):
    rng = np.random.default_rng(dim * 1000 + count)
    z = clustered(rng, count, dim)
    index = kind(z, make_plane(z))
    for target in targets(rng, z, 25):
        for k in (k for k in (1, 4, 9) if k <= count):  # the full scan itself wants k <= M without a mask
            assert_same(index, z, target, k)


@pytest.mark.parametrize("kind", [GridIndex, LeafIndex])
@pytest.mark.parametrize("dim", [2, 8])
def test_matches_the_full_scan_with_classes_hidden(kind, dim: int):
    rng = np.random.default_rng(dim)
    z = clustered(rng, 20_000, dim)
    labels = rng.integers(0, 10, len(z))
    index = kind(z, make_plane(z))
    for hidden in ([3], [0, 1, 2, 4, 5, 6, 7, 8], list(range(9))):
        visible = ~np.isin(labels, hidden)
        for target in targets(rng, z, 10):
            assert_same(index, z, target, 4, visible)
    nothing = np.zeros(len(z), bool)
    assert len(index.nearest(z[0], 4, nothing)) == 0 == len(nearest(z, z[0], 4, nothing))


def test_fewer_visible_points_than_k_gives_them_all():
    rng = np.random.default_rng(1)
    z = clustered(rng, 5_000, 2)
    visible = np.zeros(len(z), dtype=bool)
    visible[[10, 2000, 4999]] = True
    index = GridIndex(z, make_plane(z))
    assert_same(index, z, z[0], 4, visible)
    assert len(index.nearest(z[0], 4, visible)) == 3
    assert len(index.nearest(z[0], 4, np.zeros(len(z), dtype=bool))) == 0
    assert len(index.nearest(z[0], 0)) == 0


def test_a_one_dimensional_latent_gets_one_row_of_cells():
    rng = np.random.default_rng(2)
    z = rng.normal(size=(20_000, 1)).astype(np.float32)
    plane = make_plane(z)
    index = GridIndex(z, plane)
    assert index.shape[1] == 1 and index.shape[0] == 20_000 // 4
    for target in targets(rng, z, 20):
        assert_same(index, z, target, 4)


def test_the_given_plane_points_are_used_as_they_are():
    rng = np.random.default_rng(3)
    z = clustered(rng, 10_000, 8)
    plane = make_plane(z)
    index = GridIndex(z, plane, plane.project(z))
    for target in targets(rng, z, 10):
        assert_same(index, z, target, 4)


def test_tied_distances_come_lowest_index_first():
    """Copies of a point sit at exactly the same distance; the full scan may order them either way."""
    rng = np.random.default_rng(4)
    z = clustered(rng, 2_000, 2)
    z[[5, 50, 500]] = z[7]
    index = GridIndex(z, make_plane(z))
    got = index.nearest(z[7], 4)
    assert list(got) == [5, 7, 50, 500]
    assert sorted(got) == sorted(nearest(z, z[7], 4))


def test_grid_shape_follows_the_spread():
    assert grid_shape(1_000_000, np.array([1.0, 1.0])) == (500, 500)
    columns, rows = grid_shape(1_000_000, np.array([4.0, 1.0]))
    assert columns > 3 * rows
    assert grid_shape(10, np.array([0.0, 0.0])) == (1, 2)


def test_small_embeddings_keep_the_full_scan():
    rng = np.random.default_rng(5)
    small, large = (clustered(rng, count, 2) for count in (INDEX_MIN_POINTS, INDEX_MIN_POINTS + 1))
    assert index_for(small, make_plane(small), small.astype(np.float64)) is None
    assert isinstance(index_for(large, make_plane(large), large.astype(np.float64)), GridIndex)


def test_a_target_off_the_grid_looks_wider_not_at_everything(monkeypatch):
    """Off the grid, the edge cell a target clamps to gathers outliers strung along the whole edge, so the first
    square's reach can span most of the embedding (the shipped mnist-ae's latents, tiled: a hover at the home
    view's corner scanned all million points, 10 ms); wider squares find the near points instead."""
    from benchmarks.synthetic import jittered_latents
    from tests.helpers import ROOT
    from viewer import spatial
    from viewer.bundle import load_bundle

    source = load_bundle(ROOT / "models" / "mnist-ae").z
    z = jittered_latents(source, np.random.default_rng(0).integers(0, len(source), 200_000))
    index = GridIndex(z, make_plane(z))
    scans = []
    monkeypatch.setattr(spatial, "nearest", lambda *args: scans.append(1) or nearest(*args))
    for target in np.array([[-30.7, -16.1], [-30.7, -18.2], [-27.9, -14.0], [-29.3, -11.9]], np.float32):
        assert_same(index, z, target, 4)
    assert scans == []  # every one answered from the grid
