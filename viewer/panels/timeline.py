"""The timeline bar under the plot: which moment of training the plot shows, on a small curve of the test MSE.

Snapshots sit evenly along the bar (their steps grow about geometrically, so even spacing is about a log scale);
the curve rises and falls with each one's test MSE, a knob marks the position shown, and a line of words names
its step, epoch and test MSE. Drag the bar, or Up/Down and Space (controls.py).
"""

from __future__ import annotations

import numpy as np
import pygame

from latent_common.style import AXIS, CURSOR, DIM_TEXT, GRID, PIN, TEXT
from viewer import words
from viewer.panels.base import Panel
from viewer.panels.paint import blank
from viewer.text import blit_text


class TimelinePanel(Panel):
    name = "timeline"
    layer = "front"

    def slot(self, state) -> pygame.Rect | None:
        return self.scene.layout.timeline if state.timeline.count else None

    def key(self, state):
        return state.timeline.position, state.timeline.playing

    def build(self, state) -> pygame.Surface:
        layout = self.scene.layout
        rect = layout.timeline
        surface = blank(rect.size)
        snapshots = self.scene.models.timeline.timeline.info.snapshots
        count, position = len(snapshots), state.timeline.position
        left, right = (x - rect.left for x in layout.timeline_track())
        curve_top, curve_bottom = 2, rect.height // 2 - 2
        xs = np.linspace(left, right, count)
        mse = np.log([max(snap["test_mse"], 1e-12) for snap in snapshots])
        spread = max(float(np.ptp(mse)), 1e-12)
        ys = curve_bottom - (mse - mse.min()) / spread * (curve_bottom - curve_top)
        pygame.draw.line(surface, GRID, (left, curve_bottom + 2), (right, curve_bottom + 2))
        for x in xs:
            pygame.draw.line(surface, AXIS, (round(x), curve_bottom), (round(x), curve_bottom + 4))
        if count > 1:
            pygame.draw.lines(surface, DIM_TEXT, False, [(round(x), round(y)) for x, y in zip(xs, ys)])
        knob_x = round(left + position / max(count - 1, 1) * (right - left))
        knob_y = round(float(np.interp(position, np.arange(count), ys)))
        pygame.draw.line(
            surface, PIN if state.timeline.playing else CURSOR, (knob_x, curve_top), (knob_x, curve_bottom + 4)
        )
        pygame.draw.circle(surface, PIN if state.timeline.playing else CURSOR, (knob_x, knob_y), 4)
        text_box = pygame.Rect(left, curve_bottom + 6, right - left, rect.height - curve_bottom - 6)
        fonts = self.scene.fonts
        keys = words.TIMELINE_KEYS.format(play="pause" if state.timeline.playing else "play")
        where = blit_text(surface, fonts["small"], words.timeline_line(snapshots, position), text_box, TEXT)
        keys_box = pygame.Rect(
            where.right + 12, text_box.top, max(text_box.right - where.right - 12, 0), text_box.height
        )
        if keys_box.width > 60:
            blit_text(surface, fonts["small"], keys, keys_box, DIM_TEXT, align="right")
        return surface
