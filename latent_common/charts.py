"""Charts as PNG, drawn with pygame (already a dependency) rather than adding matplotlib:
the benchmark's frame-time histogram and a training run's learning curve."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from latent_common.atomic import save_png
from latent_common.style import AXIS, BACKGROUND, CLASS_COLORS, DIM_TEXT, PANEL, TEXT, nice_ticks


@contextmanager
def _pygame():
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame

    pygame.font.init()
    try:
        yield pygame
    finally:
        pygame.font.quit()


def curve_png(history: list[dict], path: Path, title: str) -> None:
    """Training loss and test MSE per epoch (left axis), and latent k-NN accuracy if recorded (right axis)."""
    with _pygame() as pygame:
        width, height, left, right, top, bottom = 760, 400, 70, 70, 50, 50
        surface = pygame.Surface((width, height))
        surface.fill(BACKGROUND)
        font, small = pygame.font.Font(None, 22), pygame.font.Font(None, 17)
        area = pygame.Rect(left, top, width - left - right, height - top - bottom)
        pygame.draw.rect(surface, PANEL, area)
        epochs = [row["epoch"] for row in history]
        losses = [v for row in history for v in (row["train_loss"], row["test_mse"])]
        low, high = min(losses) * 0.95, max(losses) * 1.05
        span_x = max(epochs[-1] - epochs[0], 1)

        def point(epoch, value, lo, hi):
            return (
                area.left + (epoch - epochs[0]) / span_x * (area.width - 1),
                area.bottom - 1 - (value - lo) / (hi - lo) * (area.height - 1),
            )

        for tick in nice_ticks(low, high):
            y = point(epochs[0], tick, low, high)[1]
            pygame.draw.line(surface, AXIS, (area.left - 5, y), (area.left, y))
            label = small.render(f"{tick:.3g}", True, DIM_TEXT)
            surface.blit(label, label.get_rect(midright=(area.left - 8, y)))
        for tick in nice_ticks(epochs[0], epochs[-1]) if span_x > 1 else epochs:
            x = point(tick, low, low, high)[0]
            label = small.render(f"{tick:g}", True, DIM_TEXT)
            surface.blit(label, label.get_rect(midtop=(x, area.bottom + 6)))
        series = [
            ("train loss", "train_loss", CLASS_COLORS[0], low, high),
            ("test MSE", "test_mse", CLASS_COLORS[1], low, high),
        ]
        if all("knn_accuracy" in row for row in history):
            series.append(("k-NN accuracy (right axis, 0-1)", "knn_accuracy", CLASS_COLORS[2], 0.0, 1.0))
            for tick in (0.0, 0.5, 1.0):
                y = point(epochs[0], tick, 0.0, 1.0)[1]
                surface.blit(small.render(f"{tick:g}", True, DIM_TEXT), (area.right + 8, y - 6))
        for index, (name, key, color, lo, hi) in enumerate(series):
            points = [point(row["epoch"], row[key], lo, hi) for row in history]
            if len(points) > 1:
                pygame.draw.lines(surface, color, False, points, 2)
            for p in points:
                pygame.draw.circle(surface, color, (int(p[0]), int(p[1])), 3)
            surface.blit(small.render(name, True, color), (area.left + 10 + index * 200, area.top + 8))
        pygame.draw.rect(surface, AXIS, area, width=1)
        surface.blit(font.render(title, True, TEXT), (left, 16))
        surface.blit(small.render("epoch", True, DIM_TEXT), (area.centerx - 15, height - 22))
        save_png(surface, path)


def frame_time_histogram(series: dict[str, np.ndarray], path: Path, title: str) -> None:
    """One histogram row per series (label -> frame times in ms), log-scaled counts, p50 and p99 marked."""
    with _pygame() as pygame:
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
                surface.blit(
                    small.render(f"{name} {value:.2f} ms", True, TEXT), (x + 4, area.top + (2 if name == "p50" else 16))
                )
            surface.blit(font.render(f"{label}  ({len(values)} frames)", True, TEXT), (left, y0))
            for tick in nice_ticks(0.0, high):
                x = area.left + int(tick / high * plot_width)
                pygame.draw.line(surface, AXIS, (x, area.bottom), (x, area.bottom + 4))
                text = small.render(f"{tick:g}", True, DIM_TEXT)
                surface.blit(text, text.get_rect(midtop=(x, area.bottom + 6)))
        caption = small.render("frame time (ms); bar height: log(1 + frames)", True, DIM_TEXT)
        surface.blit(caption, (left, surface.get_height() - 22))
        save_png(surface, path)
