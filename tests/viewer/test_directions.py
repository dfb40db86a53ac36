"""Feature directions: F, then two classes, gives the direction between their mean latents; , and . move the
current point along it (the "add a smile vector" arithmetic), and the decoded image follows."""

from __future__ import annotations

import numpy as np
import pygame
import pytest

from tests.helpers import ROOT, SHIPPED
from tests.viewer.harness import click, key, move, run_viewer
from viewer.bundle import load_bundle
from viewer.events import handle
from viewer.explore import make_plane, plane_bounds
from viewer.layout import make_layout, window_size
from viewer.session_file import SessionError
from viewer.state import Focus, initial_state, restore_session, session_of
from viewer.walk import class_means
from viewer.words import KEY_STRIPS, direction_lines, panel_captions

EIGHT_D = ROOT / "models" / "mnist-ae-8d"
EMOJI = ROOT / "models" / "emoji-vae"
LAYOUT = make_layout(window_size())
SPOT = (LAYOUT.plot.left + 120, LAYOUT.plot.top + 150)
DIGITS = {d: (getattr(pygame, f"K_{d}"), str(d)) for d in range(10)}


def fresh(path=SHIPPED):
    bundle = load_bundle(path)
    plane = make_plane(bundle.z)
    home = plane_bounds(plane, plane.project(bundle.z), bundle.bounds)
    count = len(bundle.class_names)
    means = class_means(bundle.z, bundle.labels, count)
    return bundle, plane, initial_state(plane, home, LAYOUT.size, bundle.chw, count, class_means=means)


def feed(state, plane, events):
    for event in events:
        state = handle(event, state, LAYOUT, plane)
    return state


def digit(d):
    return key(*DIGITS[d])


def pick(a, b):
    return [key(pygame.K_f, "f"), digit(a), digit(b)]


def mean_of(bundle, label):
    """An independent reference: the plain mean of the class's test latents."""
    return bundle.z[bundle.labels == label].astype(np.float64).mean(axis=0)


def test_f_then_1_then_7_points_from_the_1_cluster_to_the_7_cluster():
    bundle, plane, state = fresh()
    state = feed(state, plane, [key(pygame.K_f, "f")])
    assert state.direction.picking == () and direction_lines(state, bundle)[0][0] == "F: press the class to go from"
    state = feed(state, plane, [digit(1)])
    assert (
        state.direction.picking == (1,)
        and direction_lines(state, bundle)[0][0] == "F: now press the class to go towards"
    )
    state = feed(state, plane, [digit(7)])
    assert state.direction.classes == (1, 7) and state.direction.picking is None
    assert state.view.hidden == frozenset()  # while picking, the class keys hid nothing
    points = plane.project(bundle.z)  # where the dots are drawn
    clusters = np.stack([points[bundle.labels == 1].mean(axis=0), points[bundle.labels == 7].mean(axis=0)])
    np.testing.assert_allclose(plane.project(state.direction.ends), clusters, atol=1e-6)
    assert direction_lines(state, bundle)[0][0] == "towards 7 from 1: +0.00 (keys , . move; F clears)"


def test_period_five_times_moves_z_by_half_the_class_step_and_r_resets():
    bundle, plane, state = fresh()
    state = feed(state, plane, [move(SPOT), *pick(1, 7)])
    start = state.z.copy()
    np.testing.assert_array_equal(start, plane.lift(state.pointer.uv, state.view.offsets))  # no move until , or .
    state = feed(state, plane, [key(pygame.K_PERIOD, ".")] * 5)
    np.testing.assert_allclose(state.z[0] - start[0], 0.5 * (mean_of(bundle, 7) - mean_of(bundle, 1)), atol=1e-5)
    assert state.focus == Focus.HOVER and not np.array_equal(state.z, start)
    assert direction_lines(state, bundle)[0][0].startswith("towards 7 from 1: +0.50")
    assert panel_captions(state, bundle)[0] == "cursor +0.50 × direction (F)"
    state = feed(state, plane, [key(pygame.K_COMMA, ",")] * 2)
    np.testing.assert_allclose(state.z[0] - start[0], 0.3 * (mean_of(bundle, 7) - mean_of(bundle, 1)), atol=1e-5)
    state = feed(state, plane, [key(pygame.K_r, "r")])
    assert state.direction.steps == 0 and state.direction.classes == (1, 7)
    np.testing.assert_array_equal(state.z, plane.lift(state.pointer.uv, state.view.offsets))


