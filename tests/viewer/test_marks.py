"""What the plot marks, found by a newcomer in a real window: a picture stays through the window's first
mouse event, and the decoded point is marked whenever the crosshair isn't on it (slider, prior sample)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pygame

from latent_common.style import BACKGROUND, PIN
from tests.helpers import SHIPPED
from tests.viewer.harness import click, key, move, run_viewer
from tests.viewer.test_picture import save_test_image
from viewer import app
from viewer.bundle import load_bundle
from viewer.explore import make_plane
from viewer.layout import make_layout, window_size
from viewer.state import Focus

LAYOUT = make_layout(window_size())


def spy_focus(monkeypatch) -> list:
    seen = []
    real = app.carry_out_requests

    def spy(state, *rest):
        real(state, *rest)
        seen.append((state.focus, state.z.copy(), state.view.bounds.copy()))

    monkeypatch.setattr(app, "carry_out_requests", spy)
    return seen


def test_a_picture_stays_through_the_first_motion_and_twitches(tmp_path: Path, monkeypatch):
    png = save_test_image(load_bundle(SHIPPED), 1234, tmp_path / "digit.png")
    seen = spy_focus(monkeypatch)
    spot = LAYOUT.plot.center
    events = {1: [move(spot)], 2: [move((spot[0] + 5, spot[1] + 3))], 4: [move((spot[0] + 80, spot[1]))]}
    run_viewer(tmp_path, lambda frame, layout: events.get(frame, []), 6, "--mouse", "still", "--encode", str(png))
    assert [focus for focus, _, _ in seen[:4]] == [Focus.PICTURE] * 4  # the window's first event, then a twitch
    assert seen[-1][0] == Focus.HOVER  # a real move over the plot takes the tile back


def test_the_slider_point_is_marked_on_the_a_b_line(tmp_path: Path, monkeypatch):
    seen = spy_focus(monkeypatch)
    a, b = (LAYOUT.plot.left + 100, LAYOUT.plot.top + 400), (LAYOUT.plot.left + 400, LAYOUT.plot.top + 100)
    outside = (LAYOUT.hud.centerx, LAYOUT.hud.centery)
    events = {1: click(a), 2: click(b), 3: [move(outside)] + [key(pygame.K_RIGHT)] * 2}
    _, shot = run_viewer(tmp_path, lambda frame, layout: events.get(frame, []), 6, "--mouse", "still")
    focus, z, view = seen[-1]
    assert focus == Focus.SLIDER
    x, y = LAYOUT.to_screen(make_plane(load_bundle(SHIPPED).z).project(z), view)[0]
    pixels = pygame.surfarray.array3d(shot).astype(int)
    # The A-B line runs through the point; the diamond's dark inside covers it there, and its outline is drawn.
    assert np.abs(pixels[x, y] - BACKGROUND).sum() < 30, pixels[x, y]
    outline = pixels[x - 8 : x + 9, y - 8 : y + 9].reshape(-1, 3)
    assert (np.abs(outline - PIN).sum(axis=1) < 30).sum() > 30


def test_a_dark_on_light_digit_is_inverted_like_mnist_and_lands_on_its_dot(tmp_path: Path):
    bundle = load_bundle(SHIPPED)
    pygame.display.init()
    grey = 255 - bundle.images_chw[1234][0]  # a black digit on white paper, as a photo or scan would be
    png = tmp_path / "on-paper.png"
    pygame.image.save(pygame.surfarray.make_surface(np.repeat(grey.T[:, :, None], 3, axis=2)), str(png))
    stats, _ = run_viewer(tmp_path, None, 3, "--mouse", "still", "--encode", str(png))
    np.testing.assert_allclose(stats["encoded"]["z"], bundle.z[1234], atol=0.05)


def test_an_empty_canvas_shows_a_hint_not_a_reconstruction(tmp_path: Path):
    from latent_common.style import DIM_TEXT

    _, shot = run_viewer(tmp_path, lambda frame, layout: [key(pygame.K_d, "d")] if frame == 1 else [], 4)
    side = pygame.surfarray.array3d(shot)[LAYOUT.side.left : LAYOUT.side.right, LAYOUT.side.top : LAYOUT.side.bottom]
    pixels = side.reshape(-1, 3).astype(int)
    assert (np.abs(pixels - DIM_TEXT).sum(axis=1) < 60).sum() > 30  # the hint's words
    assert pixels.max() < 200  # and no bright reconstruction


def test_a_long_notice_wraps_instead_of_running_off_the_panel():
    from viewer.text import wrap

    pygame.font.init()
    font = pygame.font.Font(None, 20)  # the HUD's
    text = "E exports the A->B strip: click the scatter twice to pin A and B first"
    lines = wrap(font, text, LAYOUT.hud.width)
    assert len(lines) == 2 and all(font.size(line)[0] <= LAYOUT.hud.width for line in lines) and " ".join(lines) == text
