"""Zoomed in far enough, the scatter draws each visible point as its own test image instead of a dot."""

from __future__ import annotations

import numpy as np
import pygame

from tests.helpers import SHIPPED
from tests.viewer.harness import ev, move, run_viewer
from viewer import thumbs as thumbs_module
from viewer.bundle import load_bundle
from viewer.explore import make_plane, plane_bounds
from viewer.panels.paint import INK
from viewer.thumbs import FILL, MAX_THUMBS, THUMB_MIN, ThumbCache, crowded

PLOT = (500, 500)


def cache(side: int = 28) -> ThumbCache:
    return ThumbCache(np.zeros((10, 1, side, side), np.uint8), lambda image, size: pygame.Surface(size))


def test_few_points_in_view_are_placed_and_many_are_not():
    points = np.random.default_rng(0).uniform(-10, 10, (10_000, 2)).astype(np.float32)
    thumbs = cache()
    assert thumbs.placed(points, np.array([[-10.0, 10.0], [-10.0, 10.0]]), PLOT, None) is None  # all in view
    view = np.array([[0.0, 1.0], [0.0, 1.0]])  # about 25 of the 10,000 points; half a thumbnail is 0.028
    placed = thumbs.placed(points, view, PLOT, None)
    near = (points[:, 0] > -0.03) & (points[:, 0] < 1.03) & (points[:, 1] > -0.03) & (points[:, 1] < 1.03)
    inside = near & (points[:, 0] > 0) & (points[:, 0] < 1) & (points[:, 1] > 0) & (points[:, 1] < 1)
    assert placed is not None and set(placed) >= set(np.flatnonzero(inside))
    assert set(placed) <= set(np.flatnonzero(near))  # within half a thumbnail of the plot, no further
    shown = np.ones(len(points), bool)
    shown[placed[0]] = False
    assert placed[0] not in thumbs.placed(points, view, PLOT, shown)  # a hidden class stays hidden


def test_their_side_shrinks_with_their_count_down_to_a_legible_size():
    thumbs = cache(side=28)
    view = np.array([[0.0, 1.0], [0.0, 1.0]])
    spots = np.random.default_rng(1).uniform(0.1, 0.9, (400, 2)).astype(np.float32)
    sides = {}
    for count in (10, 100, 250):
        assert thumbs.placed(spots[:count], view, PLOT, None) is not None
        sides[count] = thumbs.side
    # 30% of a 500x500 plot shared: 10 get the images' own 28 px, 100 get 24 (27.4 in steps of 4), 250 get 16
    assert sides == {10: 28, 100: 24, 250: 16}
    assert (FILL * PLOT[0] * PLOT[1] / 293) ** 0.5 < THUMB_MIN
    assert thumbs.placed(spots[:293], view, PLOT, None) is None  # they would be under 16 px: dots
    big = (5000, 5000)
    many = np.random.default_rng(2).uniform(0.1, 0.9, (MAX_THUMBS + 1, 2)).astype(np.float32)
    assert thumbs.placed(many, view, big, None) is None  # room enough, but more than MAX_THUMBS
    empty = thumbs.placed(spots, np.array([[5.0, 6.0], [5.0, 6.0]]), PLOT, None)
    assert empty is not None and len(empty) == 0  # zoomed in on an empty patch: still the zoomed-in look


def test_zooming_in_on_the_shipped_bundle_shows_its_digits(tmp_path):
    bundle = load_bundle(SHIPPED)
    plane = make_plane(bundle.z)
    home = plane_bounds(plane, plane.project(bundle.z), bundle.bounds)
    white = np.array(INK[-1])

    def ink_pixels(shot: pygame.Surface, plot: pygame.Rect) -> int:
        pixels = pygame.surfarray.array3d(shot)[plot.left : plot.right, plot.top : plot.bottom].reshape(-1, 3)
        return int((np.abs(pixels.astype(int) - white).sum(axis=1) < 60).sum())

    def zoom_on_a_digit(frame, layout):
        spot = tuple(layout.to_screen(plane.project(bundle.z[:1]), home)[0])
        return [move(spot)] + [ev(pygame.MOUSEWHEEL, x=0, y=3)] * 7 if frame == 1 else []  # 0.8^21: 1/108

    layout_plot = {}

    def home_only(frame, layout):
        layout_plot["plot"] = layout.plot
        return []

    _, shot = run_viewer(tmp_path, home_only, 3, "--mouse", "still")
    assert ink_pixels(shot, layout_plot["plot"]) == 0  # dots only: none is the ink's white
    _, shot = run_viewer(tmp_path, zoom_on_a_digit, 4, "--mouse", "still")
    assert ink_pixels(shot, layout_plot["plot"]) > 40  # at least the digit under the cursor, in its strokes


def test_a_large_embedding_zoomed_out_is_judged_from_a_sample_never_wrongly(monkeypatch):
    """Past SAMPLE_PAST points a stride sample says 'too many in view' first: at any zoom, the same answer as
    counting every point."""
    rng = np.random.default_rng(2)
    points = rng.standard_normal((200_000, 2)).astype(np.float32)
    views = []
    for width in np.geomspace(0.002, 8.0, 60):
        centre = rng.uniform(-1, 1, 2)
        views.append(np.stack([centre - width / 2, centre + width / 2], axis=1))
    sampled = [cache().placed(points, view, PLOT, None) for view in views]
    cut_short = sum(crowded(points, view, PLOT, cache().largest / 2) for view in views)
    monkeypatch.setattr(thumbs_module, "SAMPLE_PAST", len(points))  # every point counted
    exact = [cache().placed(points, view, PLOT, None) for view in views]
    for got, want in zip(sampled, exact):
        assert (got is None and want is None) or np.array_equal(got, want)
    assert sum(want is not None for want in exact) > 5 and cut_short > 10  # both kinds of view were tried
