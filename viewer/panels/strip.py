"""The strip: decodes along A -> B in one batched call, the slider's position marked under them."""

from __future__ import annotations

import numpy as np
import pygame

from latent_common.style import AXIS, PANEL, PIN
from viewer.explore import segment
from viewer.layout import STRIP_COUNT
from viewer.panels.base import Panel
from viewer.panels.paint import blank, image_or_cross


class StripPanel(Panel):
    name = "strip"

    def __init__(self, scene):
        super().__init__(scene)
        self.images: np.ndarray | None = None  # (STRIP_COUNT, C, H, W) decodes along A -> B
        self.pins_key: tuple | None = None  # the pins they were decoded for

    def slot(self, state) -> pygame.Rect:
        return self.scene.layout.strip

    def key(self, state):
        return tuple(p.tobytes() for p in state.route.pins), state.route.t, state.focus.value == "slider"

    def build(self, state) -> pygame.Surface:
        layout, pins = self.scene.layout, state.route.pins
        if len(pins) != 2:
            self.images, self.pins_key = None, None
        elif self.pins_key != tuple(p.tobytes() for p in pins):  # the slider moved alone: no decode
            self.images = self.scene.decode(segment(pins[0], pins[1], STRIP_COUNT))
            self.pins_key = tuple(p.tobytes() for p in pins)
        surface = blank(layout.strip.size)
        cells = [layout.strip_cell(i).move(-layout.strip.left, -layout.strip.top) for i in range(STRIP_COUNT)]
        if self.images is None:
            for cell in cells:
                pygame.draw.rect(surface, PANEL, cell)
            return surface
        for cell, image in zip(cells, self.images):
            surface.blit(image_or_cross(image, cell.size), cell)
        y = layout.strip.height - 6
        pygame.draw.line(surface, AXIS, (0, y), (layout.strip.width - 1, y), 2)
        x = int(state.route.t * (layout.strip.width - 1))
        pygame.draw.circle(surface, PIN if state.focus.value == "slider" else AXIS, (x, y), 5)
        return surface
