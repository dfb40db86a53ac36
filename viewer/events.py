"""Input: fold one pygame event into the view state. No drawing and no inference here.

`handle` sets flags through viewer/state.py; the frame loop then acts on them once, so any number of
events in a frame costs at most one decode and one re-render of each cached surface.
"""

from __future__ import annotations

import numpy as np
import pygame

from viewer.controls import control_for
from viewer.explore import Plane, stroke
from viewer.layout import Layout
from viewer.state import (
    Focus,
    ViewState,
    add_pin,
    add_waypoint,
    choose_class,
    drop_file,
    hover,
    jump_to,
    leave_plot,
    pan_view,
    refresh_latent,
    resize,
    slide,
    zoom_view,
)

RESIZE_EVENTS = (pygame.VIDEORESIZE, pygame.WINDOWSIZECHANGED)
REDRAW_EVENTS = (pygame.WINDOWEXPOSED, pygame.WINDOWRESTORED, pygame.WINDOWSHOWN)
ZOOM_STEP = 0.8  # one wheel notch shows 80% of the width: fine enough to aim, quick to go deep
DRAG_THRESHOLD = 3  # pixels a press must move before it is a pan rather than a click (a pin)


def typed(event) -> str:
    """The character a key press typed, as if Caps Lock were off: Shift+W exports the walk, Caps Lock + W plays it."""
    char = getattr(event, "unicode", "")
    if getattr(event, "mod", 0) & pygame.KMOD_CAPS and char.isalpha():
        char = char.swapcase()
    return char


def _on_key(event, state: ViewState) -> None:
    control = control_for(event.key, typed(event))
    if control is not None and control.action is not None:
        control.action(state, event.key)
    state.needs_redraw = True


def _on_press(pos, state: ViewState, layout: Layout) -> None:
    if layout.plot.collidepoint(pos):
        state.press, state.press_view, state.panning = tuple(pos), state.view.copy(), False
    elif state.focus == Focus.DRAW and layout.digit.collidepoint(pos):
        state.drawing = layout.canvas_pixel(pos, state.canvas.shape)
        state.canvas = stroke(state.canvas, state.drawing, state.drawing)
        state.canvas_changed = True
    elif len(state.pins) == 2 and layout.strip.collidepoint(pos):
        slide(state, layout.strip_t(pos[0]))
    elif state.color_by_error and state.worst and layout.side.collidepoint(pos):
        jump_to(state, (pos[1] - layout.side.top) // max(layout.side.height // len(state.worst), 1))
    else:
        for index in range(min(state.class_count, layout.legend_capacity)):
            if layout.legend_item(index).collidepoint(pos):
                choose_class(state, index)  # while F picks a direction, its next class


def _on_release(pos, state: ViewState, layout: Layout, plane: Plane, shift: bool) -> None:
    if state.press is not None and not state.panning and layout.plot.collidepoint(pos):
        latent = plane.lift(layout.to_plane(pos, state.view), state.offsets)[0]
        if shift:
            add_waypoint(state, latent)
        else:
            add_pin(state, latent)
    if state.panning:
        state.scatter_changed = True  # the view has settled: redo what waits for it (the map)
    state.press, state.press_view, state.panning, state.drawing = None, None, False, None


def _on_motion(event, state: ViewState, layout: Layout) -> None:
    pos = tuple(event.pos)
    held = bool(event.buttons and event.buttons[0])
    if state.press is not None and held:
        if state.panning or max(abs(pos[0] - state.press[0]), abs(pos[1] - state.press[1])) > DRAG_THRESHOLD:
            state.panning = True
            pan_view(state, layout.to_plane(state.press, state.press_view), layout.to_plane(pos, state.press_view))
    if state.drawing is not None and held:
        here = layout.canvas_pixel(pos, state.canvas.shape)
        state.canvas = stroke(state.canvas, state.drawing, here)
        state.drawing, state.canvas_changed = here, True
    if layout.plot.collidepoint(pos):
        hover(state, pos, layout.to_plane(pos, state.view))
    else:
        leave_plot(state)
    if len(state.pins) == 2 and layout.strip.collidepoint(pos) and state.focus != Focus.DRAW:
        slide(state, layout.strip_t(pos[0]))


def _on_wheel(event, state: ViewState, layout: Layout) -> None:
    """Zoom about the point under the cursor; a wheel turned over the panel (the cursor is off the plot) is
    not meant for the plot."""
    if state.cursor is not None:
        zoom_view(state, layout.to_plane(state.cursor, state.view), ZOOM_STEP ** float(np.clip(event.y, -3, 3)))


def handle(event, state: ViewState, layout: Layout, plane: Plane) -> ViewState:
    """Fold one event into the state. Any number of motion events in a frame fold into one latent point."""
    kind = event.type
    if kind == pygame.QUIT:
        state.running = False
    elif kind == pygame.KEYDOWN:
        _on_key(event, state)
    elif kind == pygame.MOUSEMOTION:
        _on_motion(event, state, layout)
    elif kind == pygame.MOUSEBUTTONDOWN and event.button == 1:
        _on_press(tuple(event.pos), state, layout)
    elif kind == pygame.MOUSEBUTTONUP and event.button == 1:
        shift = getattr(event, "mod", None)  # a real button event has no mod: ask the keyboard
        if shift is None:  # without a display (a unit test's events) no key can be held
            shift = pygame.key.get_mods() if pygame.display.get_init() else 0
        shift = bool(shift & pygame.KMOD_SHIFT)
        _on_release(tuple(event.pos), state, layout, plane, shift)
    elif kind == pygame.MOUSEWHEEL and event.y:
        _on_wheel(event, state, layout)
    elif kind == pygame.WINDOWLEAVE:
        leave_plot(state)
    elif kind in RESIZE_EVENTS:
        resize(state, (event.w, event.h) if kind == pygame.VIDEORESIZE else (event.x, event.y))
    elif kind == pygame.DROPFILE:
        drop_file(state, event.file)
    elif kind in REDRAW_EVENTS:
        state.needs_redraw = state.full_redraw = True
    if state.strip_changed or state.canvas_changed or state.scatter_changed or state.overlay_changed:
        state.needs_redraw = True
    if state.cursor is not None and state.scatter_changed:  # the view moved under a still mouse: follow it
        state.uv = layout.to_plane(state.cursor, state.view)
    refresh_latent(state, plane)
    return state
