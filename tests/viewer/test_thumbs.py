"""Zoomed in far enough, the scatter draws each visible point as its own test image instead of a dot."""

from __future__ import annotations

import numpy as np
import pygame

from tests.helpers import SHIPPED
from tests.viewer.harness import ev, move, run_viewer
from viewer.bundle import load_bundle
from viewer.explore import make_plane, plane_bounds
from viewer.render import INK
from viewer.thumbs import FILL, MAX_THUMBS, ThumbCache

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


def test_they_must_fit_the_plot_and_the_count():
    thumbs = cache(side=28)
    fits = int(FILL * PLOT[0] * PLOT[1] / 28**2)  # 95 thumbnails cover 30% of a 500x500 plot
    view = np.array([[0.0, 1.0], [0.0, 1.0]])
    grid = np.random.default_rng(1).uniform(0.1, 0.9, (fits + 1, 2)).astype(np.float32)
    assert thumbs.placed(grid[:fits], view, PLOT, None) is not None
    assert thumbs.placed(grid, view, PLOT, None) is None
    big = (5000, 5000)
    many = np.random.default_rng(2).uniform(0.1, 0.9, (MAX_THUMBS + 1, 2)).astype(np.float32)
    assert thumbs.placed(many, view, big, None) is None  # room enough, but more than MAX_THUMBS


def test_zooming_in_on_the_shipped_bundle_shows_its_digits(tmp_path):
    bundle = load_bundle(SHIPPED)
    plane = make_plane(bundle.z)
    home = plane_bounds(plane, bundle.z, bundle.bounds)
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
