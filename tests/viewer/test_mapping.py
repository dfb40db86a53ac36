"""The map's two directions (viewer/mapping.py) on small generated data, and a bundle that carries a map."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import ROOT
from viewer.bundle import MAP, METADATA, BundleError, MapInfo, load_bundle
from viewer.explore import Plane
from viewer.mapping import FAR_WEIGHT, REACH, MapProjection, projection_for, read_map

EIGHT_D = ROOT / "models" / "mnist-ae-8d"


def clusters(m: int = 400, dim: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Latents (m, dim) in four classes, and a map (m, 2) that puts each class in its own blob."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 4, m)
    z = (rng.normal(size=(4, dim)) * 3)[label] + rng.normal(size=(m, dim))
    xy = np.array([[0, 0], [10, 0], [0, 10], [10, 10]])[label] + rng.normal(size=(m, 2))
    return z.astype(np.float32), xy.astype(np.float32)


@pytest.fixture(scope="module")
def projection() -> MapProjection:
    z, xy = clusters()
    return MapProjection(z, xy)


def test_lift_is_exact_at_every_dot(projection: MapProjection):
    lifted = projection.lift(projection.xy, np.zeros(0))
    assert lifted.dtype == np.float32 and lifted.shape == projection.z.shape
    np.testing.assert_array_equal(lifted, projection.z)


def test_lift_is_continuous_between_dots_and_across_the_empty_middle(projection: MapProjection):
    """Along a line through a blob, out of it and into the next, the lifted latent moves in ever smaller steps as
    the line is sampled more finely: no jumps, though the dots within reach change all along."""
    spread = float(np.ptp(projection.z, axis=0).max())
    steps = []
    for count in (2_000, 8_000, 32_000):
        line = np.linspace([-3.0, 0.3], [13.0, 0.3], count)
        lifted = projection.lift(line).astype(np.float64)
        steps.append(np.abs(np.diff(lifted, axis=0)).max() / spread)
    assert steps[2] < steps[1] < steps[0], steps
    assert steps[2] < steps[0] / 8  # shrinks with the step, as a continuous function's must


def test_far_from_the_dots_lift_gives_the_mean_and_distance_says_far(projection: MapProjection):
    far = np.array([[100.0, 100.0], [5.0, 5.0], [-40.0, 3.0]])
    distance = projection.distance_to_data(far)
    assert (distance > REACH).all(), distance
    np.testing.assert_allclose(projection.lift(far), np.repeat(projection.origin[None], 3, 0), rtol=1e-5, atol=1e-5)
    assert FAR_WEIGHT < 1e-2  # near the dots the mean weighs next to nothing


def test_distance_to_data_is_zero_on_a_dot_and_in_spacings_between(projection: MapProjection):
    np.testing.assert_array_equal(projection.distance_to_data(projection.xy[:50]), 0.0)
    a, b = projection.xy[0], projection.xy[projection.index.nearest(projection.xy[0], 2)[1]]
    halfway = projection.distance_to_data(((a + b) / 2)[None])[0]
    assert halfway == pytest.approx(np.hypot(*(a - b)) / 2 / projection.spacing, rel=1e-9)


def test_a_hovers_distance_is_exact_up_to_beyond_and_far_past_it(projection: MapProjection, monkeypatch):
    """The window asks only up to `beyond` spacings (past it the tile has long faded): far out it is inf, found
    without the index's search of every dot."""
    rng = np.random.default_rng(4)
    near = projection.xy[:50] + rng.normal(scale=projection.spacing * 3, size=(50, 2))
    far = projection.xy.mean(axis=0) + rng.normal(scale=200 * projection.spacing, size=(50, 2))
    uv = np.concatenate([near, far])
    exact = projection.distance_to_data(uv)
    monkeypatch.setattr(projection.index, "nearest", lambda *args: pytest.fail("searched every dot"))
    got = projection.distance_to_data(uv, beyond=16)
    within = exact <= 16
    assert within.sum() > 40 and (~within).sum() > 20  # both kinds of place were tried
    np.testing.assert_allclose(got[within], exact[within])
    assert np.isinf(got[~within]).all()


def test_batched_lift_matches_one_point_at_a_time(projection: MapProjection):
    points = np.random.default_rng(1).uniform(-3, 13, size=(300, 2))
    batch = projection.lift(points)
    one_by_one = np.concatenate([projection.lift(point[None]) for point in points])
    np.testing.assert_allclose(batch, one_by_one, rtol=1e-6, atol=1e-6)


