"""The anomaly view's numbers: each test image's reconstruction error, binned onto a colour scale, the worst
ones, and where a new image stands among them. numpy only; the errors come from viewer.walk."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from viewer.walk import percentile_of, reconstruction_errors, worst

BINS = 16  # colours on the scale: enough to read a gradient, few enough to draw a dot sprite per colour
WORST_SHOWN = 4
# Dark violet -> red -> yellow (the look of matplotlib's "inferno"): low error recedes, high error glows.
ANCHORS = np.array([(40, 20, 90), (120, 30, 120), (200, 50, 70), (245, 130, 30), (250, 230, 90)], dtype=np.float64)


@dataclass(frozen=True)
class ErrorScale:
    """Per-image errors on a log colour scale from their 1st to 99.9th percentile (outliers take the end colours)."""

    errors: np.ndarray  # (M,) float32 per-image MSE
    edges: np.ndarray  # (BINS + 1,) bin edges in error units
    bins: np.ndarray  # (M,) uint8 colour index per image

    @property
    def colors(self) -> list[tuple[int, int, int]]:
        return palette(BINS)

    def share_below(self, error: float) -> float:
        """The share of test images that reconstruct better than `error`: 0.97 is 'more unusual than 97%'."""
        return percentile_of(error, self.errors)

    def worst(self, visible: np.ndarray | None, count: int = WORST_SHOWN) -> np.ndarray:
        errors = self.errors if visible is None else np.where(visible, self.errors, -np.inf)
        return worst(errors, count)


def palette(count: int) -> list[tuple[int, int, int]]:
    """count colours along ANCHORS, evenly."""
    at = np.linspace(0, len(ANCHORS) - 1, count)
    low = np.minimum(at.astype(int), len(ANCHORS) - 2)
    frac = (at - low)[:, None]
    colours = ANCHORS[low] * (1 - frac) + ANCHORS[low + 1] * frac
    return [tuple(int(round(c)) for c in row) for row in colours]


def error_scale(errors: np.ndarray) -> ErrorScale:
    positive = np.maximum(errors.astype(np.float64), 1e-12)
    low, high = np.percentile(positive, [1, 99.9])
    high = max(high, low * 1.0001)
    edges = np.geomspace(low, high, BINS + 1)
    bins = np.clip(np.searchsorted(edges, positive, side="right") - 1, 0, BINS - 1).astype(np.uint8)
    return ErrorScale(errors.astype(np.float32), edges, bins)


def scale_for(decoder, encoder, images_chw: np.ndarray) -> ErrorScale:
    """Compute every test image's error (once per bundle: about 0.2 s for 10,000 MNIST digits)."""
    return error_scale(reconstruction_errors(decoder, encoder, images_chw))
