"""Export's timeline (export/timeline.py): which snapshots, aligned how, and the bundle and API that carry them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from export import export as export_module
from export.timeline import float16_weights, select
from tests.conftest import tiny_config
from training import train as train_module
from training.snapshots import INDEX, SNAPSHOTS
from viewer.align import procrustes
from viewer.api import open_bundle
from viewer.bundle import TIMELINE, BundleError, load_bundle
from viewer.bundle.timeline import read_timeline


def test_select_keeps_the_ends_and_spreads_the_rest_on_a_log_scale():
    steps = [0, 1, 2, 4, 8, 16, 32, 64, 128, 235, 256, 470, 512, 705, 940, 1024, 1175, 1410]
    chosen = select(steps, 6)
    assert len(chosen) == 6 and chosen == sorted(chosen) and chosen[0] == 0 and chosen[-1] == len(steps) - 1
    assert select(steps[:4], 6) == [0, 1, 2, 3]
    assert {steps[i] for i in chosen} & {1, 2, 4}  # the fast start is not skipped


@pytest.mark.parametrize("mirror", [False, True])
def test_procrustes_undoes_a_rotation_and_a_mirror(mirror: bool):
    rng = np.random.default_rng(0)
    target = rng.normal(size=(200, 2)) * [3.0, 1.0]
    angle = 0.7
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    own = (target @ turn) * ([-1.0, 1.0] if mirror else 1.0) + [5.0, -2.0]
    rotation, own_mean, target_mean = procrustes(own, target)
    np.testing.assert_allclose((own - own_mean) @ rotation + target_mean, target, atol=1e-9)
    np.testing.assert_allclose(rotation @ rotation.T, np.eye(2), atol=1e-12)


@pytest.fixture(scope="module")
def timeline_run(tiny_root: Path, tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("timeline") / "run"
    train_module.run(tiny_config(tiny_root, run_dir, epochs=2))
    return run_dir


@pytest.fixture(scope="module")
def timeline_bundle(timeline_run: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundles") / "tiny"
    export_module.export(timeline_run, out, data_root=None, name=None, force=False)
    return out


def test_float16_weights_halve_the_decoder_and_decode_as_before(timeline_run: Path):
    index = json.loads((timeline_run / SNAPSHOTS / INDEX).read_text())
    full = (timeline_run / SNAPSHOTS / index["snapshots"][-1]["decoder"]).read_bytes()
    half = float16_weights(full)
    assert len(half) < 0.6 * len(full)
    z = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32) * 2
    decode = [ort.InferenceSession(graph).run(None, {"z": z})[0] for graph in (full, half)]
    assert decode[1].dtype == np.float32
    np.testing.assert_allclose(decode[1], decode[0], atol=5e-3)


def mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(((a.astype(np.float64) - b) ** 2).mean())


def test_the_bundle_carries_the_runs_timeline(timeline_bundle: Path):
    """The issue's done-when, on the tiny data: at least 5 snapshots, and decoding at the dots of the first is
    clearly worse than at those of the last (the test images' own reconstructions, then and at the end)."""
    opened = open_bundle(timeline_bundle, strict=True)
    timeline = opened.timeline
    assert len(timeline) >= 5 and timeline[0].step == 0 and timeline[-1].last
    assert [snap.step for snap in timeline] == sorted({snap.step for snap in timeline})
    truth = opened.bundle.images_chw.astype(np.float64) / 255
    first, last = (mse(snap.decode_at(snap.map_xy), truth) for snap in (timeline[0], timeline[-1]))
    assert first > 1.5 * last, (first, last)
    assert abs(first - timeline[0].test_mse) < 0.01 * timeline[0].test_mse + 1e-3  # float16 weights, same answer
    np.testing.assert_array_equal(timeline[-1].map_xy, opened.map_xy)
    np.testing.assert_array_equal(timeline[-1].decode_at(opened.map_xy[:5]), opened.decode_at(opened.map_xy[:5]))


def test_aligned_snapshots_neither_spin_nor_flip(timeline_bundle: Path):
    """Each snapshot's dots are turned onto the last's: the mean displacement between neighbours is no more
    than without the alignment, and decoding there undoes it (the snapshot's own latents are reached)."""
    opened = open_bundle(timeline_bundle)
    found = read_timeline(opened.bundle)
    for i in range(len(found)):
        latents = found.own_plane(i, found.places(i))
        np.testing.assert_allclose(latents, found.latents(i), atol=1e-4)
        aligned = np.abs(found.places(i) - found.places(len(found) - 1)).mean()
        raw = np.abs(found.latents(i) - found.latents(len(found) - 1)).mean()
        assert aligned <= raw + 1e-6


def test_timeline_zero_and_a_run_without_snapshots_give_no_timeline(timeline_run: Path, tmp_path: Path):
    export_module.export(timeline_run, tmp_path / "none", data_root=None, name=None, force=False, timeline=0)
    bundle = load_bundle(tmp_path / "none", strict=True)
    assert bundle.meta.timeline is None and not (tmp_path / "none" / TIMELINE).exists()
    assert open_bundle(tmp_path / "none").timeline == ()


def test_a_damaged_timeline_is_refused_strictly_and_else_left_out(timeline_bundle: Path, tmp_path: Path):
    copy = tmp_path / "copy"
    shutil.copytree(timeline_bundle, copy)
    decoder = sorted((copy / TIMELINE).glob("step-*.onnx"))[0]
    decoder.write_bytes(decoder.read_bytes()[:-10])
    with pytest.raises(BundleError, match="SHA-256 differs"):
        open_bundle(copy, strict=True)
    opened = open_bundle(copy)
    assert opened.timeline == () and any("without its timeline" in w for w in opened.bundle.warnings)
    shutil.rmtree(copy / TIMELINE)  # what the wheel ships: the bundle opens as one without a timeline
    opened = open_bundle(copy, strict=True)
    assert opened.timeline == () and not opened.bundle.warnings


@pytest.mark.mnist
def test_two_epochs_on_3000_digits_give_a_timeline_that_learns(mnist_root: Path, tmp_path: Path):
    """The issue's done-when on real digits: a 2-epoch run on 3,000 of them, exported."""
    run_dir = tmp_path / "run"
    train_module.run(tiny_config(mnist_root, run_dir, epochs=2, train_limit=3000, hidden="512,128,64", batch_size=256))
    export_module.export(run_dir, tmp_path / "bundle", data_root=None, name=None, force=False)
    opened = open_bundle(tmp_path / "bundle", strict=True)
    assert len(opened.timeline) >= 5
    pick = np.arange(0, len(opened.bundle.z), 5)
    truth = opened.bundle.images_chw[pick].astype(np.float64) / 255
    first, last = (mse(s.decode_at(s.map_xy[pick]), truth) for s in (opened.timeline[0], opened.timeline[-1]))
    assert first > 2 * last, (first, last)
