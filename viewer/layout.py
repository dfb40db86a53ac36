"""Where things go on screen, and the mapping between screen pixels and the plotted latent plane."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pygame

MARGIN = 16
TITLE = 26  # the title line above the plot
AXIS_LEFT = 66  # room for y tick labels and the rotated y axis label
AXIS_BOTTOM = 44  # room for x tick labels and the x axis label
FOOTER = 22  # the key strip along the bottom of the window
PANEL_WIDTH = 360  # the right panel at the default size: decoded image, neighbours, strip, HUD, legend
MIN_PANEL = 240  # the panel shrinks to this before the plot gives up more room
TILE = 220  # the decoded image (or the drawing canvas), at most
CAPTION = 20  # a caption line above a panel
STRIP_COUNT = 8  # decodes along the pinned segment
HUD_LINES = 6
HUD_LINE = 20
LEGEND_COLUMNS = 5
LEGEND_ROW = 24
LEGEND_CELL_MIN = 40  # a legend cell's least width: the dot, the class key and a letter or two of the name
MIN_WINDOW = (600, 460)  # below this the panel's text no longer fits
TRAVERSAL_STEPS = 9  # columns of the traversal grid: -2σ to +2σ in half-σ steps
TRAVERSAL_LABEL = 44  # the traversal grid's row-label column
TRAVERSAL_CELL = 64  # a traversal image's side, at most
TIMELINE_BAR = 40  # the timeline bar under the plot's axis labels, for a bundle with a timeline
TIMELINE_LINE = 14  # a second line of the bar's words, where the height the plot can't use leaves room
TRACK_INSET = 8  # pixels between the timeline bar's ends and its first and last snapshot


@dataclass(frozen=True)
class Layout:
    size: tuple[int, int]
    plot: pygame.Rect  # latent scatter area
    tile: pygame.Rect  # the decoded image, or the canvas in draw mode
    side: pygame.Rect  # the nearest test images, or the drawing's reconstruction
    strip: pygame.Rect  # decodes along the pinned segment, with the slider under them
    hud: pygame.Rect  # text lines
    legend: pygame.Rect  # under a heading line
    footer: pygame.Rect  # the key strip
    legend_columns: int = LEGEND_COLUMNS
    legend_row: int = LEGEND_ROW  # pixels a legend row takes: less with the small font
    timeline: pygame.Rect | None = None  # the timeline bar under the plot; None without a timeline

    def to_plane(self, pos: tuple[int, int], view: np.ndarray) -> np.ndarray:
        """Screen pixel -> plane (x, y); y grows upward as in a plot."""
        fx = (pos[0] - self.plot.left) / max(self.plot.width - 1, 1)
        fy = (self.plot.bottom - 1 - pos[1]) / max(self.plot.height - 1, 1)
        return view[:, 0] + np.array([fx, fy]) * (view[:, 1] - view[:, 0])

    def to_screen(self, points: np.ndarray, view: np.ndarray) -> np.ndarray:
        """Plane (N, 2) -> integer screen pixels (N, 2); points outside the view land outside the plot."""
        frac = (np.asarray(points, dtype=np.float64) - view[:, 0]) / (view[:, 1] - view[:, 0])
        x = self.plot.left + frac[:, 0] * (self.plot.width - 1)
        y = self.plot.bottom - 1 - frac[:, 1] * (self.plot.height - 1)
        return np.rint(np.clip(np.stack([x, y], axis=1), -1e6, 1e6)).astype(np.int64)

    def strip_cell(self, index: int) -> pygame.Rect:
        size = self.strip.width // STRIP_COUNT
        return pygame.Rect(self.strip.left + index * size + 1, self.strip.top, size - 2, size - 2)

    def strip_t(self, x: int) -> float:
        """Slider position (0 at A, 1 at B) for a pixel column over the strip."""
        return float(np.clip((x - self.strip.left) / max(self.strip.width - 1, 1), 0.0, 1.0))

    def timeline_track(self) -> tuple[int, int]:
        """The pixel columns of the timeline's first and last snapshot (window coordinates)."""
        return self.timeline.left + TRACK_INSET, self.timeline.right - TRACK_INSET

    def timeline_fraction(self, x: int) -> float:
        """Where a pixel column falls along the timeline, 0 (the first snapshot) to 1 (the last)."""
        left, right = self.timeline_track()
        return float(np.clip((x - left) / max(right - left, 1), 0.0, 1.0))

    def traversal_grid(self, rows: int) -> tuple[pygame.Rect, int]:
        """Where the traversal grid of `rows` rows covers the top of the plot, and the side of one image."""
        across = (self.plot.width - TRAVERSAL_LABEL - 8) // TRAVERSAL_STEPS
        cell = max(min(across, (self.plot.height - CAPTION - 8) // max(rows, 1), TRAVERSAL_CELL), 8)
        size = (TRAVERSAL_LABEL + TRAVERSAL_STEPS * cell + 8, CAPTION + rows * cell + 8)
        return pygame.Rect((self.plot.left + 1, self.plot.top + 1), size), cell

    @property
    def legend_capacity(self) -> int:
        """Legend cells that fit: with more classes than this, the last cell says how many are left out."""
        return self.legend_columns * max(self.legend.height // self.legend_row, 1)

    def legend_item(self, index: int) -> pygame.Rect:
        cell = self.legend.width // self.legend_columns
        return pygame.Rect(
            self.legend.left + (index % self.legend_columns) * cell,
            self.legend.top + (index // self.legend_columns) * self.legend_row,
            cell,
            self.legend_row,
        )

    def canvas_pixel(self, pos: tuple[int, int], image_shape: tuple[int, ...]) -> tuple[float, float]:
        """Screen pixel over the big tile -> (x, y) in image pixels; image_shape ends with (H, W)."""
        height, width = image_shape[-2:]
        return (
            (pos[0] - self.tile.left) / self.tile.width * width - 0.5,
            (pos[1] - self.tile.top) / self.tile.height * height - 0.5,
        )


def make_layout(
    size: tuple[int, int], legend_cell: int = 0, legend_row: int = LEGEND_ROW, classes: int = 0, timeline: bool = False
) -> Layout:
    """The window's rects; legend_cell is the width a legend entry needs (its widest class name), 0 for the
    default five columns; with `classes`, the legend takes more, narrower columns (names shortened) until every
    class has a cell. The plot is a square and wins space: the panel shrinks to MIN_PANEL, and its tile
    to what the height leaves, before the plot does. timeline: a bar under the plot's axis labels."""
    width, height = max(size[0], MIN_WINDOW[0]), max(size[1], MIN_WINDOW[1])
    bar = TIMELINE_BAR if timeline else 0
    wanted_plot = height - MARGIN - TITLE - AXIS_BOTTOM - FOOTER - bar
    panel_width = max(width - AXIS_LEFT - wanted_plot - 3 * MARGIN, MIN_PANEL)
    plot_size = max(min(width - AXIS_LEFT - panel_width - 3 * MARGIN, wanted_plot), 100)
    plot = pygame.Rect(AXIS_LEFT, MARGIN + TITLE, plot_size, plot_size)
    left = plot.right + MARGIN * 2
    panel_width = width - left - MARGIN
    strip_size = panel_width // STRIP_COUNT
    below_tile = CAPTION + strip_size + 12 + 10 + HUD_LINES * HUD_LINE + 6 + CAPTION + 2 * LEGEND_ROW
    tile = int(min(TILE, (panel_width - 12) * 0.62, height - 2 * MARGIN - FOOTER - CAPTION - below_tile))
    tile_rect = pygame.Rect(left, MARGIN + CAPTION, tile, tile)
    side = pygame.Rect(tile_rect.right + 12, tile_rect.top, panel_width - tile - 12, tile)
    strip = pygame.Rect(left, tile_rect.bottom + CAPTION + 10, strip_size * STRIP_COUNT, strip_size + 12)
    hud = pygame.Rect(left, strip.bottom + 10, panel_width, HUD_LINES * HUD_LINE)
    legend_top = hud.bottom + 6 + CAPTION
    legend = pygame.Rect(left, legend_top, panel_width, max(height - MARGIN - FOOTER - legend_top, LEGEND_ROW * 2))
    footer = pygame.Rect(MARGIN, height - FOOTER, width - 2 * MARGIN, FOOTER)
    columns = max(1, min(LEGEND_COLUMNS, panel_width // legend_cell)) if legend_cell else LEGEND_COLUMNS
    rows = max(legend.height // legend_row, 1)
    if columns * rows < classes:  # a small window: every class stays reachable, in narrower cells
        columns = max(columns, min(-(-classes // rows), panel_width // LEGEND_CELL_MIN))
    bar_rect = None
    if bar:  # a plot narrowed by the window's width leaves height below: the key hint gets a line of its own
        room = height - FOOTER - (plot.bottom + AXIS_BOTTOM) - 4
        bar_rect = pygame.Rect(MARGIN, plot.bottom + AXIS_BOTTOM, plot.right - MARGIN, bar - 4)
        bar_rect.height = min(max(bar_rect.height, room), bar_rect.height + TIMELINE_LINE)
    return Layout((width, height), plot, tile_rect, side, strip, hud, legend, footer, columns, legend_row, bar_rect)


def window_size(view_height: int = 640) -> tuple[int, int]:
    """The default window: a square plot filling the height beside a PANEL_WIDTH panel."""
    plot_size = view_height - MARGIN - TITLE - AXIS_BOTTOM - FOOTER
    return AXIS_LEFT + plot_size + 3 * MARGIN + PANEL_WIDTH, view_height
