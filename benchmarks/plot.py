"""A histogram of frame times, drawn with pygame (already a dependency) rather than adding matplotlib."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def frame_time_histogram(series: dict[str, np.ndarray], path: Path, title: str) -> None:
    """One histogram row per series (label -> frame times in ms), log-scaled counts, p50 and p99 marked."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame

    from viewer.atomic import atomic_write
    from viewer.render import AXIS, BACKGROUND, CLASS_COLORS, DIM_TEXT, PANEL, TEXT, nice_ticks

    pygame.display.init()
    pygame.font.init()
    try:
        width, row_height, left, top = 860, 150, 70, 50
        surface = pygame.Surface((width, top + row_height * len(series) + 40))
        surface.fill(BACKGROUND)
        font, small = pygame.font.Font(None, 22), pygame.font.Font(None, 17)
        surface.blit(font.render(title, True, TEXT), (left, 16))
        high = max(float(np.percentile(values, 99.9)) for values in series.values()) * 1.1
        edges = np.linspace(0.0, high, 121)
        plot_width = width - left - 30
        for row, (label, values) in enumerate(series.items()):
            y0 = top + row * row_height
            area = pygame.Rect(left, y0 + 20, plot_width, row_height - 50)
            pygame.draw.rect(surface, PANEL, area)
            counts, _ = np.histogram(np.clip(values, 0, high), bins=edges)
            scale = np.log1p(counts) / max(np.log1p(counts.max()), 1e-9)
            bar = plot_width / len(counts)
            color = CLASS_COLORS[row % len(CLASS_COLORS)]
            for i, fraction in enumerate(scale):
                h = int(fraction * area.height)
                if h:
                    pygame.draw.rect(surface, color, (area.left + int(i * bar), area.bottom - h, max(int(bar), 1), h))
            p50, p99 = np.percentile(values, [50, 99])
            for value, name in ((p50, "p50"), (p99, "p99")):
                x = area.left + int(value / high * plot_width)
                pygame.draw.line(surface, TEXT, (x, area.top), (x, area.bottom))
                surface.blit(small.render(f"{name} {value:.2f} ms", True, TEXT), (x + 4, area.top + (2 if name == "p50" else 16)))
            surface.blit(font.render(f"{label}  ({len(values)} frames)", True, TEXT), (left, y0))
            for tick in nice_ticks(0.0, high):
                x = area.left + int(tick / high * plot_width)
                pygame.draw.line(surface, AXIS, (x, area.bottom), (x, area.bottom + 4))
                text = small.render(f"{tick:g}", True, DIM_TEXT)
                surface.blit(text, text.get_rect(midtop=(x, area.bottom + 6)))
        caption = small.render("frame time (ms); bar height: log(1 + frames)", True, DIM_TEXT)
        surface.blit(caption, (left, surface.get_height() - 22))
        atomic_write(path, lambda handle: pygame.image.save(surface, handle, "png"), suffix=".png")
    finally:
        pygame.quit()
