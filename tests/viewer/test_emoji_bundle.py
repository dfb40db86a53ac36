"""The shipped colour bundle, models/emoji-vae (format 2, 64x64 RGB): it opens, draws in colour, says what it
is, and a picture of one of its test images lands on that image's own dot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pygame
import pytest

from tests.helpers import ROOT, run_module
from tests.viewer.harness import key, run_viewer
from viewer.bundle import load_bundle

EMOJI = ROOT / "models" / "emoji-vae"


@pytest.fixture(scope="module")
def bundle():
    return load_bundle(EMOJI, strict=True)


def test_the_colour_bundle_is_format_2_with_its_notice(bundle):
    assert bundle.meta.format_version == 2 and bundle.chw == (3, 64, 64) and bundle.images.shape[1:] == (3, 64, 64)
    assert "Apache License" in bundle.meta.notice and "Apache License" in (EMOJI / "NOTICE").read_text()
    card = run_module("viewer", str(EMOJI), "--info")
    assert card.returncode == 0 and "64 × 64, colour (RGB)" in card.stdout and "Apache" in card.stdout


def test_it_draws_in_colour(tmp_path: Path):
    stats, shot = run_viewer(tmp_path, None, 20, "--map", bundle=EMOJI)
    assert stats["frames"] == 20
    from viewer.layout import make_layout, window_size

    digit = make_layout(window_size()).tile
    pixels = pygame.surfarray.array3d(shot)[digit.left : digit.right, digit.top : digit.bottom].reshape(-1, 3)
    spread = pixels.astype(int).max(axis=1) - pixels.astype(int).min(axis=1)  # 0 for any grey pixel
    assert (spread > 40).mean() > 0.05  # a decoded emoji, not a grey one


def test_a_test_emoji_saved_as_a_picture_lands_on_its_own_dot(bundle, tmp_path: Path):
    index = 7
    pygame.display.init()
    png = tmp_path / "emoji.png"
    pygame.image.save(pygame.surfarray.make_surface(bundle.images_chw[index].transpose(2, 1, 0).copy()), str(png))
    stats, _ = run_viewer(tmp_path, None, 3, "--mouse", "still", "--encode", str(png), bundle=EMOJI)
    np.testing.assert_allclose(stats["encoded"]["z"], bundle.z[index], atol=1e-3)


def test_drawing_on_a_colour_model_says_what_to_do_instead(tmp_path: Path):
    from viewer import app

    seen = []
    real = app.carry_out_requests

    def spy(state, *rest):
        real(state, *rest)
        seen.append(state.notice)

    app.carry_out_requests = spy
    try:
        run_viewer(tmp_path, lambda frame, layout: [key(pygame.K_d, "d")] if frame == 1 else [], 3, bundle=EMOJI)
    finally:
        app.carry_out_requests = real
    assert any(n and "drop a picture" in n for n in seen)
