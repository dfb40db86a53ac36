"""The look shared by the viewer and the PNG charts: one palette and one rule for axis ticks."""

from __future__ import annotations

import colorsys
import math

BACKGROUND = (24, 26, 33)
PANEL = (32, 35, 44)
AXIS = (120, 126, 140)
GRID = (40, 43, 53)
TEXT = (220, 223, 230)
DIM_TEXT = (150, 155, 168)
WARN = (255, 170, 60)
CURSOR = (255, 255, 255)
PIN = (255, 214, 10)
DRAWN = (0, 255, 170)
WALK = (110, 190, 255)  # the walk's path: apart from the pins' yellow and the drawing's green
# Tableau's 10 categorical colours: distinct for the ten digits, and kind to colour-blind eyes.
CLASS_COLORS = [
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
]  # fmt: skip


def class_color(index: int) -> tuple[int, int, int]:
    """Tableau's ten first; past them, hues a golden angle apart at three lightnesses, so any class count up to
    the bundle's limit gets colours that differ from their neighbours in the list."""
    if index < len(CLASS_COLORS):
        return CLASS_COLORS[index]
    hue = (index * 0.381966) % 1.0
    value = (0.95, 0.75, 0.55)[index % 3]
    return tuple(int(round(255 * c)) for c in colorsys.hsv_to_rgb(hue, 0.65, value))


def nice_ticks(low: float, high: float, target: int = 6) -> list[float]:
    """Round tick positions (1, 2 or 5 times a power of ten) covering [low, high]."""
    raw = (high - low) / max(target, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step) * step
    return [round(first + i * step, 12) for i in range(int((high - first) / step + 1e-9) + 1)]
