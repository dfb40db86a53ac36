"""`python -m viewer A B`: two bundles of the same test images side by side."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pygame
import pytest

from tests.helpers import ROOT, assert_one_line_error, run_module
from viewer import compare
from viewer.api import open_bundle


@pytest.fixture(scope="module")
def pair():
    return compare.open_pair(Path("mnist-pca"), Path("mnist-vae"))


def test_the_pca_baseline_and_the_vae_open_side_by_side(tmp_path: Path):
    shot = tmp_path / "pair.png"
    result = run_module("viewer", "mnist-pca", "mnist-vae", "--headless", "--frames", "30", "--screenshot", str(shot))
    assert result.returncode == 0, result.stderr
    assert "comparing mnist-pca and mnist-vae on 10,000 test images" in result.stdout
    assert shot.stat().st_size > 10_000


def test_two_bundles_of_different_test_images_are_one_line():
    assert_one_line_error(run_module("viewer", "mnist-vae", "emoji-vae", "--headless"), "not the same test images")


def test_hovering_one_plot_rings_the_nearest_image_in_both_and_decodes_it_in_each(pair):
    os.environ["SDL_VIDEODRIVER"] = "dummy"
    pygame.display.init()
    halves = compare.layout((1100, 680), pair)
    pca, vae = halves
    target = 1234
    pos = tuple(int(v) for v in vae.to_screen(vae.opened.map_xy[target]))
    state, last = compare.Hover(), {}
    compare.handle(pygame.event.Event(pygame.MOUSEMOTION, pos=pos, rel=(0, 0), buttons=(0, 0, 0)), state, halves)
    compare.update(state, halves, last)
    assert state.hovered == 1
    ringed = vae.opened.map_xy[state.ring]
    assert np.hypot(*(ringed - vae.to_plot(pos))) <= np.hypot(*(vae.opened.map_xy[target] - vae.to_plot(pos)))
    # A's tile: what the PCA decodes where that image sits in its own plot (its own reconstruction there)
    np.testing.assert_allclose(state.images[0], pca.opened.decode_at(pca.opened.map_xy[state.ring][None])[0])
    np.testing.assert_allclose(state.images[1], vae.opened.decode_at(vae.to_plot(pos)[None])[0], atol=1e-6)
    truth = vae.opened.bundle.images_chw[state.ring].astype(np.float64) / 255
    assert ((state.images[1] - truth) ** 2).mean() < ((state.images[0] - truth) ** 2).mean() + 0.05
    pygame.display.quit()


def test_a_bundle_with_its_images_in_another_order_is_refused(pair, tmp_path: Path):
    first, second = pair
    second.bundle.labels = np.roll(second.bundle.labels, 1)  # as if exported from a reshuffled split
    try:
        with pytest.raises(compare.CompareError, match="test image 0 differs"):
            compare.check_same_images(first, second)
    finally:
        second.bundle.labels = np.roll(second.bundle.labels, -1)
    assert open_bundle("mnist-pca").bundle.labels.tolist() == second.bundle.labels.tolist()


def test_a_key_that_does_nothing_side_by_side_says_so_and_titles_say_what_each_plot_is():
    from viewer import words

    hover = compare.Hover()
    compare.handle(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_h, unicode="h", mod=0), hover, [])
    assert hover.running and hover.notice == words.COMPARE_KEYS
    compare.handle(pygame.event.Event(pygame.MOUSEMOTION, pos=(5, 5), rel=(0, 0), buttons=(0, 0, 0)), hover, [])
    assert hover.notice is None
    assert compare.shown_as(open_bundle(ROOT / "models" / "mnist-ae-8d")) == "8-D ae · UMAP map"


def test_a_session_with_two_bundles_is_one_line(tmp_path: Path):
    result = run_module("viewer", "mnist-pca", "mnist-vae", "--session", str(tmp_path / "s.json"))
    assert_one_line_error(result, "--session", "side by side")
    assert not (tmp_path / "s.json").exists()
