"""The HUD: text lines under the strip (where z is, decode time and frame rate, the bundle, notices)."""

from __future__ import annotations

import time

import pygame

from latent_common.style import BACKGROUND
from viewer import words
from viewer.panels.base import Panel
from viewer.panels.paint import blank
from viewer.text import fit, wrap

WRAPPED = 3  # lines a HUD line may wrap onto before it is shortened


class HudPanel(Panel):
    name = "hud"

    def __init__(self, scene):
        super().__init__(scene)
        self.lines: dict[tuple, list[pygame.Surface]] = {}  # rendered, by (text, colour): most stay from frame to frame
        self.now: tuple = ()  # the lines the last key was made of
        self.canvas = blank(scene.layout.hud.size)  # drawn over in place: no surface made per frame

    def slot(self, state) -> pygame.Rect:
        return self.scene.layout.hud

    def key(self, state):
        self.now = tuple(
            words.hud_lines(
                state, self.scene.models, (self.scene.stats.last_decode_us, self.scene.fps), time.monotonic()
            )
        )
        return self.now

    def build(self, state) -> pygame.Surface:
        """Each line fitted to the panel's width: a notice wraps, the rest are shortened; lines past the panel's
        height are left off (notices come last)."""
        layout, font = self.scene.layout, self.scene.fonts["text"]
        surface = self.canvas
        surface.fill(BACKGROUND)
        step, y = font.get_linesize() + 2, 0
        if len(self.lines) > 64:
            self.lines.clear()
        for text, colour in self.now:
            if (text, colour) not in self.lines:
                wrapped = wrap(font, text, layout.hud.width)[:WRAPPED]
                self.lines[text, colour] = [fit(font, line, layout.hud.width, colour) for line in wrapped]
            for line in self.lines[text, colour]:
                if y + font.get_height() > layout.hud.height:
                    return surface
                surface.blit(line, (0, y))
                y += step
        return surface