def test_the_amount_stays_between_minus_one_and_plus_two():
    bundle, plane, state = fresh()
    state = feed(state, plane, [move(SPOT), *pick(1, 7), *[key(pygame.K_PERIOD, ".")] * 25])
    assert state.direction.steps == 20 and "-1 to +2" in state.notice
    state = feed(state, plane, [key(pygame.K_COMMA, ",")] * 40)
    assert state.direction.steps == -10


def test_the_direction_moves_the_slider_point_too():
    bundle, plane, state = fresh()
    a, b = (LAYOUT.plot.left + 60, LAYOUT.plot.top + 60), (LAYOUT.plot.left + 300, LAYOUT.plot.top + 280)
    state = feed(state, plane, [*click(a), *click(b), key(pygame.K_RIGHT), *pick(0, 6)])
    assert state.focus == Focus.SLIDER
    start = state.z.copy()
    state = feed(state, plane, [key(pygame.K_PERIOD, ".")] * 10)
    np.testing.assert_allclose(state.z[0] - start[0], mean_of(bundle, 6) - mean_of(bundle, 0), atol=1e-5)


def test_eight_d_moves_in_the_full_latent():
    bundle, plane, state = fresh(EIGHT_D)
    state = feed(state, plane, [move(SPOT), *pick(1, 7)])
    start, offsets = state.z.copy(), state.view.offsets.copy()
    state = feed(state, plane, [key(pygame.K_PERIOD, ".")] * 5)
    step = mean_of(bundle, 7) - mean_of(bundle, 1)  # (8,)
    assert step.shape == (8,)
    np.testing.assert_allclose(state.z[0] - start[0], 0.5 * step, atol=1e-5)
    off_plane = step - plane.basis @ (plane.basis.T @ step)
    assert np.linalg.norm(off_plane) > 0.1 * np.linalg.norm(step)  # the move leaves the PC1-PC2 plane
    np.testing.assert_array_equal(state.view.offsets, offsets)  # the offset keys' own position is left alone
    points = plane.project(bundle.z)
    clusters = np.stack([points[bundle.labels == 1].mean(axis=0), points[bundle.labels == 7].mean(axis=0)])
    np.testing.assert_allclose(plane.project(state.direction.ends), clusters, atol=1e-6)


def test_esc_cancels_picking_and_then_quits():
    bundle, plane, state = fresh()
    state = feed(state, plane, [key(pygame.K_f, "f"), digit(1), key(pygame.K_ESCAPE)])
    assert state.direction.picking is None and state.direction.classes is None and state.running
    state = feed(state, plane, [key(pygame.K_ESCAPE)])
    assert not state.running


def test_esc_clears_a_shown_direction_and_then_quits():
    bundle, plane, state = fresh()
    state = feed(state, plane, [move(SPOT), *pick(1, 7), key(pygame.K_PERIOD, "."), key(pygame.K_ESCAPE)])
    assert state.direction.classes is None and state.direction.steps == 0 and state.running
    state = feed(state, plane, [key(pygame.K_ESCAPE)])
    assert not state.running


def test_a_session_keeps_the_direction_and_how_far_along_it():
    bundle, plane, state = fresh()
    state = feed(state, plane, [move(SPOT), *pick(1, 7)] + [key(pygame.K_PERIOD, ".")] * 3)
    session = session_of(state)
    assert session.extra["direction"] == [1, 7] and session.extra["direction_steps"] == 3
    _, _, again = fresh()
    restore_session(again, session, plane, "s.json")
    assert again.direction.classes == (1, 7) and again.direction.steps == 3 and again.direction.picking is None
    np.testing.assert_array_equal(again.direction.ends, state.direction.ends)
    for direction, steps, words in (([1, 1], 0, "two different"), ([1, 10], 0, "0 to 9"), ([1, 7], 99, "-10 to 20")):
        _, _, fresh_state = fresh()
        session.extra |= {"direction": direction, "direction_steps": steps}
        with pytest.raises(SessionError, match=words):
            restore_session(fresh_state, session, plane, "s.json")


