"""The manifold map (G): an n-by-n tiling of the view with decodes, built a slice a frame.

A small decoder fills the whole map in one frame; a slow one (tens of ms a call) would freeze input for
seconds if the map were one batch, so each frame decodes only as many tiles as fit in its time budget.
"""

from __future__ import annotations

import time

import numpy as np

SLICE_BUDGET_S = 0.008  # decode time a frame may spend on the map: half a 60 fps frame


class MapJob:
    """Decodes for one view and offset, accumulated across frames until every tile is done."""

    def __init__(self, latents: np.ndarray, view: np.ndarray, offsets: np.ndarray):
        self.latents = latents  # (n * n, D) tile centres, rows from the top
        self.view, self.offsets = view.copy(), offsets.copy()  # what they show
        self.key = view_key(view, offsets)
        self.parts: list[np.ndarray] = []
        self.done_count = 0
        self.per_tile_s: float | None = None  # measured on the first slice

    @property
    def done(self) -> bool:
        return self.done_count == len(self.latents)

    def advance(self, decoder, budget_s: float = SLICE_BUDGET_S) -> None:
        """Decode the next slice: one tile first, to measure the speed, then as many as it fits in budget_s (a
        first slice of a whole row froze input for seconds with a decoder of tens of ms a tile)."""
        n_left = len(self.latents) - self.done_count
        if self.per_tile_s is None:
            count = 1
        else:
            count = int(budget_s / max(self.per_tile_s, 1e-9))
        count = max(1, min(count, n_left))
        started = time.perf_counter()
        self.parts.append(decoder(self.latents[self.done_count : self.done_count + count]))
        self.per_tile_s = (time.perf_counter() - started) / count
        self.done_count += count

    def images(self) -> np.ndarray:
        """(n * n, C, H, W), once done."""
        return np.concatenate(self.parts)


def view_key(view: np.ndarray, offsets: np.ndarray) -> tuple:
    """What a map shows: the view and the offsets along further components."""
    return tuple(np.round(view, 12).ravel()) + tuple(np.round(offsets, 12))


def pan_shift(old_view: np.ndarray, view: np.ndarray, plot_size: tuple[int, int]) -> tuple[int, int] | None:
    """Pixels to move a map drawn for old_view so it sits right under view, when the two differ only by a pan
    (same spans); None after a zoom, where an old map would mislead."""
    old_span, span = np.ptp(old_view, axis=1), np.ptp(view, axis=1)
    if not np.allclose(old_span, span, rtol=1e-9):
        return None
    dx = (old_view[0, 0] - view[0, 0]) / span[0] * (plot_size[0] - 1)
    dy = (view[1, 1] - old_view[1, 1]) / span[1] * (plot_size[1] - 1)
    return int(round(dx)), int(round(dy))
