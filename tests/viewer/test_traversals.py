"""Traversals: T shows a grid of decodes along each latent direction through the current point, over the plot,
and it follows the point."""

from __future__ import annotations

import numpy as np
import pygame

from tests.helpers import ROOT
from tests.viewer.harness import key, move, run_viewer
from viewer.layout import CAPTION, TRAVERSAL_LABEL, TRAVERSAL_STEPS, make_layout, window_size
from viewer.panels.paint import INK

LAYOUT = make_layout(window_size())
EIGHT_D = ROOT / "models" / "mnist-ae-8d"


def cells(shot: pygame.Surface, rows: int) -> np.ndarray:
    """The grid's images as (rows, columns, cell, cell, 3) from a screenshot."""
    rect, cell = LAYOUT.traversal_grid(rows)
    image = pygame.surfarray.array3d(shot).transpose(1, 0, 2).astype(int)  # (y, x, rgb)
    grid = np.empty((rows, TRAVERSAL_STEPS, cell - 2, cell - 2, 3), dtype=int)
    for row in range(rows):
        for column in range(TRAVERSAL_STEPS):
            top, left = rect.top + CAPTION + row * cell + 1, rect.left + TRAVERSAL_LABEL + column * cell + 1
            grid[row, column] = image[top : top + cell - 2, left : left + cell - 2]
    return grid


def is_decode(pixels: np.ndarray) -> bool:
    """Ink palette paper with bright strokes on it: a decoded digit, not the scatter."""
    paper = (np.abs(pixels - INK[0]).sum(axis=-1) < 8).mean()
    return paper > 0.3 and pixels.max() > 200


def script_at(spots):
    def script(frame, layout):
        if frame == 1:
            return [key(pygame.K_t, "t")]
        if 0 <= frame - 2 < len(spots):
            return [move(spots[frame - 2])]
        return []

    return script


def test_t_draws_a_row_per_latent_dimension_that_follows_the_point(tmp_path):
    low = (LAYOUT.plot.left + 120, LAYOUT.plot.bottom - 60)
    high = (LAYOUT.plot.right - 60, LAYOUT.plot.bottom - 200)
    _, here = run_viewer(tmp_path, script_at([low]), 5, "--mouse", "still")
    _, there = run_viewer(tmp_path, script_at([low, high]), 6, "--mouse", "still")
    first, second = cells(here, 2), cells(there, 2)
    assert all(is_decode(first[r, c]) for r in range(2) for c in range(TRAVERSAL_STEPS))
    assert np.abs(first - second).mean() > 5  # moved with the point
    # along a row the decodes change step by step: neighbours differ less than the two ends
    step = np.abs(np.diff(first[0], axis=0)).mean()
    assert step < np.abs(first[0, -1] - first[0, 0]).mean()


def test_an_8d_bundle_gets_eight_principal_component_rows_and_t_again_hides_them(tmp_path):
    _, shot = run_viewer(tmp_path, script_at([LAYOUT.plot.center]), 5, "--mouse", "still", bundle=EIGHT_D)
    grid = cells(shot, 8)
    assert all(is_decode(grid[r, TRAVERSAL_STEPS // 2]) for r in range(8))

    def twice(frame, layout):
        return [key(pygame.K_t, "t")] if frame in (1, 3) else []

    _, shot = run_viewer(tmp_path, twice, 6, "--mouse", "still", bundle=EIGHT_D)
    assert not any(is_decode(cell) for cell in cells(shot, 8)[:, TRAVERSAL_STEPS // 2])
