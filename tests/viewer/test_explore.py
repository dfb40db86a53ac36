"""Exploring: each feature driven by scripted input through the same event path as a real session,
with assertions on state and on pixels. Runs in the torch-free environment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pygame
import pytest

from latent_common.style import CLASS_COLORS, DRAWN
from tests.helpers import ROOT, SHIPPED
from tests.viewer.harness import click, ev, key, move, press, release, run_viewer, scene_for
from viewer.bundle import DECODER, load_bundle
from viewer.events import handle
from viewer.explore import bilinear, grid_centres, grid_nodes, make_plane, nearest, plane_bounds, segment, zoom
from viewer.inference import CPU, GridDecoder, OnnxModel
from viewer.layout import STRIP_COUNT, make_layout, window_size
from viewer.state import ZOOM_RANGE, initial_state

EIGHT_D = ROOT / "models" / "mnist-ae-8d"
LAYOUT = make_layout(window_size())


def fresh(bundle_path=SHIPPED):
    bundle = load_bundle(bundle_path)
    plane = make_plane(bundle.z)
    home = plane_bounds(plane, plane.project(bundle.z), bundle.bounds)
    return bundle, plane, initial_state(plane, home, LAYOUT.size, bundle.image_shape)


def feed(state, plane, events, bundle):
    for event in events:
        state = handle(event, state, LAYOUT, plane)
    return state


def run_script(tmp_path: Path, events_at: dict[int, list], frames: int = 10, *flags: str, bundle: Path = SHIPPED):
    """Run the real viewer headless, posting events_at[frame] before that frame; returns stats and the last frame."""
    script = lambda frame, layout: events_at.get(frame, [])  # noqa: E731
    stats, shot = run_viewer(tmp_path, script, frames, "--shots-dir", str(tmp_path), *flags, bundle=bundle)
    return stats, pygame.surfarray.array3d(shot).astype(int)  # (x, y, 3)


def region(pixels, rect):
    return pixels[rect.left : rect.right, rect.top : rect.bottom]


def count_color(pixels, color, tolerance=60):
    return int((np.abs(pixels.reshape(-1, 3) - color).sum(axis=1) < tolerance).sum())


# 1. Zoom and pan -------------------------------------------------------------------------------


def test_wheel_zooms_about_the_cursor_and_r_resets():
    bundle, plane, state = fresh()
    spot = (LAYOUT.plot.left + 100, LAYOUT.plot.top + 150)
    before = LAYOUT.to_plane(spot, state.view.bounds)
    width = np.ptp(state.view.bounds, axis=1)
    plot_key = scene_for(state).panel("plot").key(state)
    state = feed(state, plane, [move(spot), ev(pygame.MOUSEWHEEL, x=0, y=1)], bundle)
    np.testing.assert_allclose(np.ptp(state.view.bounds, axis=1), width * 0.8)
    np.testing.assert_allclose(LAYOUT.to_plane(spot, state.view.bounds), before, atol=1e-9)  # the point stays put
    assert scene_for(state).panel("plot").key(state) != plot_key  # the scatter is redrawn for the new view
    state = feed(state, plane, [key(pygame.K_r, "r")], bundle)
    np.testing.assert_array_equal(state.view.bounds, state.view.home)


def test_zoom_stops_at_its_limits_and_says_so():
    bundle, plane, state = fresh()
    spot = (LAYOUT.plot.left + 100, LAYOUT.plot.top + 150)
    home_width = np.ptp(state.view.home[0])
    state = feed(state, plane, [move(spot)] + [ev(pygame.MOUSEWHEEL, x=0, y=3)] * 40, bundle)  # 0.8^120: far past
    notch = 0.8**3  # three wheel steps at once
    assert (
        ZOOM_RANGE[0] <= np.ptp(state.view.bounds[0]) / home_width < ZOOM_RANGE[0] / notch
    )  # within a notch of the limit
    assert "as far as it goes" in state.notice
    state = feed(state, plane, [ev(pygame.MOUSEWHEEL, x=0, y=-3)] * 80, bundle)
    assert ZOOM_RANGE[1] * notch < np.ptp(state.view.bounds[0]) / home_width <= ZOOM_RANGE[1]
    assert np.isfinite(state.view.bounds).all()


def test_drag_pans_and_a_click_pins():
    bundle, plane, state = fresh()
    a, b = (LAYOUT.plot.left + 200, LAYOUT.plot.top + 200), (LAYOUT.plot.left + 260, LAYOUT.plot.top + 230)
    grabbed = LAYOUT.to_plane(a, state.view.bounds)
    state = feed(state, plane, [move(a), press(a), move(b, held=True)], bundle)
    assert state.pointer.panning
    np.testing.assert_allclose(LAYOUT.to_plane(b, state.view.bounds), grabbed, atol=1e-9)  # the grabbed point follows
    state = feed(state, plane, [release(b)], bundle)
    assert state.route.pins == [] and not state.pointer.panning
    state = feed(state, plane, click(a) + click(b), bundle)
    assert len(state.route.pins) == 2
    np.testing.assert_allclose(
        state.route.pins[0], plane.lift(LAYOUT.to_plane(a, state.view.bounds), state.view.offsets)[0], atol=1e-5
    )
    state = feed(state, plane, click(b), bundle)
    assert len(state.route.pins) == 1  # a third click starts a new segment


def test_zoom_rerenders_the_scatter(tmp_path: Path):
    centre = LAYOUT.plot.center
    _, plain = run_script(tmp_path, {1: [move(centre)]}, 4)
    _, zoomed = run_script(tmp_path, {1: [move(centre), ev(pygame.MOUSEWHEEL, x=0, y=3)]}, 4)
    plot_plain, plot_zoomed = region(plain, LAYOUT.plot), region(zoomed, LAYOUT.plot)
    assert np.abs(plot_plain - plot_zoomed).sum(axis=2).astype(bool).mean() > 0.05


# 2. Manifold map --------------------------------------------------------------------------------


def test_grid_centres_tile_the_view_from_the_top_left():
    view = np.array([[0.0, 4.0], [0.0, 2.0]])
    centres = grid_centres(view, 2)
    np.testing.assert_allclose(centres, [[1.0, 1.5], [3.0, 1.5], [1.0, 0.5], [3.0, 0.5]])


def test_map_key_tiles_the_plot_with_decoded_digits(tmp_path: Path):
    _, plain = run_script(tmp_path, {}, 12)
    _, mapped = run_script(tmp_path, {0: [key(pygame.K_g, "g")]}, 12)  # decoded a slice a frame
    inner = LAYOUT.plot.inflate(-4, -4)
    brightness_plain, brightness_map = region(plain, inner).mean(), region(mapped, inner).mean()
    assert brightness_map > brightness_plain + 10  # light strokes of 256 decoded digits under the dots


# 3. Pins, strip, slider, export -------------------------------------------------------------------


def test_slider_moves_z_along_the_segment():
    bundle, plane, state = fresh()
    a, b = (LAYOUT.plot.left + 100, LAYOUT.plot.top + 400), (LAYOUT.plot.left + 400, LAYOUT.plot.top + 100)
    state = feed(state, plane, click(a) + click(b) + [key(pygame.K_RIGHT)] * 3, bundle)
    assert state.focus == "slider" and state.route.t == pytest.approx(0.65)
    expected = (1 - state.route.t) * state.route.pins[0] + state.route.t * state.route.pins[1]
    np.testing.assert_allclose(state.z[0], expected, atol=1e-5)
    state = feed(state, plane, [move((LAYOUT.strip.left, LAYOUT.strip.centery))], bundle)
    assert state.route.t == 0.0
    np.testing.assert_allclose(state.z[0], state.route.pins[0], atol=1e-6)


def test_segment_is_evenly_spaced():
    points = segment(np.array([0.0, 0.0]), np.array([7.0, -7.0]), STRIP_COUNT)
    np.testing.assert_allclose(np.diff(points, axis=0), np.tile([1.0, -1.0], (STRIP_COUNT - 1, 1)), atol=1e-6)


def test_strip_is_drawn_and_exports(tmp_path: Path):
    a, b = (LAYOUT.plot.left + 150, LAYOUT.plot.top + 420), (LAYOUT.plot.left + 330, LAYOUT.plot.top + 120)
    _, pixels = run_script(tmp_path, {1: click(a) + click(b), 3: [key(pygame.K_e, "e")]}, 5)
    cells = [region(pixels, LAYOUT.strip_cell(i)) for i in range(STRIP_COUNT)]
    assert all(cell.max() > 200 for cell in cells)  # every decode along A->B has bright strokes
    exported = list(tmp_path.glob("strip-*.png"))
    assert len(exported) == 1
    assert pygame.image.load(str(exported[0])).get_size() == (STRIP_COUNT * 28 * 4, 28 * 4)


# 4. Nearest real digits --------------------------------------------------------------------------


def test_nearest_matches_brute_force_and_respects_the_filter():
    rng = np.random.default_rng(0)
    points, target = rng.normal(size=(500, 3)), rng.normal(size=3)
    order = np.argsort(((points - target) ** 2).sum(axis=1))
    np.testing.assert_array_equal(nearest(points, target, 4), order[:4])
    visible = np.ones(500, bool)
    visible[order[0]] = False
    np.testing.assert_array_equal(nearest(points, target, 4, visible), order[1:5])


def test_neighbour_thumbnails_show_real_digits(tmp_path: Path):
    _, pixels = run_script(tmp_path, {1: [move(LAYOUT.plot.center)]}, 3)
    side = region(pixels, LAYOUT.side)
    assert side.max() > 200 and (side.sum(axis=2) > 400).mean() > 0.03


# 5. Draw to encode --------------------------------------------------------------------------------


def test_drawing_paints_the_canvas_and_c_clears():
    bundle, plane, state = fresh()
    top, bottom = (LAYOUT.tile.centerx, LAYOUT.tile.top + 30), (LAYOUT.tile.centerx, LAYOUT.tile.bottom - 30)
    state = feed(state, plane, [key(pygame.K_d, "d"), press(top), move(bottom, held=True), release(bottom)], bundle)
    assert state.focus == "draw" and state.canvas.image.any()
    column = state.canvas.image[0][:, 13:15].max(axis=1)
    assert (column > 0.5).sum() > 15 and state.canvas.image[0][
        :, :8
    ].max() < 0.05  # a vertical stroke, nothing beside it
    state = feed(state, plane, [key(pygame.K_c, "c")], bundle)
    assert not state.canvas.image.any()


def test_drawing_is_encoded_marked_and_reconstructed(tmp_path: Path):
    top, bottom = (LAYOUT.tile.centerx, LAYOUT.tile.top + 30), (LAYOUT.tile.centerx, LAYOUT.tile.bottom - 30)
    stroke = (
        [key(pygame.K_d, "d"), press(top)]
        + [move((top[0], y), held=True) for y in range(top[1], bottom[1], 8)]
        + [release(bottom)]
    )
    _, pixels = run_script(tmp_path, {1: stroke}, 4)
    assert count_color(region(pixels, LAYOUT.plot), DRAWN, 40) > 20  # the ring where the drawing lands
    assert region(pixels, LAYOUT.side).max() > 150  # its reconstruction beside the canvas
    assert region(pixels, LAYOUT.tile).max() > 200  # the drawing itself


# 6. Latents above 2-D ---------------------------------------------------------------------------


@pytest.mark.skipif(not EIGHT_D.exists(), reason="models/mnist-ae-8d not shipped")
def test_eight_d_bundle_opens_on_its_principal_plane():
    bundle, plane, state = fresh(EIGHT_D)
    assert bundle.latent_dim == 8 and plane.dim == 8
    np.testing.assert_allclose(plane.basis.T @ plane.basis, np.eye(2), atol=1e-9)
    np.testing.assert_allclose(plane.origin, bundle.z.mean(axis=0), rtol=1e-5, atol=1e-5)
    spot = (LAYOUT.plot.left + 123, LAYOUT.plot.top + 321)
    state = feed(state, plane, [move(spot)], bundle)
    uv = LAYOUT.to_plane(spot, state.view.bounds)
    np.testing.assert_allclose(
        state.z[0], plane.origin + plane.basis @ uv, rtol=1e-5, atol=1e-4
    )  # exactly on the plane
    state = feed(state, plane, [key(pygame.K_RIGHTBRACKET, "]"), key(pygame.K_EQUALS, "=")], bundle)
    assert state.view.component == 1 and state.view.offsets[1] == pytest.approx(0.25)
    np.testing.assert_allclose(
        state.z[0] - (plane.origin + plane.basis @ uv), plane.extra[:, 1] * 0.25 * plane.extra_std[1], atol=1e-4
    )


@pytest.mark.skipif(not EIGHT_D.exists(), reason="models/mnist-ae-8d not shipped")
def test_eight_d_bundle_runs_headless(tmp_path: Path):
    events = {1: [move(LAYOUT.plot.center), key(pygame.K_EQUALS, "=")]}  # "=": off the PCA plane
    stats, pixels = run_script(tmp_path, events, 5, "--projection", "pca", bundle=EIGHT_D)
    assert stats["decodes"] >= 2 and region(pixels, LAYOUT.tile).max() > 150


def test_two_d_plane_is_the_latent_space_itself():
    plane = make_plane(np.random.default_rng(0).normal(size=(100, 2)))
    np.testing.assert_array_equal(plane.lift([[1.5, -2.0]], []), [[1.5, -2.0]])


# 7. Class filter ----------------------------------------------------------------------------------


def test_number_keys_and_legend_clicks_toggle_classes(tmp_path: Path):
    bundle, plane, state = fresh()
    state = feed(state, plane, [key(pygame.K_1, "1")], bundle)
    assert state.view.hidden == {1}
    state = feed(state, plane, click(LAYOUT.legend_item(1).center), bundle)
    assert state.view.hidden == set()
    _, shown = run_script(tmp_path, {}, 2)
    _, hidden = run_script(tmp_path, {0: [key(pygame.K_1, "1")]}, 2)
    orange = CLASS_COLORS[1]
    assert count_color(region(shown, LAYOUT.plot), orange) > 500
    assert count_color(region(hidden, LAYOUT.plot), orange) < 20


# 8. Screenshot and recording ---------------------------------------------------------------------


def test_s_saves_a_screenshot_and_record_saves_frames(tmp_path: Path):
    record = tmp_path / "frames"
    events = {i: [move((LAYOUT.plot.left + 10 * i, LAYOUT.plot.centery))] for i in range(5)}
    events[2].append(key(pygame.K_s, "s"))
    run_script(tmp_path, events, 6, "--record", str(record))
    shots = list(tmp_path.glob("latent-explorer-*.png"))
    assert len(shots) == 1 and pygame.image.load(str(shots[0])).get_size() == LAYOUT.size
    assert len(list(record.glob("frame-*.png"))) >= 5


# 9. Precompute mode -------------------------------------------------------------------------------


def test_grid_decoder_matches_live_decodes_at_nodes_and_interpolates_between():
    bundle, plane, state = fresh()
    decoder = OnnxModel(SHIPPED / DECODER, "decoder", 2, (28, 28), [CPU])
    grid = GridDecoder(decoder, 5)
    grid.refresh(plane, state.view.bounds, state.view.offsets)
    nodes = grid_nodes(state.view.bounds, 5)
    for index in (0, 7, 24):
        np.testing.assert_allclose(grid(nodes[index]), decoder(nodes[index][None].astype(np.float32))[0], atol=1e-6)
    midpoint = (nodes[6] + nodes[7]) / 2
    np.testing.assert_allclose(grid(midpoint), (grid(nodes[6]) + grid(nodes[7])) / 2, atol=1e-6)
    images = np.arange(2 * 2 * 1 * 1, dtype=float).reshape(2, 2, 1, 1)
    assert bilinear(images, np.array([[0.0, 1.0], [0.0, 1.0]]), np.array([0.5, 0.5]))[0, 0] == pytest.approx(1.5)


def test_precompute_mode_runs_and_says_so(tmp_path: Path):
    stats, _ = run_script(
        tmp_path,
        {i: [move((LAYOUT.plot.left + 5 * i, LAYOUT.plot.top + 3 * i))] for i in range(1, 8)},
        8,
        "--precompute",
        "24",
    )
    assert stats["mode"] == "precomputed 24×24 grid, interpolated" and stats["decodes"] >= 7


# Help overlay and zoom arithmetic ------------------------------------------------------------------


def test_help_overlay_toggles_and_darkens(tmp_path: Path):
    bundle, plane, state = fresh()
    assert feed(state, plane, [key(pygame.K_h, "h")], bundle).show_help
    assert feed(state, plane, [key(pygame.K_SLASH, "?")], bundle).show_help is False  # toggled back
    _, plain = run_script(tmp_path, {}, 2)
    _, helped = run_script(tmp_path, {0: [key(pygame.K_h, "h")]}, 2)
    assert helped[:, :, :].mean() < plain.mean() * 0.6


def test_zoom_out_then_in_returns():
    view = np.array([[-3.0, 5.0], [1.0, 2.0]])
    anchor = np.array([0.5, 1.5])
    np.testing.assert_allclose(zoom(zoom(view, anchor, 0.8), anchor, 1 / 0.8), view)
