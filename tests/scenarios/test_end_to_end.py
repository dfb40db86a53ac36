"""Real MNIST, end to end: a short training run learns, exports, and opens in the torch-free viewer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import ROOT, run_module

VIEWER_PYTHON = ROOT / ".venv-viewer" / "bin" / "python"


@pytest.mark.mnist
def test_train_export_view_on_real_mnist(mnist_root: Path, tmp_path: Path):
    run_dir, bundle, stats = tmp_path / "run", tmp_path / "bundle", tmp_path / "stats.json"
    trained = run_module(
        "training", "--data-root", str(mnist_root), "--run-dir", str(run_dir),
        "--epochs", "3", "--train-limit", "6000", "--batch-size", "64", "--device", "cpu",
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    history = json.loads((run_dir / "metrics.json").read_text())["epochs"]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["test_mse"] < history[0]["test_mse"]
    assert history[-1]["test_mse"] < 0.065  # predicting the mean digit scores 0.067, a blank image 0.11

    exported = run_module("export", str(run_dir), "--out", str(bundle))
    assert exported.returncode == 0, exported.stderr
    meta = json.loads((bundle / "bundle.json").read_text())
    assert meta["test_mse"] == pytest.approx(history[-1]["test_mse"], rel=1e-6)

    # The viewer runs where only its own dependencies are installed, when that environment exists.
    python = str(VIEWER_PYTHON) if VIEWER_PYTHON.exists() else None
    viewed = run_module(
        "viewer",
        str(bundle),
        "--headless",
        "--frames",
        "60",
        "--fps",
        "0",
        "--strict",
        "--stats",
        str(stats),
        python=python,
    )
    assert viewed.returncode == 0, viewed.stderr
    assert json.loads(stats.read_text())["frames"] == 60
