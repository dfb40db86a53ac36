"""python -m export.map: a seeded map of a bundle's latents, stored atomically beside them, without torch."""

from __future__ import annotations

import dataclasses
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from export import map as export_map
from tests.helpers import ROOT, assert_one_line_error, run_module
from viewer.bundle import DECODER, EMBEDDING, ENCODER, MAP, METADATA, load_bundle, write_bundle
from viewer.mapping import MapProjection, projection_for, read_map

EIGHT_D = ROOT / "models" / "mnist-ae-8d"


def small_bundle(out: Path, count: int = 300) -> Path:
    """The shipped 8-D bundle cut to its first `count` test images."""
    shipped = load_bundle(EIGHT_D)
    buffer = io.BytesIO()
    np.savez(buffer, z=shipped.z[:count], labels=shipped.labels[:count], images=shipped.images[:count])
    files = {DECODER: EIGHT_D / DECODER, ENCODER: EIGHT_D / ENCODER, EMBEDDING: buffer.getvalue()}
    meta = dataclasses.replace(shipped.meta, files={}, map=None)
    write_bundle(out, files, meta)
    return out


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return small_bundle(tmp_path / "small")


def test_pca_map_is_seeded_stored_and_verified(bundle: Path, tmp_path: Path):
    assert export_map.main([str(bundle), "--method", "pca", "--seed", "3"]) == 0
    first = (bundle / MAP).read_bytes()
    loaded = load_bundle(bundle, strict=True)  # every hash, the map's too, verifies
    xy, info = read_map(loaded, strict=True)
    assert xy.shape == (300, 2) and info.method == "pca" and info.seed == 3 and info.points == info.fitted == 300
    assert info.library == "numpy" and info.version == np.__version__
    projection = projection_for(loaded, strict=True)
    assert isinstance(projection, MapProjection)
    np.testing.assert_array_equal(projection.lift(xy), loaded.z)
    assert export_map.main([str(bundle), "--method", "pca", "--seed", "3"]) == 0
    assert (bundle / MAP).read_bytes() == first  # same bundle and seed, same map
    other = small_bundle(tmp_path / "other")
    assert export_map.main([str(other), "--method", "pca", "--seed", "3"]) == 0
    assert (other / MAP).read_bytes() == first


@pytest.mark.parametrize("method, module, library", [("umap", "umap", "umap-learn"), ("tsne", "openTSNE", "openTSNE")])
def test_a_nonlinear_map_is_the_same_for_the_same_seed(bundle: Path, method: str, module: str, library: str):
    pytest.importorskip(module)
    maps = []
    for seed in (0, 0, 1):
        assert export_map.main([str(bundle), "--method", method, "--seed", str(seed)]) == 0
        maps.append(np.load(bundle / MAP)["xy"])
    np.testing.assert_array_equal(maps[0], maps[1])
    assert not np.array_equal(maps[0], maps[2])
    xy, info = read_map(load_bundle(bundle, strict=True), strict=True)
    assert info.library == library and info.seed == 1 and np.isfinite(xy).all()


def test_past_the_fit_limit_the_rest_is_placed_on_the_sample_map(bundle: Path):
    pytest.importorskip("umap")
    assert export_map.main([str(bundle), "--method", "umap", "--fit-limit", "200"]) == 0
    xy, info = read_map(load_bundle(bundle, strict=True), strict=True)
    assert info.fitted == 200 and info.points == 300 and np.isfinite(xy).all()


def test_ctrl_c_leaves_the_bundle_as_it_was(bundle: Path, monkeypatch, capsys):
    before = (bundle / METADATA).read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(export_map, "compute_map", interrupted)
    assert export_map.main([str(bundle), "--method", "pca"]) == 130
    assert capsys.readouterr().err.strip().splitlines() == ["interrupted: the bundle is as it was"]
    assert (bundle / METADATA).read_bytes() == before and not (bundle / MAP).exists()


def test_a_bundle_with_a_map_can_still_be_replaced_by_export(bundle: Path):
    assert export_map.main([str(bundle), "--method", "pca"]) == 0
    shipped = load_bundle(bundle)
    files = {name: bundle / name for name in (DECODER, ENCODER, EMBEDDING)}
    meta = dataclasses.replace(shipped.meta, files={}, map=None)
    write_bundle(bundle, files, meta, force=True)  # map.npz is a bundle file: --force may replace it
    assert not (bundle / MAP).exists() and load_bundle(bundle, strict=True).meta.map is None


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["no/such/bundle"], "no such bundle folder"),
        (["models/mnist-ae", "--method", "pca"], "no map needed"),
        (["models/mnist-ae-8d", "--method", "mds"], "invalid choice"),
        (["models/mnist-ae-8d", "--seed", "-1"], "--seed"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], fragment: str):
    assert_one_line_error(run_module("export.map", *args, timeout=120), fragment)


def test_export_map_never_imports_torch(bundle: Path):
    code = (
        "import sys; from export.map import main; rc = main([sys.argv[1], '--method', 'pca']); "
        "assert 'torch' not in sys.modules, 'torch imported'; sys.exit(rc)"
    )
    done = subprocess.run([sys.executable, "-c", code, str(bundle)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
