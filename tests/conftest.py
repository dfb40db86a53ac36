"""Fixtures for the torch-side tests: tiny generated MNIST-shaped data and pictures, and the real MNIST and
emoji sets when present."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import ROOT


def make_tiny_mnist(root: Path, n_train: int = 512, n_test: int = 256, seed: int = 0) -> Path:
    """Write four IDX files of blurry digit-like blobs in torchvision's layout; returns the data root."""
    from latent_common.data import MNIST_FILES, write_idx

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


def tiny_config(root: Path, run_dir: Path, **changes):
    """A quick training config on the tiny data: 3 epochs of a small dense model on the CPU, changes applied.
    fp32 pinned: auto would ask a timing probe, and tests compare weights bit for bit across runs."""
    from training.config import TrainConfig

    base = TrainConfig(
        data_root=str(root), run_dir=str(run_dir), epochs=3, batch_size=64, device="cpu", hidden="64,32",
        precision="fp32",
    )  # fmt: skip
    return dataclasses.replace(base, **changes)


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


@pytest.fixture(scope="session")
def emoji_root() -> Path:
    """The real emoji set (emoji-google/, `make data-emoji`): $DATA_ROOT, ./data, ../shared/data; else skips."""
    candidates = [os.environ.get("DATA_ROOT"), ROOT / "data", ROOT.parent / "shared" / "data"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "emoji-google" / "emoji.json").exists():
            return Path(candidate)
    pytest.skip(
        "the emoji set not found (make data-emoji DATA_ROOT=..., or set DATA_ROOT to a folder holding emoji-google/)"
    )


def make_picture_folder(folder: Path, per_class: int = 12, size: int = 16, seed: int = 0) -> Path:
    """Class subfolders of small RGBA PNGs: a red square, a green disc, a blue bar, each jittered, on a
    transparent background; returns folder."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    colours = {"red-square": (220, 30, 30), "green-disc": (30, 180, 60), "blue-bar": (40, 60, 220)}
    for name, colour in colours.items():
        (folder / name).mkdir(parents=True)
        for i in range(per_class):
            image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
            draw = ImageDraw.Draw(image)
            x, y = (int(n) for n in rng.integers(1, size // 3, size=2))
            box = (x, y, x + size // 2, y + size // 2)
            if name == "green-disc":
                draw.ellipse(box, fill=(*colour, 255))
            elif name == "blue-bar":
                draw.rectangle((x, 1, x + 2, size - 2), fill=(*colour, 255))
            else:
                draw.rectangle(box, fill=(*colour, 255))
            image.save(folder / name / f"{i:03d}.png")
    return folder


@pytest.fixture(scope="session")
def picture_folder(tmp_path_factory) -> Path:
    return make_picture_folder(tmp_path_factory.mktemp("pictures") / "shapes")