def test_project_puts_a_latent_on_the_dot_of_its_nearest_test_latent(projection: MapProjection):
    np.testing.assert_array_equal(projection.project(projection.z), projection.xy)
    rng = np.random.default_rng(2)
    queries = projection.z[:40] + rng.normal(scale=0.05, size=(40, projection.dim)).astype(np.float32)
    distances = ((queries[:, None] - projection.z[None]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(projection.project(queries), projection.xy[distances.argmin(axis=1)])
    # round trip: a latent placed on the map and lifted back is its nearest test latent
    np.testing.assert_array_equal(projection.lift(projection.project(queries)), projection.z[distances.argmin(axis=1)])


def test_project_past_the_grid_threshold_is_still_exact():
    z, xy = clusters(m=60_000, dim=4, seed=3)
    big = MapProjection(z, xy)
    queries = z[::6000] + 0.01
    brute = np.array([((z - q) ** 2).sum(axis=1).argmin() for q in queries])
    np.testing.assert_array_equal(big.nearest_latent(queries), brute)


def test_the_plane_interface_the_viewer_uses(projection: MapProjection):
    assert projection.dim == 5 and projection.extra_dims == 0
    assert projection.extra.shape == (5, 0) and projection.extra_std.shape == (0,)


# A bundle carrying a map


def add_map(bundle: Path, xy: np.ndarray, **changes) -> None:
    """Store map.npz and bundle.json's record of it by hand, as python -m export.map does."""
    buffer = io.BytesIO()
    np.savez(buffer, xy=xy.astype(np.float32))
    (bundle / MAP).write_bytes(buffer.getvalue())
    meta = json.loads((bundle / METADATA).read_text())
    info = MapInfo("pca", "numpy", np.__version__, 0, len(xy), len(xy), meta["files"]["embedding.npz"])
    meta["map"] = info.to_dict() | changes
    meta["files"][MAP] = hashlib.sha256(buffer.getvalue()).hexdigest()
    (bundle / METADATA).write_text(json.dumps(meta, indent=2))


@pytest.fixture
def mapped(tmp_path: Path) -> Path:
    copy = tmp_path / "mapped"
    shutil.copytree(EIGHT_D, copy)
    (copy / MAP).unlink(missing_ok=True)
    z = load_bundle(copy).z
    add_map(copy, z[:, :2] * 2 + z[:, 2:4])  # any map will do
    return copy


def test_a_bundle_with_a_map_loads_and_shows_its_map(mapped: Path):
    bundle = load_bundle(mapped, strict=True)
    projection = projection_for(bundle, strict=True)
    assert isinstance(projection, MapProjection) and projection.info.method == "pca"
    np.testing.assert_array_equal(projection.project(bundle.z), read_map(bundle)[0])


def test_a_changed_map_file_warns_or_with_strict_fails(mapped: Path):
    xy = np.load(mapped / MAP)["xy"]
    buffer = io.BytesIO()
    np.savez(buffer, xy=xy + 1)
    (mapped / MAP).write_bytes(buffer.getvalue())
    with pytest.raises(BundleError, match="SHA-256 differs"):
        projection_for(load_bundle(mapped), strict=True)
    bundle = load_bundle(mapped)
    assert isinstance(projection_for(bundle), MapProjection)
    assert any("map.npz" in line for line in bundle.warnings)


def test_a_map_of_another_embedding_is_not_used(mapped: Path):
    add_map(mapped, np.load(mapped / MAP)["xy"], embedding_sha256="0" * 64)
    bundle = load_bundle(mapped)
    assert isinstance(projection_for(bundle), Plane)
    assert any("another embedding.npz" in line for line in bundle.warnings)
    with pytest.raises(BundleError, match="another embedding.npz"):
        projection_for(load_bundle(mapped), strict=True)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"method": "mds"}, "map.method"),
        ({"seed": "0"}, "map.seed"),
        ({"points": 7}, "map.points"),
        ({"fitted": 0}, "map.fitted"),
    ],
)
def test_a_bad_map_record_is_one_clear_error(mapped: Path, change: dict, message: str):
    add_map(mapped, np.load(mapped / MAP)["xy"], **change)
    with pytest.raises(BundleError, match=message):
        projection_for(load_bundle(mapped))


def test_a_map_of_the_wrong_shape_is_refused(mapped: Path):
    xy = np.load(mapped / MAP)["xy"]
    add_map(mapped, xy[:-1], points=len(xy))
    with pytest.raises(BundleError, match=r"float32 \[10000, 2\]"):
        projection_for(load_bundle(mapped))


def test_mapping_and_api_import_no_torch_umap_numba_or_sklearn():
    code = (
        "import sys; import viewer.mapping, viewer.api; "
        "heavy = [m for m in ('torch', 'umap', 'numba', 'sklearn', 'openTSNE', 'pygame') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr


def test_a_collapsed_map_builds_and_lifts_within_bounded_memory():
    """A collapsed model's map puts every dot on one point: each query then sees every dot. A hostile pass found
    it allocating 381 MiB for the spacing alone (2.8 GB in all); the passes are now sized by the densest cell."""
    import tracemalloc

    z = np.random.default_rng(0).standard_normal((10_000, 8)).astype(np.float32)
    tracemalloc.start()
    projection = MapProjection(z, np.zeros((10_000, 2)))
    lattice = np.stack(np.meshgrid(np.linspace(-1, 1, 32), np.linspace(-1, 1, 32)), axis=-1).reshape(-1, 2)
    lifted = projection.lift(lattice)
    projection.distance_to_data(lattice[:64])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert lifted.shape == (1024, 8) and np.isfinite(lifted).all()
    assert peak < 150 * 2**20, f"{peak / 2**20:.0f} MiB"
