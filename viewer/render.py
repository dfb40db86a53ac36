"""Drawing: the scatter (rendered once to a cached surface), the decoded digit, and the HUD.

This is the only module that turns numpy arrays into pygame surfaces.
"""

from __future__ import annotations

import math

import numpy as np
import pygame

from viewer.layout import Layout

BACKGROUND = (24, 26, 33)
PANEL = (32, 35, 44)
AXIS = (120, 126, 140)
GRID = (40, 43, 53)
TEXT = (220, 223, 230)
DIM_TEXT = (150, 155, 168)
WARN = (255, 170, 60)
CURSOR = (255, 255, 255)
# Tableau's 10 categorical colours: distinct for the ten digits, and kind to colour-blind eyes.
CLASS_COLORS = [
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
]  # fmt: skip
# Ink palette for the 8-bit digit surface: dark blue-black paper to warm white ink.
INK = [(int(18 + 237 * t), int(20 + 230 * t), int(28 + 212 * t**1.2)) for t in np.linspace(0, 1, 256)]


def class_color(index: int) -> tuple[int, int, int]:
    return CLASS_COLORS[index % len(CLASS_COLORS)]


def nice_ticks(low: float, high: float, target: int = 6) -> list[float]:
    """Round tick positions (1, 2 or 5 times a power of ten) covering [low, high]."""
    raw = (high - low) / max(target, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step) + 1)]


def _dot_sprites(radius: int = 2, alpha: int = 170) -> list[pygame.Surface]:
    sprites = []
    for color in CLASS_COLORS:
        sprite = pygame.Surface((2 * radius + 1, 2 * radius + 1), pygame.SRCALPHA)
        pygame.draw.circle(sprite, (*color, alpha), (radius, radius), radius)
        sprites.append(sprite)
    return sprites


def scatter_surface(layout: Layout, z2: np.ndarray, labels: np.ndarray, font: pygame.font.Font) -> pygame.Surface:
    """The static background: panel, axes with latent-unit ticks, and one dot per embedded digit."""
    surface = pygame.Surface(layout.size).convert()
    surface.fill(BACKGROUND)
    plot = layout.plot
    pygame.draw.rect(surface, PANEL, plot)
    (x_low, x_high), (y_low, y_high) = layout.view
    for value in nice_ticks(x_low, x_high):
        x = int(layout.to_screen(np.array([[value, y_low]]))[0, 0])
        pygame.draw.line(surface, GRID, (x, plot.top), (x, plot.bottom - 1))
        pygame.draw.line(surface, AXIS, (x, plot.bottom), (x, plot.bottom + 4))
        label = font.render(f"{value:g}", True, DIM_TEXT)
        surface.blit(label, label.get_rect(midtop=(x, plot.bottom + 6)))
    for value in nice_ticks(y_low, y_high):
        y = int(layout.to_screen(np.array([[x_low, value]]))[0, 1])
        pygame.draw.line(surface, GRID, (plot.left, y), (plot.right - 1, y))
        pygame.draw.line(surface, AXIS, (plot.left - 5, y), (plot.left - 1, y))
        label = font.render(f"{value:g}", True, DIM_TEXT)
        surface.blit(label, label.get_rect(midright=(plot.left - 8, y)))
    pygame.draw.rect(surface, AXIS, plot, width=1)
    sprites = _dot_sprites()
    offset = sprites[0].get_width() // 2
    points = layout.to_screen(z2) - offset
    inside = layout.plot.inflate(offset * 2, offset * 2)
    surface.set_clip(plot)
    surface.blits(
        [(sprites[label], (int(x), int(y))) for (x, y), label in zip(points, labels) if inside.collidepoint(x, y)],
        doreturn=False,
    )
    surface.set_clip(None)
    return surface


