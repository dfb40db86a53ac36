"""Class counts past the ten MNIST digits: every class gets its own dot colour, and the legend fits."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pygame

from latent_common.style import CLASS_COLORS, class_color
from tests.helpers import SHIPPED
from tests.viewer.harness import run_viewer
from viewer.bundle import EMBEDDING, METADATA, sha256_file
from viewer.layout import make_layout, window_size

CLASSES = 40


def relabelled(tmp_path: Path) -> Path:
    """The shipped bundle with its test images spread over 40 classes."""
    out = tmp_path / "many"
    shutil.copytree(SHIPPED, out)
    with np.load(out / EMBEDDING) as npz:
        arrays = {key: npz[key] for key in npz.files}
    arrays["labels"] = (np.arange(len(arrays["labels"])) % CLASSES).astype(np.uint8)
    np.savez_compressed(out / EMBEDDING, **arrays)
    meta = json.loads((out / METADATA).read_text())
    meta["class_names"] = [f"class {i}" for i in range(CLASSES)]
    meta["files"] = {name: sha256_file(out / name) for name in meta["files"]}
    (out / METADATA).write_text(json.dumps(meta))
    return out


def test_colours_past_ten_differ_from_each_other():
    colours = [class_color(i) for i in range(256)]
    assert colours[:10] == CLASS_COLORS
    assert len(set(colours)) == 256


def test_forty_classes_draw_every_colour_and_a_legend_that_fits(tmp_path: Path):
    stats, shot = run_viewer(tmp_path, None, 4, "--mouse", "still", bundle=relabelled(tmp_path))
    assert stats["frames"] == 4
    pixels = pygame.surfarray.array3d(shot).astype(int)
    layout = make_layout(window_size())
    plot = pixels[layout.plot.left : layout.plot.right, layout.plot.top : layout.plot.bottom].reshape(-1, 3)
    for index in (12, 25, 39):  # dots of classes past the Tableau ten are drawn in their own colours
        assert (np.abs(plot - class_color(index)).sum(axis=1) < 40).sum() > 5, index
    legend = pixels[layout.legend.left : layout.legend.right, layout.legend.top : shot.get_height()]
    assert legend.max() > 150  # names were drawn inside the window, below the HUD
