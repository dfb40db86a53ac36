"""What the viewer is showing, and how input changes it. No drawing and no inference here."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pygame

from viewer.layout import Layout

QUIT_KEYS = (pygame.K_ESCAPE, pygame.K_q)


@dataclass
class ViewState:
    z: np.ndarray  # (1, D) float32: the latent point being decoded
    cursor: tuple[int, int] | None = None  # last mouse position inside the plot
    z_changed: bool = True  # decode the first frame
    running: bool = True


def initial_state(base: np.ndarray) -> ViewState:
    """Start at `base` (the embedding's mean), so dimensions beyond the plotted two have a typical value."""
    return ViewState(z=np.asarray(base, dtype=np.float32).reshape(1, -1).copy())


def handle(event: pygame.event.Event, state: ViewState, layout: Layout) -> ViewState:
    """Fold one event into the state. Many motion events in a frame fold into one latent point."""
    if event.type == pygame.QUIT or (event.type == pygame.KEYDOWN and event.key in QUIT_KEYS):
        state.running = False
    elif event.type == pygame.MOUSEMOTION and layout.plot.collidepoint(event.pos):
        point = layout.to_latent(event.pos).astype(np.float32)
        if state.cursor != tuple(event.pos):
            state.cursor = tuple(event.pos)
            if not np.array_equal(state.z[0, :2], point):
                state.z[0, :2] = point
                state.z_changed = True
    return state
