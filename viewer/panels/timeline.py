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
from viewer.layout import TIMELINE_BAR, TIMELINE_LINE
from viewer.panels.base import Panel
from viewer.panels.paint import blank
from viewer.text import blit_text

GAP = 12  # pixels between the bar's words and its key hint


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
        curve_top, curve_bottom = 2, (TIMELINE_BAR - 4) // 2 - 2
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
        text_box = pygame.Rect(left, curve_bottom + 6, right - left, TIMELINE_BAR - 4 - curve_bottom - 6)
        play = "pause" if state.timeline.playing else "play"
        font = self.scene.fonts["small"]
        two = rect.height >= TIMELINE_BAR - 4 + TIMELINE_LINE  # room for the key hint on a line of its own
        line, keys = words_that_fit(font, snapshots, position, play, text_box.width, two)
        where = blit_text(surface, font, line, text_box, TEXT)
        if two:
            keys_box = text_box.move(0, TIMELINE_LINE)
        else:
            keys_box = pygame.Rect(where.right + GAP, text_box.top, max(text_box.right - where.right - GAP, 1), 0)
            keys_box.height = text_box.height
        blit_text(surface, font, keys, keys_box, DIM_TEXT, align="left" if two else "right")
        return surface


def words_that_fit(font, snapshots: list[dict], position: float, play: str, width: int, two: bool = False):
    """The bar's words and key hint, each the longest that fits (on one line, beside the other, the words
    first): both whole, down to the smallest window; returns (words, hint)."""
    hints = [hint.format(play=play) for hint in words.TIMELINE_KEYS]
    lines = words.timeline_lines(snapshots, position)
    if two:
        fits = [next((text for text in texts if font.size(text)[0] <= width), texts[-1]) for texts in (lines, hints)]
        return fits[0], fits[1]
    for choice in (hints[:-1], hints):  # shorter words before the shortest hint, which drops "earlier / later"
        for line in lines:
            for hint in choice:
                if font.size(line)[0] + GAP + font.size(hint)[0] <= width:
                    return line, hint
    return lines[-1], hints[-1]  # narrower than any window allows: blit_text shortens the hint
