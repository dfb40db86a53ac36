"""The help overlay (H): every control from the one table in controls.py, over the whole window."""

from __future__ import annotations

import pygame

from latent_common.style import DIM_TEXT, PIN, TEXT
from viewer import words
from viewer.controls import CONTROLS
from viewer.panels.base import Panel
from viewer.text import blit_text


class HelpPanel(Panel):
    name, layer = "help", "overlay"

    def slot(self, state) -> pygame.Rect | None:
        return pygame.Rect((0, 0), self.scene.layout.size) if state.show_help else None

    def key(self, state):
        return None  # drawn once per layout

    def build(self, state) -> pygame.Surface:
        size, fonts = self.scene.layout.size, self.scene.fonts
        overlay = pygame.Surface(size, pygame.SRCALPHA)
        overlay.fill((10, 11, 15, 242))  # dark enough that the rows read over any scatter
        left, y = (60 if size[0] >= 900 else 20), (56 if size[1] >= 560 else 46)
        blit_text(overlay, fonts["text"], words.HELP_TITLE, pygame.Rect(left, y - 32, size[0] - left - 12, 20), TEXT)
        step = min(26, max((size[1] - y - 30) // len(CONTROLS), 13))  # the closing line's 30 px kept below the rows
        font = fonts["text"] if step >= 18 else fonts["small"]  # a small window: every row fits
        column = left + min(max(font.size(control.label)[0] for control in CONTROLS) + 16, size[0] // 2 - left)
        for control in CONTROLS:
            blit_text(overlay, font, control.label, pygame.Rect(left, y, column - left - 6, step), PIN)
            blit_text(overlay, font, control.does, pygame.Rect(column, y, size[0] - column - 12, step), TEXT)
            y += step
        blit_text(overlay, fonts["small"], words.HELP_CLOSE, pygame.Rect(left, y + 8, size[0] - left - 12, 16),
                  DIM_TEXT)  # fmt: skip
        return overlay
