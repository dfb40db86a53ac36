"""Input: fold one pygame event into the view state. No drawing and no inference here.

With the state actions (viewer/state/), the only code that writes the state. Any number of events in a
frame fold into one latent point; the scene then rebuilds what their changes made stale, decoding at most once.
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
    follow_view,
    grab_timeline,
    hover,
    jump_to,
    leave_plot,
    let_go_timeline,
    pan_view,
    press_plot,
    quit_viewer,
    refresh_latent,
    release,
    resize,
    scrub,
    slide,
    start_panning,
    stroke_canvas,
    window_exposed,
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


def _on_press(pos, state: ViewState, layout: Layout) -> None:
    if layout.timeline is not None and state.timeline.count and layout.timeline.collidepoint(pos):
        grab_timeline(state, layout.timeline_fraction(pos[0]))
    elif layout.plot.collidepoint(pos):
        press_plot(state, pos)
    elif state.focus == Focus.DRAW and layout.tile.collidepoint(pos):
        here = layout.canvas_pixel(pos, state.canvas.image.shape)
        stroke_canvas(state, stroke(state.canvas.image, here, here), here)
    elif len(state.route.pins) == 2 and layout.strip.collidepoint(pos):
        slide(state, layout.strip_t(pos[0]))
    elif state.anomaly.on and state.anomaly.worst and layout.side.collidepoint(pos):
        worst = state.anomaly.worst
        jump_to(state, (pos[1] - layout.side.top) // max(layout.side.height // len(worst), 1))
    else:
        for index in range(min(state.class_count, layout.legend_capacity)):
            if layout.legend_item(index).collidepoint(pos):
                choose_class(state, index)  # while F picks a direction, its next class


def _on_release(pos, state: ViewState, layout: Layout, plane: Plane, shift: bool) -> None:
    pointer = state.pointer
    if pointer.press is not None and not pointer.panning and layout.plot.collidepoint(pos):
        place = layout.to_plane(pos, state.view.bounds)
        latent = plane.lift(place, state.view.offsets)[0]
        if shift:
            add_waypoint(state, latent, place if state.view.projection == "map" else None)
        else:
            add_pin(state, latent)
    release(state)  # a pan ends: the view has settled, and what waits for it (the map) follows
    let_go_timeline(state)


def _on_motion(event, state: ViewState, layout: Layout) -> None:
    pos, pointer = tuple(event.pos), state.pointer
    held = bool(event.buttons and event.buttons[0])
    if pointer.press is not None and held:
        press = pointer.press
        if pointer.panning or max(abs(pos[0] - press[0]), abs(pos[1] - press[1])) > DRAG_THRESHOLD:
            start_panning(state)
            pan_view(state, layout.to_plane(press, pointer.press_view), layout.to_plane(pos, pointer.press_view))
    if pointer.drawing is not None and held:
        here = layout.canvas_pixel(pos, state.canvas.image.shape)
        stroke_canvas(state, stroke(state.canvas.image, pointer.drawing, here), here)
    if layout.plot.collidepoint(pos):
        hover(state, pos, layout.to_plane(pos, state.view.bounds))
    else:
        leave_plot(state)
    if state.timeline.dragging and held and layout.timeline is not None:
        scrub(state, layout.timeline_fraction(pos[0]))
    if len(state.route.pins) == 2 and layout.strip.collidepoint(pos) and state.focus != Focus.DRAW:
        slide(state, layout.strip_t(pos[0]))


def _on_wheel(event, state: ViewState, layout: Layout) -> None:
    """Zoom about the point under the cursor; a wheel turned over the panel (the cursor is off the plot) is
    not meant for the plot."""
    cursor = state.pointer.cursor
    if cursor is not None:
        zoom_view(state, layout.to_plane(cursor, state.view.bounds), ZOOM_STEP ** float(np.clip(event.y, -3, 3)))


def _shift_held(event) -> bool:
    shift = getattr(event, "mod", None)  # a real button event has no mod: ask the keyboard
    if shift is None:  # without a display (a unit test's events) no key can be held
        shift = pygame.key.get_mods() if pygame.display.get_init() else 0
    return bool(shift & pygame.KMOD_SHIFT)


def handle(event, state: ViewState, layout: Layout, plane: Plane) -> ViewState:
    """Fold one event into the state. Any number of motion events in a frame fold into one latent point."""
    kind, bounds = event.type, state.view.bounds
    if kind == pygame.QUIT:
        quit_viewer(state)
    elif kind == pygame.KEYDOWN:
        _on_key(event, state)
    elif kind == pygame.MOUSEMOTION:
        _on_motion(event, state, layout)
    elif kind == pygame.MOUSEBUTTONDOWN and event.button == 1:
        _on_press(tuple(event.pos), state, layout)
    elif kind == pygame.MOUSEBUTTONUP and event.button == 1:
        _on_release(tuple(event.pos), state, layout, plane, _shift_held(event))
    elif kind == pygame.MOUSEWHEEL and event.y:
        _on_wheel(event, state, layout)
    elif kind == pygame.WINDOWLEAVE:
        leave_plot(state)
    elif kind in RESIZE_EVENTS:
        resize(state, (event.w, event.h) if kind == pygame.VIDEORESIZE else (event.x, event.y))
    elif kind == pygame.DROPFILE:
        drop_file(state, event.file)
    elif kind in REDRAW_EVENTS:
        window_exposed(state)
    if state.pointer.cursor is not None and state.view.bounds is not bounds:  # the view moved under the mouse
        follow_view(state, layout.to_plane(state.pointer.cursor, state.view.bounds))
    refresh_latent(state, plane)
    return state
