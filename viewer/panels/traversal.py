"""The traversal grid (T): decodes from -2σ to +2σ along each direction through the point, over the plot."""

from __future__ import annotations

import numpy as np
import pygame

from latent_common.style import AXIS, DIM_TEXT, TEXT
from viewer import words
from viewer.layout import CAPTION, TRAVERSAL_LABEL, TRAVERSAL_STEPS
from viewer.panels.base import Panel
from viewer.panels.paint import blank, image_or_cross
from viewer.text import blit_text
from viewer.walk import REACH, Directions, traversal, traversal_directions

TRAVERSAL_ROWS = 8  # directions in the grid at most: PC1..PC8 of a larger latent


class TraversalPanel(Panel):
    name = "traversal"

    def __init__(self, scene):
        super().__init__(scene)
        self.directions: Directions | None = None  # the grid's rows, found once

    def rows(self) -> int:
        if self.directions is None:
            self.directions = traversal_directions(self.scene.models.bundle.z, self.scene.models.pca)
        return min(len(self.directions.names), TRAVERSAL_ROWS)

    def slot(self, state) -> pygame.Rect | None:
        return self.scene.layout.traversal_grid(self.rows())[0] if state.show_traversal else None

    def key(self, state):
        return state.z.tobytes()

    def build(self, state) -> pygame.Surface:
        """Every row and column in one batched decode."""
        rows, steps = self.rows(), TRAVERSAL_STEPS
        latents = traversal(state.z[0], self.directions.vectors[:rows], self.directions.spread[:rows], steps)
        images = self.scene.decode(latents)  # (rows * steps, C, H, W)
        columns = [words.sigma_label(v) for v in np.linspace(-REACH, REACH, steps)]
        rect, cell = self.scene.layout.traversal_grid(rows)
        return grid_surface(images, self.directions.names[:rows], columns, rect.size, cell, self.scene.fonts)


def grid_surface(images: np.ndarray, row_names: list[str], column_names: list[str], size: tuple[int, int],
                 cell: int, fonts) -> pygame.Surface:  # fmt: skip
    """(R * S, C, H, W) decodes, row by row, with the rows' direction names on the left and the columns'
    offsets along the top. Opaque, so blitting it each frame stays cheap."""
    columns = len(column_names)
    surface = blank(size)
    pygame.draw.rect(surface, AXIS, surface.get_rect(), width=1)
    every = 1 if cell >= 36 else 2  # narrow cells: every other label, so they don't run together
    for column, name in enumerate(column_names):
        if column % every == 0:
            box = pygame.Rect(TRAVERSAL_LABEL + column * cell + cell // 2 - cell * every // 2, 3, cell * every,
                              CAPTION - 3)  # fmt: skip
            blit_text(surface, fonts["small"], name, box, DIM_TEXT, align="center")
    for row, name in enumerate(row_names):
        top = CAPTION + row * cell
        blit_text(surface, fonts["text"], name, pygame.Rect(6, top, TRAVERSAL_LABEL - 8, cell), TEXT)
        for column in range(columns):
            tile = image_or_cross(images[row * columns + column], (cell - 2, cell - 2))
            surface.blit(tile, (TRAVERSAL_LABEL + column * cell + 1, top + 1))
    return surface
