"""The captions over the big tile, the side panel and the strip, and the tile's frame: in the background."""

from __future__ import annotations

import pygame

from latent_common.style import AXIS, DIM_TEXT
from viewer import words
from viewer.layout import CAPTION
from viewer.panels.base import Panel
from viewer.panels.paint import blank
from viewer.text import blit_text


class CaptionsPanel(Panel):
    name, layer = "captions", "back"

    def slot(self, state) -> pygame.Rect:
        layout = self.scene.layout
        top = layout.tile.top - CAPTION
        return pygame.Rect(layout.tile.left - 2, top, layout.side.right - layout.tile.left + 2,
                           layout.strip.top - top)  # fmt: skip

    def key(self, state):
        tile, side, _ = words.panel_captions(state, self.scene.models.bundle)
        return tile, side, len(state.route.pins) == 2, state.view.projection == "map"

    def build(self, state) -> pygame.Surface:
        layout, fonts = self.scene.layout, self.scene.fonts
        slot = self.slot(state)
        surface = blank(slot.size)
        tile, side, pinned, on_map = self.key(state)

        def local(rect: pygame.Rect) -> pygame.Rect:
            return rect.move(-slot.left, -slot.top)

        image, side_rect, strip = local(layout.tile), local(layout.side), local(layout.strip)
        both = (fonts["text"], fonts["small"])  # the small font before a caption is shortened
        blit_text(surface, both, tile, pygame.Rect(image.left, 0, image.width + 6, CAPTION - 2), DIM_TEXT)
        blit_text(surface, both, side, pygame.Rect(side_rect.left, 0, side_rect.width, CAPTION - 2),
                  DIM_TEXT)  # fmt: skip
        strip_words = (words.STRIP_PINNED_MAP if on_map else words.STRIP_PINNED) if pinned else words.STRIP_EMPTY
        blit_text(surface, fonts["small"], strip_words, pygame.Rect(strip.left, strip.top - 18, layout.strip.width
                  + layout.side.right - layout.strip.right, 16), DIM_TEXT)  # fmt: skip
        pygame.draw.rect(surface, AXIS, image.inflate(2, 2), width=1)
        return surface
