"""Where things go on screen, and the mapping between screen pixels and the latent plane."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pygame

MARGIN = 16
AXIS_LEFT = 52  # room for y tick labels
AXIS_BOTTOM = 36  # room for x tick labels
PANEL_WIDTH = 360  # the right panel: decoded digit, HUD, legend


@dataclass(frozen=True)
class Layout:
    size: tuple[int, int]
    plot: pygame.Rect  # latent scatter area
    digit: pygame.Rect  # decoded digit
    hud: pygame.Rect  # text lines
    legend: pygame.Rect
    view: np.ndarray  # (2, 2): [[x_low, x_high], [y_low, y_high]] in latent units

    def to_latent(self, pos: tuple[int, int]) -> np.ndarray:
        """Screen pixel -> latent (x, y); y grows upward as in a plot."""
        fx = (pos[0] - self.plot.left) / max(self.plot.width - 1, 1)
        fy = (self.plot.bottom - 1 - pos[1]) / max(self.plot.height - 1, 1)
        low, high = self.view[:, 0], self.view[:, 1]
        return low + np.array([fx, fy]) * (high - low)

    def to_screen(self, points: np.ndarray) -> np.ndarray:
        """Latent (N, 2) -> integer screen pixels (N, 2)."""
        low, high = self.view[:, 0], self.view[:, 1]
        frac = (np.asarray(points, dtype=np.float64) - low) / (high - low)
        x = self.plot.left + frac[:, 0] * (self.plot.width - 1)
        y = self.plot.bottom - 1 - frac[:, 1] * (self.plot.height - 1)
        return np.rint(np.stack([x, y], axis=1)).astype(np.int32)


def make_layout(size: tuple[int, int], view: np.ndarray) -> Layout:
    width, height = size
    plot_size = max(min(width - PANEL_WIDTH - AXIS_LEFT - MARGIN, height - AXIS_BOTTOM - MARGIN), 100)
    plot = pygame.Rect(AXIS_LEFT, MARGIN, plot_size, plot_size)
    panel_left = plot.right + MARGIN * 2
    panel_width = max(width - panel_left - MARGIN, 100)
    digit_size = min(panel_width, 308)
    digit = pygame.Rect(panel_left + (panel_width - digit_size) // 2, MARGIN + 22, digit_size, digit_size)
    hud = pygame.Rect(panel_left, digit.bottom + 14, panel_width, 112)
    legend = pygame.Rect(panel_left, hud.bottom + 8, panel_width, 56)
    return Layout(size=size, plot=plot, digit=digit, hud=hud, legend=legend, view=np.asarray(view, dtype=np.float64))


def window_size(view_height: int = 640) -> tuple[int, int]:
    """The default window: a square plot `view_height` tall beside the panel."""
    plot_size = view_height - AXIS_BOTTOM - MARGIN
    return AXIS_LEFT + plot_size + MARGIN * 2 + PANEL_WIDTH, view_height


MIN_WINDOW = (560, 420)  # below this the panel's text no longer fits