def test_digit_keys_hide_classes_again_after_picking_and_f_again_clears():
    bundle, plane, state = fresh()
    state = feed(state, plane, [*pick(1, 7), digit(3)])
    assert state.view.hidden == frozenset({3}) and state.direction.classes == (1, 7)
    state = feed(state, plane, [key(pygame.K_f, "f")])
    assert state.direction.classes is None and state.direction.ends is None and state.direction.picking is None
    state = feed(state, plane, [key(pygame.K_PERIOD, ".")])
    assert "press F" in state.notice


def test_the_same_class_twice_waits_for_another():
    bundle, plane, state = fresh()
    state = feed(state, plane, [*pick(4, 4)])
    assert state.direction.picking == (4,) and "different class" in state.notice
    state = feed(state, plane, [digit(9)])
    assert state.direction.classes == (4, 9)


def test_legend_clicks_pick_colour_classes_by_name():
    bundle, plane, state = fresh(EMOJI)
    legend = [LAYOUT.legend_item(i).center for i in (0, 1)]
    state = feed(state, plane, [key(pygame.K_f, "f"), *click(legend[0]), *click(legend[1])])
    assert state.direction.classes == (0, 1) and state.view.hidden == frozenset()
    lines = [line for line, _ in direction_lines(state, bundle)]
    assert lines == ["towards People & Body from Smileys & Emotion: +0.00", "(keys , . move; F clears)"]
    state = feed(state, plane, [move(SPOT), *[key(pygame.K_PERIOD, ".")] * 3])
    np.testing.assert_allclose(
        state.z[0] - plane.lift(state.pointer.uv, state.view.offsets)[0],
        0.3 * (mean_of(bundle, 1) - mean_of(bundle, 0)),
        atol=1e-5,
    )


def test_the_decoded_tile_follows_and_the_arrow_is_drawn(tmp_path):
    """Through the real frame loop: the same cursor, with and without moving along 1 -> 7."""
    seen = {}

    def script(steps):
        def events(frame, layout):
            seen["layout"] = layout
            if frame == 1:
                return [move((layout.plot.left + 120, layout.plot.top + 150)), *pick(1, 7)]
            if frame == 3:
                return [key(pygame.K_PERIOD, ".")] * steps
            return []

        return events

    _, still = run_viewer(tmp_path, script(0), 8)
    _, moved = run_viewer(tmp_path, script(15), 8)
    layout = seen["layout"]
    tile = layout.tile

    def pixels(shot, rect):
        return pygame.surfarray.array3d(shot.subsurface(rect)).astype(int)

    assert np.abs(pixels(still, tile) - pixels(moved, tile)).mean() > 5  # a 1.5x step changes the digit
    bundle = load_bundle(SHIPPED)
    plane = make_plane(bundle.z)
    home = plane_bounds(plane, plane.project(bundle.z), bundle.bounds)
    ends = layout.to_screen(plane.project(np.stack([mean_of(bundle, 1), mean_of(bundle, 7)])), home)
    middle = ends.mean(axis=0).round().astype(int)
    around = pixels(still, pygame.Rect(*(middle - 2), 5, 5))
    assert (np.abs(around - [220, 223, 230]).sum(axis=-1) < 30).any()  # the arrow's pale line crosses the middle


def test_the_key_strips_name_f_and_the_shortest_fits_the_smallest_window():
    from viewer.layout import MIN_WINDOW

    pygame.font.init()
    small = pygame.font.Font(None, 17)  # app.open_window's small font
    assert all("F: direction" in strip for strip in KEY_STRIPS)
    widths = [small.size(strip)[0] for strip in KEY_STRIPS]
    assert widths == sorted(widths, reverse=True)
    assert widths[-1] <= make_layout(MIN_WINDOW).footer.width
    assert widths[1] <= make_layout(window_size()).footer.width  # the default window shows W, T and A too
    assert all(k in KEY_STRIPS[1] for k in ("W: walk", "T: traversals", "A: anomalies"))