def legend_surface(layout: Layout, class_names: list[str], font: pygame.font.Font) -> pygame.Surface:
    surface = pygame.Surface(layout.legend.size).convert()
    surface.fill(BACKGROUND)
    columns = min(len(class_names), 5)
    cell = layout.legend.width // columns
    for index, name in enumerate(class_names):
        x, y = (index % columns) * cell, (index // columns) * 24
        pygame.draw.circle(surface, class_color(index), (x + 8, y + 10), 6)
        surface.blit(font.render(name, True, TEXT), (x + 20, y + 2))
    return surface


class DigitTile:
    """An upscaled digit drawn into surfaces made once: no allocation per frame on the hover path."""

    def __init__(self, image_shape: tuple[int, int], size: tuple[int, int]):
        self.size = size
        self.small = pygame.Surface(image_shape[::-1], depth=8)  # surfaces are (width, height)
        self.small.set_palette(INK)
        self.surface = pygame.Surface(size, depth=8)
        self.surface.set_palette(INK)

    def update(self, image: np.ndarray) -> pygame.Surface:
        """(H, W) float in [0, 1] -> the tile, pixels kept sharp. NaN draws as a marked blank."""
        if not np.isfinite(image).all():
            return nan_tile(self.size)
        pixels = (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        pygame.surfarray.blit_array(self.small, pixels.T)  # surfarray is (x, y); images are (row, column)
        return pygame.transform.scale(self.small, self.size, self.surface)


def nan_tile(size: tuple[int, int]) -> pygame.Surface:
    blank = pygame.Surface(size)
    blank.fill(INK[0])
    pygame.draw.line(blank, WARN, (0, 0), (size[0] - 1, size[1] - 1), 3)
    pygame.draw.line(blank, WARN, (0, size[1] - 1), (size[0] - 1, 0), 3)
    return blank


def digit_surface(image: np.ndarray, size: tuple[int, int]) -> pygame.Surface:
    """A one-off tile (thumbnails, exports); the hover path reuses a DigitTile."""
    return DigitTile(image.shape, size).update(image)


def cursor_rect(pos: tuple[int, int]) -> pygame.Rect:
    return pygame.Rect(pos[0] - 9, pos[1] - 9, 19, 19)


def draw_cursor(screen: pygame.Surface, pos: tuple[int, int]) -> pygame.Rect:
    x, y = pos
    pygame.draw.line(screen, CURSOR, (x - 9, y), (x - 3, y))
    pygame.draw.line(screen, CURSOR, (x + 3, y), (x + 9, y))
    pygame.draw.line(screen, CURSOR, (x, y - 9), (x, y - 3))
    pygame.draw.line(screen, CURSOR, (x, y + 3), (x, y + 9))
    return cursor_rect(pos)


class TextCache:
    """Rendered text lines, kept while they don't change (most HUD lines change twice a second at most)."""

    def __init__(self, font: pygame.font.Font, limit: int = 64):
        self.font, self.limit, self.surfaces = font, limit, {}

    def render(self, text: str, color) -> pygame.Surface:
        key = (text, color)
        surface = self.surfaces.get(key)
        if surface is None:
            if len(self.surfaces) >= self.limit:
                self.surfaces.clear()
            surface = self.surfaces[key] = self.font.render(text, True, color)
        return surface


def static_panel(background: pygame.Surface, layout: Layout, legend: pygame.Surface, title: pygame.Surface) -> None:
    """Bake the parts of the panel that never change into the cached background."""
    background.blit(title, (layout.digit.left, layout.digit.top - 20))
    pygame.draw.rect(background, AXIS, layout.digit.inflate(2, 2), width=1)
    background.blit(legend, layout.legend)


def frame(screen, layout: Layout, background, digit, cursor, hud_lines, text: TextCache, last_cursor, full: bool) -> list:
    """Draw what changed since the last frame over the cached background; returns the rects to update.

    A full frame blits the whole background (start, resize, expose); a hover frame restores only the old
    crosshair and the HUD, which is a fraction of the pixels.
    """
    if full:
        screen.blit(background, (0, 0))
        dirty = [screen.get_rect()]
    else:
        dirty = [layout.hud] + ([last_cursor] if last_cursor is not None else [])
        for rect in dirty:
            screen.blit(background, rect, rect)
    screen.blit(digit, layout.digit)
    dirty.append(layout.digit)
    y = layout.hud.top
    for line, color in hud_lines:
        screen.blit(text.render(line, color), (layout.hud.left, y), area=pygame.Rect(0, 0, layout.hud.width, layout.hud.height))
        y += text.font.get_linesize() + 2
    if cursor is not None:
        screen.set_clip(layout.plot)
        dirty.append(draw_cursor(screen, cursor))
        screen.set_clip(None)
    return dirty
