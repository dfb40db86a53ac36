"""Every model kind trains, exports to the same bundle contract, and opens in the viewer (tiny sizes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from export import export as export_module
from tests.conftest import tiny_config
from tests.helpers import run_module
from training import train as train_module
from training.checkpoint import load_checkpoint
from training.model import MODEL_KINDS, Autoencoder, ModelConfig, kl_divergence
from viewer.bundle import load_bundle


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_shapes_for_each_kind(kind):
    model = Autoencoder(ModelConfig(latent_dim=3, kind=kind))
    mean, logvar = model.encode(torch.rand(4, 1, 28, 28))
    assert mean.shape == (4, 3)
    assert (logvar is not None) == kind.endswith("vae")
    out = model(torch.rand(4, 1, 28, 28))
    assert out.shape == (4, 1, 28, 28) and out.min() >= 0 and out.max() <= 1


def test_kl_is_zero_at_the_prior_and_positive_elsewhere():
    assert torch.allclose(kl_divergence(torch.zeros(2, 3), torch.zeros(2, 3)), torch.zeros(2))
    assert (kl_divergence(torch.ones(2, 3), torch.zeros(2, 3)) > 0).all()


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_each_kind_trains_exports_and_opens(kind, tiny_root: Path, tmp_path: Path):
    run_dir, out = tmp_path / "run", tmp_path / kind
    metrics = train_module.run(tiny_config(tiny_root, run_dir, epochs=2, model=kind, precision="auto"))
    assert metrics["epochs"][-1]["test_mse"] < metrics["epochs"][0]["test_mse"] * 1.05
    export_module.export(run_dir, out, data_root=None, name=None, force=False)  # parity checked inside
    bundle = load_bundle(out, strict=True)
    assert bundle.meta.model_config["kind"] == kind and bundle.z.shape == (256, 2)
    result = run_module("viewer", str(out), "--headless", "--frames", "5")
    assert result.returncode == 0, result.stderr


def test_vae_embedding_is_the_posterior_mean(tiny_root: Path, tmp_path: Path):
    run_dir, out = tmp_path / "run", tmp_path / "vae"
    train_module.run(tiny_config(tiny_root, run_dir, epochs=1, hidden="32", model="vae", precision="auto"))
    export_module.export(run_dir, out, data_root=None, name=None, force=False)
    model, _ = export_module.load_run(run_dir)
    bundle = load_bundle(out)
    with torch.inference_mode():
        mean, _ = model.encode(torch.from_numpy(bundle.images[:16]).float() / 255)
    np.testing.assert_allclose(bundle.z[:16], mean.numpy(), atol=1e-5)


def test_vae_resume_matches_uninterrupted(tiny_root: Path, tmp_path: Path, monkeypatch):
    base = dict(epochs=2, hidden="32", model="vae", precision="auto")
    train_module.run(tiny_config(tiny_root, tmp_path / "whole", **base))
    real_epoch = train_module.train_epoch

    def stop_in_second_epoch(*args, **kwargs):
        if kwargs["epoch"] == 1:
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(train_module, "train_epoch", stop_in_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        train_module.run(tiny_config(tiny_root, tmp_path / "split", **base))
    monkeypatch.setattr(train_module, "train_epoch", real_epoch)
    torch.manual_seed(12345)  # a different global RNG state: the VAE's noise must not depend on it
    train_module.run(tiny_config(tiny_root, tmp_path / "split", **base, resume=True))
    whole, split = load_checkpoint(tmp_path / "whole")["model"], load_checkpoint(tmp_path / "split")["model"]
    assert all(torch.equal(whole[k], split[k]) for k in whole)


def test_torchrun_two_cpu_processes_train_identical_weights(tiny_root: Path, tmp_path: Path):
    """DistributedDataParallel under torchrun: 2 gloo processes on the CPU end with the same weights."""
    import json
    import subprocess
    import sys

    from tests.helpers import ROOT

    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533",
               "-m", "training", "--data-root", str(tiny_root), "--run-dir", str(run_dir),
               "--epochs", "3", "--batch-size", "64", "--hidden", "32", "--device", "cpu"]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["distributed"] == {"world_size": 2, "backend": "gloo", "weights_identical": True}
    losses = [row["train_loss"] for row in metrics["epochs"]]
    assert losses[-1] < losses[0]
    assert (run_dir / "training_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert 0.0 <= metrics["knn_accuracy"] <= 1.0
    index = json.loads((run_dir / "snapshots" / "index.json").read_text())  # rank 0 alone writes them
    assert [snap["step"] for snap in index["snapshots"]][:3] == [0, 1, 2] and metrics["snapshots"]["count"] > 5


@pytest.mark.parametrize("kind, decodes", [("vae", 2), ("ae", 1)])
def test_p_samples_the_prior_only_for_a_vae(kind, decodes, tiny_root: Path, tmp_path: Path):
    import pygame

    from viewer import app, cli

    run_dir, out = tmp_path / "run", tmp_path / kind
    train_module.run(tiny_config(tiny_root, run_dir, epochs=1, hidden="32", model=kind, precision="auto"))
    export_module.export(run_dir, out, data_root=None, name=None, force=False)
    args = cli.build_parser().parse_args([str(out), "--headless", "--mouse", "still", "--frames", "4", "--fps", "0"])
    stats = app.run(
        args,
        script=lambda frame, layout: (
            [pygame.event.Event(pygame.KEYDOWN, key=pygame.K_p, unicode="p", mod=0)] if frame == 2 else []
        ),
    )
    assert stats["decodes"] == decodes  # the first frame, plus one prior sample for a VAE; nothing for an AE
