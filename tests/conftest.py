"""Fixtures for the torch-side tests: tiny generated MNIST-shaped data, and the real MNIST when present."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import ROOT


def make_tiny_mnist(root: Path, n_train: int = 512, n_test: int = 256, seed: int = 0) -> Path:
    """Write four IDX files of blurry digit-like blobs in torchvision's layout; returns the data root."""
    from training.data import MNIST_FILES, write_idx

    rng = np.random.default_rng(seed)
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    yy, xx = np.mgrid[0:28, 0:28]
    for split, n in (("train", n_train), ("test", n_test)):
        labels = rng.integers(0, 10, size=n).astype(np.uint8)
        # A blob whose position depends on the label: structure an autoencoder can learn in a few steps.
        cy = 8 + (labels % 5) * 3 + rng.normal(0, 0.7, n)
        cx = 9 + (labels // 5) * 10 + rng.normal(0, 0.7, n)
        blobs = np.exp(-((yy - cy[:, None, None]) ** 2 + (xx - cx[:, None, None]) ** 2) / 12.0)
        images = (blobs * 255).astype(np.uint8)
        image_file, label_file = MNIST_FILES[split]
        write_idx(raw / image_file, images)
        write_idx(raw / label_file, labels)
    return root


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory) -> Path:
    return make_tiny_mnist(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="session")
def mnist_root() -> Path:
    """The real MNIST: $DATA_ROOT, else ./data, else ../shared/data. Skips when none holds it."""
    candidates = [os.environ.get("DATA_ROOT"), ROOT / "data", ROOT.parent / "shared" / "data"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "MNIST" / "raw" / "train-images-idx3-ubyte").exists():
            return Path(candidate)
    pytest.skip("real MNIST not found (set DATA_ROOT to a folder holding MNIST/raw/)")
