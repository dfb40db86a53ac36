"""The numpy dot raster (viewer/dots.py): a lone dot looks like a sprite, density saturates, hidden classes
stay hidden, and only embeddings past SPRITE_LIMIT take it."""

from __future__ import annotations

import os

import numpy as np
import pygame
import pytest

from latent_common.style import class_color
from viewer import dots
from viewer.layout import make_layout, window_size
from viewer.panels.plot import scatter_surface
from viewer.words import PlotText

LAYOUT = make_layout(window_size())
VIEW = np.array([[0.0, 10.0], [0.0, 10.0]])
WORDS = PlotText("title", "z1", "z2", ("keys",))


@pytest.fixture(autouse=True)
def display():
    os.environ["SDL_VIDEODRIVER"] = "dummy"
    pygame.display.init()
    pygame.display.set_mode((10, 10))
    pygame.font.init()
    yield
    pygame.display.quit()


def fonts() -> dict:
    return {"text": pygame.font.Font(None, 20), "small": pygame.font.Font(None, 17)}


def plot_pixels(points, labels, hidden=frozenset()) -> np.ndarray:
    """The plot's pixels (W, H, 3) as scatter_surface draws them."""
    surface = scatter_surface(LAYOUT, VIEW, points, labels, hidden, fonts(), WORDS)
    return pygame.surfarray.array3d(surface.subsurface(LAYOUT.plot)).astype(int)


def sparse_points(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points on a coarse lattice, so no two dots overlap, with every class present."""
    rng = np.random.default_rng(seed)
    cells = rng.choice(40 * 40, size=count, replace=False)
    points = np.stack([cells % 40, cells // 40], axis=1) * 0.25 + 0.1  # (count, 2) inside VIEW
    return points, (np.arange(count) % 10).astype(np.uint8)


def test_lone_dots_look_like_sprites(monkeypatch):
    points, labels = sparse_points(300)
    sprites = plot_pixels(points, labels)
    monkeypatch.setattr(dots, "SPRITE_LIMIT", 0)  # the same points through the raster
    raster = plot_pixels(points, labels)
    empty = plot_pixels(points[:0], labels[:0])
    assert (raster != empty).any(axis=2).sum() == len(dots.FOOTPRINT) * len(points)  # every dot, whole
    assert np.abs(sprites - raster).max() <= 1  # pygame's blend rounds a little differently, that is all


def test_a_dot_covers_the_sprite_footprint():
    covered, top = dots.coverage(np.array([[5.0, 5.0]]), np.zeros(1, np.uint8), VIEW, (101, 101))
    centre = (50, 50)  # 5.0 of 0..10 over 101 pixels; y counts down from the top
    lit = {(int(x) - centre[0], int(y) - centre[1]) for x, y in zip(*np.nonzero(covered))}
    assert lit == set(dots.FOOTPRINT) and len(lit) == 12
    assert (top[covered > 0] == 0).all() and (top[covered == 0] == -1).all()


def test_dense_dots_saturate_to_the_class_colour():
    points = np.full((500, 2), 5.0)
    out = dots.blend(np.zeros((101, 101, 3), np.uint8), points, np.full(500, 3, np.uint8), VIEW)
    assert tuple(out[50, 50]) == class_color(3)


def test_the_last_dot_drawn_gives_the_colour():
    points = np.full((3, 2), 5.0)
    out = dots.blend(np.zeros((101, 101, 3), np.uint8), points, np.array([1, 2, 4], np.uint8), VIEW)
    alpha = 1 - (1 - dots.DOT_ALPHA / 255) ** 3
    np.testing.assert_allclose(out[50, 50], np.array(class_color(4)) * alpha, atol=1)


def test_hidden_classes_and_points_out_of_view_are_not_drawn():
    points = np.array([[5.0, 5.0], [2.0, 2.0], [50.0, 5.0], [-0.1, 5.0], [-0.3, 5.0]])
    labels = np.array([0, 1, 0, 0, 0], np.uint8)
    covered, _ = dots.coverage(points, labels, VIEW, (101, 101), hidden=frozenset({1}))
    assert covered[20, 80] == 0  # (2, 2) is class 1, hidden
    assert covered[50, 50] == 1
    # along row y = 50 (covered is (x, y)): the centre dot's 4 pixels, and pixel 0 from the dot just left of the
    # plot at pixel -1; the one at pixel -3 and the one far right reach nothing inside
    assert covered[:, 50].sum() == 4 + 1 and covered[0, 50] == 1
    assert covered[100].sum() == 0


def test_only_large_embeddings_take_the_raster(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the raster was used")

    monkeypatch.setattr(dots, "blend", refuse)
    points = np.random.default_rng(0).uniform(0, 10, size=(dots.SPRITE_LIMIT, 2))
    scatter_surface(LAYOUT, VIEW, points, np.zeros(len(points), np.uint8), frozenset(), fonts(), WORDS)
    with pytest.raises(AssertionError, match="the raster was used"):
        points = np.vstack([points, [[5.0, 5.0]]])
        scatter_surface(LAYOUT, VIEW, points, np.zeros(len(points), np.uint8), frozenset(), fonts(), WORDS)
