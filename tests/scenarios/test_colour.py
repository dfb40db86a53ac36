"""Colour pictures end to end: a folder of RGB PNGs trains, exports and opens; pca; conv models at any size."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from export import export as export_module
from latent_common.data import DataOptions, load_split
from tests.helpers import run_module
from training import train as train_module
from training.config import TrainConfig
from training.model import Autoencoder, ModelConfig, conv_stages
from training.pca import principal_axes
from viewer.bundle import load_bundle


def picture_config(folder: Path, run_dir: Path, **changes) -> TrainConfig:
    base = dict(dataset=f"folder:{folder}", run_dir=str(run_dir), epochs=2, batch_size=8, device="cpu", hidden="32")
    base["test_fraction"] = 0.25  # 3 of 12 per class: the 5-NN accuracy needs at least 6 test images
    return TrainConfig(**(base | changes))


@pytest.mark.parametrize("kind", ["ae", "conv-vae", "pca"])
def test_a_folder_of_colour_pictures_trains_exports_and_opens(kind, picture_folder: Path, tmp_path: Path):
    run_dir, out = tmp_path / "run", tmp_path / "bundle"
    metrics = train_module.run(picture_config(picture_folder, run_dir, model=kind))
    assert 0 < metrics["test_mse"] < 0.5
    export_module.export(run_dir, out, data_root=None, name=None, force=False)  # parity checked inside
    bundle = load_bundle(out, strict=True)
    meta = json.loads((out / "bundle.json").read_text())
    assert meta["format_version"] == 2 and meta["image_shape"] == [3, 16, 16]
    assert bundle.images.shape == (9, 3, 16, 16) and bundle.z.shape == (9, 2)  # the same 25% held out
    assert meta["class_names"] == ["blue-bar", "green-disc", "red-square"]
    assert meta["preprocess"] == {
        "size": [16, 16],
        "channels": 3,
        "background": [255, 255, 255],
        "resize": "pad-area-bilinear",
    }
    assert meta["model_config"]["kind"] == kind
    if kind == "pca":  # the export's test MSE is the run's, on the same held-out images
        assert meta["test_mse"] == pytest.approx(metrics["test_mse"], rel=1e-5)
    result = run_module("viewer", str(out), "--headless", "--frames", "3", "--fps", "0", "--strict")
    assert result.returncode == 0, result.stderr


def test_pca_matches_numpys_svd(picture_folder: Path, tmp_path: Path):
    """An independent reference: the reconstruction error of numpy's SVD with the same number of components."""
    train_module.run(picture_config(picture_folder, tmp_path / "run", model="pca", latent_dim=3))
    model, _ = export_module.load_run(tmp_path / "run")
    train = load_split(f"folder:{picture_folder}", "unused", "train", options=DataOptions(test_fraction=0.25))
    x = train.images.reshape(len(train.images), -1).astype(np.float64) / 255
    mean = x.mean(axis=0)
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    reference = (x - mean) @ vt[:3].T @ vt[:3] + mean
    with torch.inference_mode():
        ours = model(torch.from_numpy(x).float().reshape(train.images.shape)).reshape(len(x), -1).numpy()
    np.testing.assert_allclose(ours, np.clip(reference, 0, 1), atol=1e-4)


def test_principal_axes_match_numpys_full_svd():
    """The randomized SVD keeps 13 of 300 directions here: its leading axes must still be numpy's."""
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(300, 300)))[0]
    x = torch.from_numpy(rng.normal(size=(200, 300)) * 10 * 0.85 ** np.arange(300) @ basis)  # images' decaying spectrum
    mean, axes = principal_axes(x, 3)
    _, _, vt = np.linalg.svd(x.numpy() - x.numpy().mean(axis=0), full_matrices=False)
    np.testing.assert_allclose(np.abs(axes.numpy().T @ vt[:3].T), np.eye(3), atol=1e-5)  # same axes, any sign
    np.testing.assert_allclose(mean.numpy(), x.numpy().mean(axis=0), atol=1e-6)
    assert torch.equal(principal_axes(x, 3)[1], axes)  # seeded: the same axes every time


@pytest.mark.parametrize(
    "shape, stages", [((1, 28, 28), 2), ((3, 64, 64), 4), ((3, 16, 16), 2), ((1, 9, 13), 1), ((3, 30, 20), 2)]
)
def test_conv_models_take_any_size_padding_and_cropping(shape, stages):
    assert conv_stages(shape) == stages
    for kind in ("conv-ae", "conv-vae"):
        model = Autoencoder(ModelConfig(latent_dim=3, image_shape=shape, kind=kind))
        out = model(torch.rand(2, *shape))
        assert out.shape == (2, *shape) and out.min() >= 0 and out.max() <= 1


def test_mnist_conv_keeps_its_parameter_names():
    names = list(Autoencoder(ModelConfig(kind="conv-ae")).state_dict())
    assert names[:4] == ["encoder.1.weight", "encoder.1.bias", "encoder.3.weight", "encoder.3.bias"]
    assert "decoder.7.weight" in names and len(names) == 16


def test_a_model_config_from_before_channels_is_grey():
    """Older checkpoints and bundles recorded image_shape [28, 28]: they rebuild with one channel."""
    assert ModelConfig.from_dict({"image_shape": [28, 28]}).image_shape == (1, 28, 28)
