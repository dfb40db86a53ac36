"""Every text the window draws fits its box: every panel of every shipped bundle, at the smallest window and a
large one, with the features that add words on (help, anomaly view, direction, walk, traversal, neighbours,
a drawing, a picture with a long name)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pygame
import pytest

from tests.helpers import ROOT
from tests.viewer.harness import click, ev, key, move, run_viewer
from viewer.layout import MIN_WINDOW
from viewer.text import Fit

BUNDLES = ["mnist-ae", "mnist-ae-8d", "mnist-vae", "emoji-vae"]
SIZES = [MIN_WINDOW, (1280, 800)]


def tour(size):
    """Resize, hover, pin A and B, pick a direction and step along it, walk, traversals, then the help."""

    def script(frame, layout):
        plot = layout.plot
        spots = [(plot.left + plot.width * f // 10, plot.top + plot.height * g // 10) for f, g in ((3, 3), (7, 6))]
        steps = {
            0: [ev(pygame.VIDEORESIZE, w=size[0], h=size[1])],
            2: [move(plot.center)],
            3: click(spots[0]) + click(spots[1]),
            4: [key(pygame.K_f, "f"), key(pygame.K_0, "0"), key(pygame.K_1, "1")] + [key(pygame.K_PERIOD, ".")] * 3,
            5: [key(pygame.K_l, "l"), key(pygame.K_w, "w")],
            7: [key(pygame.K_t, "t")],
            9: [key(pygame.K_h, "h")],
        }
        return steps.get(frame, [])

    return script


def anomaly_then_draw(size):
    """The anomaly view with a listed image clicked, then draw mode."""

    def script(frame, layout):
        steps = {
            0: [ev(pygame.VIDEORESIZE, w=size[0], h=size[1])],
            3: click((layout.side.centerx, layout.side.top + 5)),
            5: [key(pygame.K_a, "a"), key(pygame.K_d, "d")],
            6: [move(layout.tile.center)],
        }
        return steps.get(frame, [])

    return script


def drawn_texts(tmp_path: Path, monkeypatch, script, *flags: str, bundle: str) -> list:
    record: list = []
    monkeypatch.setattr(Fit, "record", record)
    run_viewer(tmp_path, script, 12, "--mouse", "still", *flags, bundle=ROOT / "models" / bundle)
    return record


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("bundle", BUNDLES)
def test_no_text_is_wider_than_its_box(tmp_path: Path, monkeypatch, bundle: str, size):
    picture = tmp_path / ("a-picture-file-with-a-very-long-name-that-would-run-off-the-tile-" * 2 + "end.png")
    pygame.display.init()
    pygame.image.save(pygame.surfarray.make_surface(np.full((40, 40, 3), 200, np.uint8)), str(picture))
    flags = ["--waypoints", "-1", "-1", "1", "1", "0", "2"]
    mapped = ROOT / "models" / bundle / "map.npz"
    if mapped.exists():  # on a map, waypoints go on dots: off it they are refused
        flags = ["--waypoints", *(f"{v:.6f}" for v in np.load(mapped)["xy"][[0, 1, 2]].ravel())]
    record = drawn_texts(tmp_path, monkeypatch, tour(size), *flags, bundle=bundle)
    record += drawn_texts(tmp_path, monkeypatch, anomaly_then_draw(size), "--color-by", "error", bundle=bundle)
    record += drawn_texts(tmp_path, monkeypatch, lambda f, layout: [ev(pygame.VIDEORESIZE, w=size[0], h=size[1])]
                          if f == 0 else [], "--encode", str(picture), bundle=bundle)  # fmt: skip
    assert len(record) > 100  # the panels' words did go through the helper
    too_wide = sorted({(text, width, box) for text, width, box in record if width > box})
    assert not too_wide, too_wide[:10]
    texts = [text for text, _, _ in record]
    assert any(text.startswith("test image #") for text in texts)  # the tile says which listed image it shows
    assert any("class" in text and text.startswith("#") for text in texts)  # the list names each image's class
    assert any(text.startswith("your picture") for text in texts) and any("controls" in text for text in texts)
