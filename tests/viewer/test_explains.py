"""A window that explains itself and never misleads: titles and axis names, captions by what drives the
decode, notices for keys that can't act, and a decode that always matches what the screen says."""

from __future__ import annotations

import numpy as np
import pygame

from tests.helpers import ROOT, SHIPPED
from tests.viewer.harness import key, move
from viewer.bundle import load_bundle
from viewer.events import handle
from viewer.explore import equal_scales, make_plane, plane_bounds
from viewer.layout import make_layout, window_size
from viewer.state import Focus, initial_state
from viewer.words import offset_lines, panel_captions, plot_words

EIGHT_D = ROOT / "models" / "mnist-ae-8d"
LAYOUT = make_layout(window_size())


class FakeModels:
    def __init__(self, bundle, plane):
        self.bundle, self.plane = bundle, plane


def fresh(path=SHIPPED):
    bundle = load_bundle(path)
    plane = make_plane(bundle.z)
    home = plane_bounds(plane, plane.project(bundle.z), bundle.bounds)
    return bundle, plane, initial_state(plane, home, LAYOUT.size, bundle.chw, class_count=len(bundle.class_names))


def feed(state, plane, events):
    for event in events:
        state = handle(event, state, LAYOUT, plane)
    return state


def test_the_plot_says_what_it_shows():
    bundle, plane, _ = fresh()
    words = plot_words(FakeModels(bundle, plane))
    assert "mnist-ae" in words.title and "2-D autoencoder" in words.title
    assert (words.x_label, words.y_label) == ("z1", "z2")
    bundle, plane, _ = fresh(EIGHT_D)
    words = plot_words(FakeModels(bundle, plane))
    assert "projected" in words.title and words.x_label.startswith("PC1") and words.y_label.startswith("PC2")


def test_r_with_a_still_mouse_decodes_what_is_now_under_it():
    bundle, plane, state = fresh()
    start, spot = (LAYOUT.plot.left + 60, LAYOUT.plot.top + 80), (LAYOUT.plot.left + 200, LAYOUT.plot.top + 240)
    down = pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=start, button=1)
    up = pygame.event.Event(pygame.MOUSEBUTTONUP, pos=spot, button=1)
    state = feed(state, plane, [move(start), down, move(spot, held=True), up])  # a pan; the mouse stays at spot
    panned_z = state.z.copy()
    state = feed(state, plane, [key(pygame.K_r, "r")])
    np.testing.assert_allclose(state.pointer.uv, LAYOUT.to_plane(spot, state.view.bounds))
    np.testing.assert_allclose(state.z[0], plane.lift(state.pointer.uv, state.view.offsets)[0], atol=1e-6)
    assert not np.allclose(state.z, panned_z)


def test_in_draw_mode_the_slider_keys_wait_and_d_leaves():
    bundle, plane, state = fresh()
    a, b = (LAYOUT.plot.left + 50, LAYOUT.plot.top + 50), (LAYOUT.plot.left + 300, LAYOUT.plot.top + 300)
    state = feed(state, plane, [move(a), pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=a, button=1)])
    state = feed(state, plane, [pygame.event.Event(pygame.MOUSEBUTTONUP, pos=a, button=1)])
    state = feed(state, plane, [move(b), pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=b, button=1)])
    state = feed(state, plane, [pygame.event.Event(pygame.MOUSEBUTTONUP, pos=b, button=1), key(pygame.K_d, "d")])
    assert state.focus == Focus.DRAW
    state = feed(state, plane, [key(pygame.K_RIGHT)])
    assert state.focus == Focus.DRAW and "leave draw mode" in state.notice
    assert panel_captions(state, bundle)[:2] == ("your drawing", "the model sees")  # above the reconstruction
    state = feed(state, plane, [key(pygame.K_d, "d")])
    assert state.focus == Focus.HOVER


def test_every_offset_off_the_plane_is_shown_and_r_zeroes_them():
    bundle, plane, state = fresh(EIGHT_D)
    state = feed(state, plane, [key(pygame.K_RIGHTBRACKET), key(pygame.K_EQUALS, "=")] * 1)  # pc4 +0.25
    state = feed(state, plane, [key(pygame.K_RIGHTBRACKET)] * 4 + [key(pygame.K_MINUS, "-")] * 2)  # pc8 -0.50
    text = " ".join(line for line, _ in offset_lines(state, plane))
    assert "pc4 +0.25σ" in text and "pc8 -0.50σ" in text and "R resets" in text
    state = feed(state, plane, [key(pygame.K_r, "r")])
    assert not state.view.offsets.any()
    assert "on the PC1-PC2 plane" in offset_lines(state, plane)[0][0]


def test_component_keys_on_a_2d_latent_say_why_they_do_nothing():
    _, plane, state = fresh()
    state = feed(state, plane, [key(pygame.K_RIGHTBRACKET)])
    assert "no more than the two shown" in state.notice


def test_the_wheel_over_the_panel_leaves_the_plot_alone():
    _, plane, state = fresh()
    view = state.view.bounds.copy()
    state = feed(state, plane, [move(LAYOUT.hud.center), pygame.event.Event(pygame.MOUSEWHEEL, x=0, y=2)])
    np.testing.assert_array_equal(state.view.bounds, view)


def test_equal_scales_give_both_axes_the_same_span():
    view = equal_scales(np.array([[-2.0, 2.0], [0.0, 10.0]]))
    np.testing.assert_allclose(view, [[-5.0, 5.0], [0.0, 10.0]])


def test_the_readout_gains_decimals_as_the_view_narrows():
    from viewer.words import readout_decimals

    def view(width):
        return np.array([[0.0, width], [0.0, width]])

    assert readout_decimals(view(50.0), 3) == 3  # the home view: as always
    assert readout_decimals(view(0.004), 3) == 6  # a pixel of a 0.004-wide view is ~8e-6
    assert readout_decimals(view(1e-12), 2) == 7  # float32's limit
