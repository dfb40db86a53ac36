"""What the viewer is showing, and how input changes it. No drawing and no inference here."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pygame

from viewer.layout import Layout

QUIT_KEYS = (pygame.K_ESCAPE, pygame.K_q)
RESIZE_EVENTS = (pygame.VIDEORESIZE, pygame.WINDOWSIZECHANGED)
REDRAW_EVENTS = (pygame.WINDOWEXPOSED, pygame.WINDOWRESTORED, pygame.WINDOWSHOWN)


@dataclass
class ViewState:
    z: np.ndarray  # (1, D) float32: the latent point being decoded
    window_size: tuple[int, int]
    cursor: tuple[int, int] | None = None  # last mouse position inside the plot; None once it left
    z_changed: bool = True  # decode the first frame
    needs_redraw: bool = True
    full_redraw: bool = True  # the whole window, not just what the last frame changed
    running: bool = True


def initial_state(base: np.ndarray, window_size: tuple[int, int]) -> ViewState:
    """Start at `base` (the embedding's mean), so dimensions beyond the plotted two have a typical value."""
    return ViewState(z=np.asarray(base, dtype=np.float32).reshape(1, -1).copy(), window_size=window_size)


def handle(event: pygame.event.Event, state: ViewState, layout: Layout) -> ViewState:
    """Fold one event into the state. Any number of motion events in a frame fold into one latent point."""
    if event.type == pygame.QUIT or (event.type == pygame.KEYDOWN and event.key in QUIT_KEYS):
        state.running = False
    elif event.type == pygame.MOUSEMOTION:
        if not layout.plot.collidepoint(event.pos):
            if state.cursor is not None:  # keep the last digit, drop the crosshair
                state.cursor = None
                state.needs_redraw = True
        elif state.cursor != tuple(event.pos):
            state.cursor = tuple(event.pos)
            state.needs_redraw = True
            point = layout.to_latent(event.pos).astype(np.float32)
            if not np.array_equal(state.z[0, :2], point):
                state.z[0, :2] = point
                state.z_changed = True
    elif event.type == pygame.WINDOWLEAVE and state.cursor is not None:
        state.cursor = None
        state.needs_redraw = True
    elif event.type in RESIZE_EVENTS:
        size = (event.w, event.h) if event.type == pygame.VIDEORESIZE else (event.x, event.y)
        if size[0] > 0 and size[1] > 0 and size != state.window_size:
            state.window_size = size
            state.cursor = None
            state.needs_redraw = state.full_redraw = True
    elif event.type in REDRAW_EVENTS:
        state.needs_redraw = state.full_redraw = True
    return state
