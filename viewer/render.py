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


def digit_surface(image: np.ndarray, size: tuple[int, int]) -> pygame.Surface:
    """(H, W) float in [0, 1] -> an upscaled surface with sharp pixels. NaN draws as a marked blank."""
    if not np.isfinite(image).all():
        blank = pygame.Surface(size).convert()
        blank.fill(INK[0])
        pygame.draw.line(blank, WARN, (0, 0), (size[0] - 1, size[1] - 1), 3)
        pygame.draw.line(blank, WARN, (0, size[1] - 1), (size[0] - 1, 0), 3)
        return blank
    pixels = (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    small = pygame.surfarray.make_surface(pixels.T)  # surfarray is (x, y); images are (row, column)
    small.set_palette(INK)
    return pygame.transform.scale(small, size)


def draw_cursor(screen: pygame.Surface, pos: tuple[int, int]) -> None:
    x, y = pos
    pygame.draw.line(screen, CURSOR, (x - 9, y), (x - 3, y))
    pygame.draw.line(screen, CURSOR, (x + 3, y), (x + 9, y))
    pygame.draw.line(screen, CURSOR, (x, y - 9), (x, y - 3))
    pygame.draw.line(screen, CURSOR, (x, y + 3), (x, y + 9))


def draw_hud(screen: pygame.Surface, layout: Layout, lines: list[tuple[str, tuple[int, int, int]]], font) -> None:
    y = layout.hud.top
    for text, color in lines:
        screen.blit(font.render(text, True, color), (layout.hud.left, y))
        y += font.get_linesize() + 2


def frame(screen, layout: Layout, background, digit, legend, cursor, hud_lines, font, title) -> None:
    """Compose one frame from cached surfaces; only the HUD text is rendered anew."""
    screen.blit(background, (0, 0))
    screen.blit(title, (layout.digit.left, layout.digit.top - 20))
    screen.blit(digit, layout.digit)
    pygame.draw.rect(screen, AXIS, layout.digit.inflate(2, 2), width=1)
    screen.blit(legend, layout.legend)
    if cursor is not None:
        draw_cursor(screen, cursor)
    draw_hud(screen, layout, hud_lines, font)
