"""The shipped MNIST bundles' timelines (viewer/bundle/timeline.py, read through viewer.api)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import ROOT
from viewer.api import open_bundle
from viewer.bundle import TIMELINE

SAMPLE = np.arange(0, 10_000, 10)


def mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(((a.astype(np.float64) - b) ** 2).mean())


@pytest.mark.parametrize("name", ["mnist-ae", "mnist-vae"])
def test_the_shipped_bundles_carry_a_timeline_that_learns(name: str):
    opened = open_bundle(name, strict=True)
    timeline = opened.timeline
    assert len(timeline) >= 10 and timeline[0].step == 0 and timeline[-1].epoch == 30
    truth = opened.bundle.images_chw[SAMPLE].astype(np.float64) / 255
    errors = [mse(snap.decode_at(snap.map_xy[SAMPLE]), truth) for snap in timeline]
    assert errors[0] > 3 * errors[-1], errors
    for snap, error in zip(timeline, errors):  # at its own dots each model reconstructs as its test MSE says
        assert abs(error - snap.test_mse) < 0.1 * snap.test_mse, (snap, error)


def test_a_bundle_without_a_timeline_opens_as_before():
    opened = open_bundle("mnist-pca", strict=True)
    assert opened.timeline == () and opened.bundle.meta.timeline is None


def test_a_bundle_whose_timeline_folder_is_gone_opens_without_it(tmp_path: Path):
    """What the wheel ships: bundle.json names a timeline whose files were left out."""
    copy = tmp_path / "mnist-vae"
    shutil.copytree(ROOT / "models" / "mnist-vae", copy, ignore=shutil.ignore_patterns(TIMELINE))
    opened = open_bundle(copy, strict=True)
    assert opened.bundle.meta.timeline is not None and opened.timeline == () and not opened.bundle.warnings
