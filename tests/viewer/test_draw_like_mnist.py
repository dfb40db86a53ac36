"""Draw like MNIST: for a grey MNIST-like bundle, a drawing (or a picture) is normalised the way MNIST's digits
were before it is encoded, and the side panel shows that image ("what the model sees") above the reconstruction."""

from __future__ import annotations

import numpy as np
import pygame

from tests.helpers import ROOT, SHIPPED
from tests.viewer.harness import key, move, press, release, run_viewer
from viewer.bundle import load_bundle
from viewer.layout import CAPTION, make_layout, window_size
from viewer.normalise import MNIST_FIT
from viewer.words import sees_like_mnist

LAYOUT = make_layout(window_size())
SIDE = max(min(LAYOUT.side.width, (LAYOUT.side.height - CAPTION) // 2), 8)  # panels.side.seen_halves's image side


def brightness(shot: pygame.Surface, rect: pygame.Rect) -> np.ndarray:
    """(y, x) mean of the RGB channels inside rect."""
    pixels = pygame.surfarray.array3d(shot)[rect.left : rect.right, rect.top : rect.bottom].mean(axis=2)
    return pixels.T


def ink_extent(plane: np.ndarray) -> tuple[int, int]:
    rows, cols = np.nonzero((plane > 128).any(axis=1))[0], np.nonzero((plane > 128).any(axis=0))[0]
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def seen_rect() -> pygame.Rect:
    return pygame.Rect(LAYOUT.side.left, LAYOUT.side.top, SIDE, SIDE)


def test_a_large_drawing_is_shown_and_encoded_at_mnist_size(tmp_path):
    tile = LAYOUT.tile
    corners = [(tile.left + 12, tile.top + 12), (tile.right - 12, tile.top + 12), (tile.left + 40, tile.bottom - 12)]
    strokes = [key(pygame.K_d, "d"), press(corners[0])]
    for start, end in zip(corners, corners[1:]):  # a 7 across the whole tile
        strokes += [move(tuple(np.add(start, np.subtract(end, start) * t).astype(int)), held=True)
                    for t in np.linspace(0, 1, 12)]  # fmt: skip
    strokes.append(release(corners[-1]))
    _, shot = run_viewer(tmp_path, lambda frame, layout: strokes if frame == 1 else [], 4, "--mouse", "still")
    drawn = ink_extent(brightness(shot, tile))
    assert min(drawn) > 0.8 * tile.width  # drawn large
    seen = ink_extent(brightness(shot, seen_rect()))
    assert max(seen) <= (MNIST_FIT + 1 / 28) * SIDE + 2 and max(seen) >= (MNIST_FIT - 2 / 28) * SIDE, seen
    below = pygame.Rect(LAYOUT.side.left, LAYOUT.side.top + SIDE + CAPTION, SIDE, SIDE)
    assert brightness(shot, below).max() > 150  # the reconstruction, under its caption


def test_a_picture_in_a_corner_is_centred_before_it_is_encoded(tmp_path):
    picture = pygame.Surface((56, 56))
    picture.fill((0, 0, 0))
    pygame.draw.rect(picture, (255, 255, 255), pygame.Rect(2, 2, 6, 14))  # a small bar, top left
    path = tmp_path / "corner.png"
    pygame.image.save(picture, str(path))
    _, shot = run_viewer(tmp_path, lambda frame, layout: [], 3, "--mouse", "still", "--encode", str(path))
    seen = brightness(shot, seen_rect())
    rows, cols = np.nonzero(seen > 128)
    assert abs(rows.mean() - SIDE / 2) < SIDE / 8 and abs(cols.mean() - SIDE / 2) < SIDE / 8
    assert ink_extent(seen)[0] >= (MNIST_FIT - 2 / 28) * SIDE  # scaled up to MNIST's 20 of 28 pixels


def test_only_grey_mnist_like_bundles_are_normalised():
    assert sees_like_mnist(load_bundle(SHIPPED))
    assert not sees_like_mnist(load_bundle(ROOT / "models" / "emoji-vae"))
