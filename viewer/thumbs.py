"""Real images instead of dots once the view is zoomed in far enough that they fit.

Zoomed out, a dot per test image shows the embedding's shape; zoomed in on a few dozen points, a dot says
less than the image it stands for. So when at most MAX_THUMBS points are in view and their images, each at
least THUMB_MIN pixels a side, would cover at most FILL of the plot, `ThumbCache.placed` picks them (and the
side: as large as that allows, up to THUMB_MAX or the images' own size) and render.scatter_surface draws each
one's test image centred on its point, framed in its dot's colour. Sides are multiples of SIDE_STEP and the
scaled surfaces are kept across redraws: a zoom or pan redraws the scatter, and mostly the same images.
"""

from __future__ import annotations

import numpy as np
import pygame

from viewer.dots import centres

MAX_THUMBS = 300  # more in view than this and they stay dots, however large the plot
FILL = 0.3  # the share of the plot the thumbnails may cover together: past it they would mostly overlap
THUMB_MAX = 32  # pixels a side: MNIST's 28 drawn as they are, 64x64 pictures halved
THUMB_MIN = 16  # smaller than this, an image is a smudge: dots say as much
SIDE_STEP = 4  # sides come in steps of this, so zooming reuses the scaled images it made
CACHE_LIMIT = 2048  # scaled images kept (~2 MB at 32x32 in colour); cleared when full


SAMPLE_PAST = 50_000  # more points than this: a stride sample first says whether far too many are in view
SAMPLE = 4096  # its points


def crowded(points: np.ndarray, view: np.ndarray, size: tuple[int, int], half: float) -> bool:
    """Whether a stride sample of the points puts far more than MAX_THUMBS in view: the zoomed-out picture of a
    large embedding, which then costs ~0.1 ms a redraw, not a pass over every point (3 ms at a million)."""
    step = len(points) // SAMPLE
    (x_low, x_high), (y_low, y_high) = view
    margin = half / np.array(size) * [x_high - x_low, y_high - y_low]  # half a thumbnail, in plane units
    sample = points[::step]
    inside = (
        (sample[:, 0] > x_low - margin[0])
        & (sample[:, 0] < x_high + margin[0])
        & (sample[:, 1] > y_low - margin[1])
        & (sample[:, 1] < y_high + margin[1])
    )
    expected = MAX_THUMBS / step  # sample points in view when MAX_THUMBS are: more than 6 sigma and 6 past it, never
    return int(np.count_nonzero(inside)) > expected + 6 * np.sqrt(expected) + 6


class ThumbCache:
    """The bundle's test images (uint8 (M, C, H, W)) as framed-to-be thumbnails, made on first use."""

    def __init__(self, images: np.ndarray, image_surface):
        self.images, self.image_surface = images, image_surface  # panels.paint.image_surface, passed in
        self.largest = min(THUMB_MAX, max(images.shape[2:]))
        self.side = self.largest  # pixels a side, as the last placement chose
        self.cache: dict[tuple[int, int], pygame.Surface] = {}

    def placed(
        self, points: np.ndarray, view: np.ndarray, size: tuple[int, int], shown: np.ndarray | None
    ) -> np.ndarray | None:
        """Rows of `points` (plane (N, 2)) whose thumbnails would show in a plot of `size`, and sets `side`; None
        when they don't fit (too many in view): draw dots. Empty when the view holds none: still zoomed in.
        `shown`: a mask of the rows that may be drawn."""
        if not len(points):
            return None
        half = self.largest / 2
        if len(points) > SAMPLE_PAST and crowded(points, view, size, half):
            return None
        x, y = centres(points, view, size)  # pixel column and row + 0.5, float32
        inside = (x > -half) & (x < size[0] + half) & (y > -half) & (y < size[1] + half)
        if shown is not None:
            inside &= shown
        count = int(np.count_nonzero(inside))
        if count > MAX_THUMBS:
            return None
        room = int(np.sqrt(FILL * size[0] * size[1] / max(count, 1))) // SIDE_STEP * SIDE_STEP
        side = min(self.largest, room)
        if side < min(THUMB_MIN, self.largest):
            return None
        self.side = side
        return np.flatnonzero(inside)

    def get(self, index: int) -> pygame.Surface:
        """The test image at row `index`, scaled to the current side."""
        key = (index, self.side)
        if key not in self.cache:
            if len(self.cache) >= CACHE_LIMIT:
                self.cache.clear()
            self.cache[key] = self.image_surface(self.images[index] / 255.0, (self.side, self.side))
        return self.cache[key]
