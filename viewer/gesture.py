"""Zooming and panning at display rate: the plot follows a gesture from what is already drawn.

An exact re-render of a million dots took ~70 ms here, so redrawing it for every wheel notch or drag step
runs a gesture at ~14 frames a second. Instead, while the view keeps changing, `Glide` hands the plot panel a
preview: the plot's pixels as last rendered exactly, scaled and shifted to the new view (one
pygame.transform.scale of the part still in view, ~1 ms), with fresh axes. Once the view has been still for
SETTLE_S, the exact picture is made: for a large embedding the dots' coverage is binned dots.SLICE points at a
time, for at most about BUDGET_S a frame (`dots.CoverageJob`), so no frame holds input for long; the panel is
rebuilt from it when it is complete.
"""

from __future__ import annotations

import time

import numpy as np
import pygame

from viewer import dots

SETTLE_S = 0.06  # a view still this long ends the gesture: wheel notches of one scroll come closer than this
BUDGET_S = 0.004  # binning the exact picture's dots takes at most about this much of a frame (a slice: ~1-3 ms)
PREVIEW_LIMIT = 64  # a preview scaled past this factor is a few smeared pixels: render exactly instead


class Glide:
    """Whether the plot shows its exact picture or a preview, and the preview made from the last exact one.

    `rest` is everything the plot shows but the view (projection, offsets, hidden classes, colouring): when it
    changes, nothing drawn can be reused and the picture is exact at once."""

    def __init__(self, clock=time.perf_counter):
        self.clock = clock
        self.moved_at = -np.inf  # when the view last changed
        self.seen: bytes | None = None  # the view as last advanced
        self.exact: pygame.Surface | None = None  # the plot's pixels as last rendered exactly
        self.exact_view: np.ndarray | None = None
        self.exact_rest = None
        self.job: dots.CoverageJob | None = None
        self.previews = 0  # how many previews were made (tests count them)

    def advance(self, bounds: np.ndarray, panning: bool) -> None:
        """Note whether the view moved this frame, and bin the next slice of a pending exact picture."""
        now = bounds.tobytes()
        if self.seen is None:  # the view the window opened on: no gesture yet
            self.seen = now
        elif now != self.seen or panning:
            self.seen, self.moved_at = now, self.clock()
        if self.job is not None and self.settled():
            started = time.perf_counter()
            while self.job.result is None and time.perf_counter() - started < BUDGET_S:
                self.job.advance()

    def settled(self) -> bool:
        return self.clock() - self.moved_at >= SETTLE_S

    def coverage(self, points, labels, view, size, hidden) -> tuple | None:
        """The exact coverage of a large embedding for this view when it is complete; None while it is being
        binned (a job is started or kept for it, advanced a slice a frame once the view settles)."""
        if self.job is None or not self.job.matches(points, view, size, hidden):
            self.job = dots.CoverageJob(points, labels, view, size, hidden)
        return self.job.result

    def previewing(self, bounds: np.ndarray, rest) -> bool:
        """Show a preview this frame: the view is not settled on an exact picture of the same rest, which can
        still be scaled to it (a gesture back onto the exact picture's own view shows it as it is, unscaled)."""
        if self.exact is None or rest != self.exact_rest:
            return False
        old, new = self.exact_view[:, 1] - self.exact_view[:, 0], bounds[:, 1] - bounds[:, 0]
        return bool(np.all(old / new < PREVIEW_LIMIT) and np.all(new / old < PREVIEW_LIMIT))

    def remember(self, plot_pixels: pygame.Surface, bounds: np.ndarray, rest) -> None:
        self.exact, self.exact_view, self.exact_rest = plot_pixels.copy(), bounds.copy(), rest

    def preview(self, bounds: np.ndarray, background) -> pygame.Surface:
        """The last exact plot pixels moved to `bounds`: where its corners land in the new view, scaled."""
        self.previews += 1
        size = self.exact.get_size()
        out = pygame.Surface(size).convert() if pygame.display.get_surface() else pygame.Surface(size)
        out.fill(background)
        # the old plot's edges, in the new plot's pixels (x right, y down)
        (ox0, ox1), (oy0, oy1) = self.exact_view
        (nx0, nx1), (ny0, ny1) = bounds
        sx, sy = (size[0] - 1) / (nx1 - nx0), (size[1] - 1) / (ny1 - ny0)
        left, right = (ox0 - nx0) * sx, (ox1 - nx0) * sx
        top, bottom = (ny1 - oy1) * sy, (ny1 - oy0) * sy
        scale_x, scale_y = (right - left) / (size[0] - 1), (bottom - top) / (size[1] - 1)  # new px per old px
        # the part of the old plot still in view, whole pixels, and where it goes
        src_x0 = max(0, int(np.floor(-left / scale_x)))
        src_x1 = min(size[0], int(np.ceil((size[0] - left) / scale_x)) + 1)
        src_y0 = max(0, int(np.floor(-top / scale_y)))
        src_y1 = min(size[1], int(np.ceil((size[1] - top) / scale_y)) + 1)
        if src_x1 <= src_x0 or src_y1 <= src_y0:
            return out
        part = self.exact.subsurface(pygame.Rect(src_x0, src_y0, src_x1 - src_x0, src_y1 - src_y0))
        x0, y0 = round(left + src_x0 * scale_x), round(top + src_y0 * scale_y)
        x1, y1 = round(left + src_x1 * scale_x), round(top + src_y1 * scale_y)
        out.blit(pygame.transform.scale(part, (max(x1 - x0, 1), max(y1 - y0, 1))), (x0, y0))
        return out
