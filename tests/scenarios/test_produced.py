"""The viewer opens everything the project itself produces: a 1-D latent, a 3-D one (the PCA plane), and a
dataset with more classes than MNIST's ten. Each is trained and exported at tiny size, then driven headless."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pygame
import pytest

from export import export as export_module
from training import train as train_module
from training.config import TrainConfig
from viewer import app, cli
from viewer.bundle import load_bundle


def blobs_npz(path: Path, classes: int = 12, n: int = 600, seed: int = 0) -> Path:
    """An npz: dataset of 20x20 grey blobs whose position depends on the class."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, size=n)
    yy, xx = np.mgrid[0:20, 0:20]
    cy = 4 + (labels % 4) * 4 + rng.normal(0, 0.5, n)
    cx = 4 + (labels // 4) * 5 + rng.normal(0, 0.5, n)
    images = (np.exp(-((yy - cy[:, None, None]) ** 2 + (xx - cx[:, None, None]) ** 2) / 6.0) * 255).astype(np.uint8)
    np.savez(
        path,
        images=images,
        labels=labels.astype(np.uint8),
        class_names=np.array([f"shape {i}" for i in range(classes)]),
    )
    return path


def train_and_export(tmp_path: Path, **flags) -> Path:
    config = TrainConfig(run_dir=str(tmp_path / "run"), epochs=1, batch_size=64, device="cpu", hidden="32", **flags)
    train_module.run(config)
    export_module.export(tmp_path / "run", tmp_path / "bundle", data_root=None, name=None, force=False)
    return tmp_path / "bundle"


def drive(bundle: Path, tmp_path: Path) -> dict:
    """Hover, map, pin A and B, slide: the features that depend on the latent's shape and the class count."""
    shot = tmp_path / "shot.png"
    args = cli.build_parser().parse_args(
        [str(bundle), "--headless", "--frames", "40", "--fps", "0", "--screenshot", str(shot)]
    )

    def script(frame, layout):
        events = app.scripted_mouse(frame, layout.plot)
        if frame == 5:
            events.append(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_g, unicode="g", mod=0))
        if frame in (10, 12):
            pos = layout.plot.center if frame == 10 else (layout.plot.left + 20, layout.plot.top + 30)
            events = [pygame.event.Event(t, pos=pos, button=1) for t in (pygame.MOUSEBUTTONDOWN, pygame.MOUSEBUTTONUP)]
        if frame == 20:
            events = [pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RIGHT, unicode="", mod=0)]
        return events

    stats = app.run(args, script=script)
    assert shot.stat().st_size > 0
    return stats


@pytest.mark.parametrize("latent_dim", [1, 3])
def test_a_latent_of_any_dimension_opens_and_explores(tiny_root: Path, tmp_path: Path, latent_dim: int):
    bundle = train_and_export(tmp_path, data_root=str(tiny_root), latent_dim=latent_dim)
    assert load_bundle(bundle).latent_dim == latent_dim
    stats = drive(bundle, tmp_path)
    assert stats["frames"] == 40 and stats["decodes"] > 20


def test_twelve_classes_open_and_explore(tmp_path: Path):
    data = blobs_npz(tmp_path / "blobs.npz")
    bundle = train_and_export(tmp_path, data_root=str(tmp_path), dataset=f"npz:{data}")
    loaded = load_bundle(bundle)
    assert len(loaded.class_names) == 12 and loaded.labels.max() == 11
    assert drive(bundle, tmp_path)["frames"] == 40
