"""Export: a tiny run becomes a bundle the viewer opens; parity with torch; nothing half-written."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from export import export as export_module
from export import torch_to_onnx
from tests.helpers import assert_one_line_error, run_module
from training import train as train_module
from training.config import TrainConfig
from viewer.bundle import DECODER, ENCODER, load_bundle


@pytest.fixture(scope="module")
def tiny_run(tiny_root: Path, tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("run") / "run"
    config = TrainConfig(
        data_root=str(tiny_root), run_dir=str(run_dir), epochs=2, batch_size=64, device="cpu", hidden="64,32"
    )
    train_module.run(config)
    return run_dir


@pytest.fixture(scope="module")
def tiny_bundle(tiny_run: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundles") / "tiny"
    export_module.export(tiny_run, out, data_root=None, name=None, force=False)
    return out


def test_bundle_loads_strictly_and_records_its_run(tiny_bundle: Path):
    bundle = load_bundle(tiny_bundle, strict=True)
    assert bundle.latent_dim == 2 and bundle.image_shape == (1, 28, 28)
    assert bundle.z.shape == (256, 2) and bundle.images.shape == (256, 1, 28, 28)
    assert bundle.meta.train_config["epochs"] == 2
    assert bundle.meta.versions["opset"] == torch_to_onnx.OPSET
    assert 0 < bundle.meta.test_mse < 0.2


def test_the_bundle_carries_pca_of_its_latent_size_as_computed_by_a_pca_run(
    tiny_root: Path, tiny_bundle: Path, tmp_path: Path
):
    """Export measures the linear baseline (issue 21: each model against PCA of its own latent size, in --info),
    the same figure a `--model pca` run of that size reaches."""
    from tests.conftest import tiny_config

    baseline = load_bundle(tiny_bundle).meta.pca_test_mse
    run_dir = tmp_path / "pca-run"
    train_module.run(tiny_config(tiny_root, run_dir, model="pca", latent_dim=2))
    measured = json.loads((run_dir / "metrics.json").read_text())["epochs"][-1]["test_mse"]
    assert baseline == pytest.approx(measured, rel=1e-3)


def test_onnx_matches_torch_on_fresh_inputs(tiny_run: Path, tiny_bundle: Path):
    model, _ = export_module.load_run(tiny_run)
    z = torch.randn(64, 2) * 3
    images = torch.rand(64, 1, 28, 28)
    decoder = ort.InferenceSession(str(tiny_bundle / DECODER), providers=["CPUExecutionProvider"])
    encoder = ort.InferenceSession(str(tiny_bundle / ENCODER), providers=["CPUExecutionProvider"])
    with torch.inference_mode():
        np.testing.assert_allclose(decoder.run(None, {"z": z.numpy()})[0], model.decoder(z).numpy(), atol=1e-5)
        np.testing.assert_allclose(
            encoder.run(None, {"image": images.numpy()})[0], model.encode(images)[0].numpy(), atol=1e-5
        )
    # N is dynamic: one graph serves a single hover decode and a batch.
    assert decoder.run(None, {"z": z[:1].numpy()})[0].shape == (1, 1, 28, 28)


def test_embedding_is_the_encoders_output(tiny_run: Path, tiny_bundle: Path):
    model, _ = export_module.load_run(tiny_run)
    bundle = load_bundle(tiny_bundle)
    with torch.inference_mode():
        z = model.encode(torch.from_numpy(bundle.images[:32]).float() / 255)[0].numpy()
    np.testing.assert_allclose(bundle.z[:32], z, atol=1e-5)


def test_export_stores_each_test_images_error_for_the_anomaly_view(tiny_bundle: Path):
    bundle = load_bundle(tiny_bundle, strict=True)
    assert bundle.errors is not None and bundle.errors.shape == (len(bundle.z),) and bundle.errors.dtype == np.float32
    assert float(bundle.errors.mean()) == pytest.approx(bundle.test_mse, rel=1e-4)  # every image has the same pixels


def test_viewer_opens_the_exported_bundle(tiny_bundle: Path, tmp_path: Path):
    result = run_module("viewer", str(tiny_bundle), "--headless", "--frames", "30", "--fps", "0", "--strict")
    assert result.returncode == 0, result.stderr


def test_existing_bundle_needs_force(tiny_run: Path, tiny_bundle: Path):
    before = tree(tiny_bundle)
    result = run_module("export", str(tiny_run), "--out", str(tiny_bundle))
    assert_one_line_error(result, "--force")
    assert tree(tiny_bundle) == before


def test_parity_failure_writes_nothing(tiny_run: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(torch_to_onnx, "PARITY_ATOL", -1.0)  # no difference can pass
    with pytest.raises(export_module.ExportError, match="differs from torch"):
        export_module.export(tiny_run, tmp_path / "out", data_root=None, name=None, force=False)
    assert list(tmp_path.iterdir()) == []


def test_parity_failure_keeps_the_previous_bundle(tiny_run: Path, tiny_bundle: Path, monkeypatch):
    before = tree(tiny_bundle)
    monkeypatch.setattr(torch_to_onnx, "PARITY_ATOL", -1.0)
    with pytest.raises(export_module.ExportError):
        export_module.export(tiny_run, tiny_bundle, data_root=None, name=None, force=True)
    assert tree(tiny_bundle) == before
    assert sorted(p.name for p in tiny_bundle.parent.iterdir()) == ["tiny"]


def test_missing_run_is_one_line(tmp_path: Path):
    result = run_module("export", str(tmp_path / "nope"), "--out", str(tmp_path / "b"))
    assert_one_line_error(result, "checkpoint.pt")
    assert not (tmp_path / "b").exists()


def test_corrupt_checkpoint_is_one_line(tiny_run: Path, tmp_path: Path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_bytes((tiny_run / "config.json").read_bytes())
    (run / "checkpoint.pt").write_bytes(b"not a checkpoint")
    assert_one_line_error(run_module("export", str(run), "--out", str(tmp_path / "b")), "checkpoint.pt")


def test_latent_dim_flows_through(tiny_root: Path, tmp_path: Path):
    config = TrainConfig(
        data_root=str(tiny_root),
        run_dir=str(tmp_path / "run"),
        epochs=1,
        batch_size=64,
        device="cpu",
        hidden="32",
        latent_dim=5,
    )
    train_module.run(dataclasses.replace(config))
    export_module.export(tmp_path / "run", tmp_path / "b5", data_root=None, name="five", force=False)
    bundle = load_bundle(tmp_path / "b5", strict=True)
    assert bundle.latent_dim == 5 and bundle.bounds.shape == (5, 2) and bundle.name == "five"
    result = run_module("viewer", str(tmp_path / "b5"), "--headless", "--frames", "10")
    assert result.returncode == 0, result.stderr


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_force_never_replaces_the_run_or_a_folder_of_bundles(tiny_run: Path, tiny_bundle: Path, tmp_path: Path):
    before = tree(tiny_run)
    assert_one_line_error(run_module("export", str(tiny_run), "--out", str(tiny_run), "--force"), "not a bundle")
    assert tree(tiny_run) == before  # checkpoint, config and metrics all still there
    models = tmp_path / "models"
    shutil.copytree(tiny_bundle, models / "a")
    shutil.copytree(tiny_bundle, models / "b")
    before = tree(models)
    assert_one_line_error(run_module("export", str(tiny_run), "--out", str(models), "--force"), "not a bundle")
    assert tree(models) == before


def test_a_bad_export_flag_is_one_line(tmp_path: Path):
    assert_one_line_error(run_module("export", str(tmp_path), "--out", str(tmp_path / "b"), "--bogus"), "--bogus")
