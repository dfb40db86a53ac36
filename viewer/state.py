"""What the viewer is showing, and how input changes it. No drawing and no inference here.

`handle` folds one event into the state; the frame loop then acts on the flags it set (decode when
`z_changed`, re-render the scatter when `scatter_changed`, ...), so any number of events in a frame
costs at most one of each.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pygame

from viewer.explore import Plane, pan, stroke, zoom
from viewer.layout import Layout

QUIT_KEYS = (pygame.K_ESCAPE, pygame.K_q)
RESIZE_EVENTS = (pygame.VIDEORESIZE, pygame.WINDOWSIZECHANGED)
REDRAW_EVENTS = (pygame.WINDOWEXPOSED, pygame.WINDOWRESTORED, pygame.WINDOWSHOWN)
ZOOM_STEP = 0.8  # one wheel notch shows 80% of the width: fine enough to aim, quick to go deep
DRAG_THRESHOLD = 3  # pixels a press must move before it is a pan rather than a click (a pin)
SLIDER_STEP = 0.05
OFFSET_STEP = 0.25  # along a further principal component, in units of the embedding's spread


@dataclass
class ViewState:
    z: np.ndarray  # (1, D) float32: the latent point being decoded
    window_size: tuple[int, int]
    view: np.ndarray  # (2, 2) plane window [[x0, x1], [y0, y1]]
    home_view: np.ndarray
    uv: np.ndarray  # (2,) plane point under the cursor, or last under it
    offsets: np.ndarray  # (D - 2,) position along the further principal components, in std units
    component: int = 0  # which further component the offset keys move
    cursor: tuple[int, int] | None = None  # mouse position inside the plot; None once it left
    focus: str = "hover"  # what sets z: "hover" (the cursor), "slider" (the A-B strip), "draw" (the canvas), "sample"
    pins: list[np.ndarray] = field(default_factory=list)  # up to two (D,) latents: A, then B
    t: float = 0.5  # slider position along A -> B
    press: tuple[int, int] | None = None  # where the left button went down on the plot
    press_view: np.ndarray | None = None
    panning: bool = False
    drawing: tuple[float, float] | None = None  # last canvas pixel while the button is held in draw mode
    canvas: np.ndarray | None = None  # (H, W) float32 in [0, 1]
    hidden: frozenset[int] = frozenset()
    show_map: bool = False
    show_help: bool = False
    requests: set[str] = field(default_factory=set)  # "screenshot", "export_strip": done by the loop
    z_changed: bool = True  # decode the first frame
    scatter_changed: bool = False  # view, hidden classes or map changed: re-render the scatter
    overlay_changed: bool = False  # pins or the drawing's marker changed: recompose the background
    strip_changed: bool = False
    canvas_changed: bool = False
    needs_redraw: bool = True
    full_redraw: bool = True  # the whole window, not just what the last frame changed
    running: bool = True


def initial_state(plane: Plane, home_view: np.ndarray, window_size: tuple[int, int], image_shape) -> ViewState:
    """Start at the plane's origin (the embedding's mean for D > 2), framed by the home view."""
    uv = home_view.mean(axis=1)
    offsets = np.zeros(plane.dim - 2)
    return ViewState(
        z=plane.lift(uv, offsets), window_size=window_size, view=home_view.copy(), home_view=home_view.copy(),
        uv=uv, offsets=offsets, canvas=np.zeros(image_shape, dtype=np.float32),
    )  # fmt: skip


def _set_z(state: ViewState, z: np.ndarray) -> None:
    if not np.array_equal(state.z, z):
        state.z = z
        state.z_changed = True


def refresh_latent(state: ViewState, plane: Plane) -> None:
    """Derive z from whatever has the focus; the drawing's z is set by the loop after encoding."""
    if state.focus == "slider" and len(state.pins) == 2:
        a, b = state.pins
        _set_z(state, ((1 - state.t) * a + state.t * b).astype(np.float32)[None])
    elif state.focus == "hover":
        _set_z(state, plane.lift(state.uv, state.offsets))


def _set_view(state: ViewState, view: np.ndarray) -> None:
    state.view = view
    state.scatter_changed = state.overlay_changed = True
    state.needs_redraw = state.full_redraw = True


def _on_key(event, state: ViewState, class_count: int) -> None:
    key, char = event.key, getattr(event, "unicode", "")
    if key in QUIT_KEYS:
        if state.show_help and key == pygame.K_ESCAPE:
            state.show_help = False
        else:
            state.running = False
    elif key == pygame.K_h or char == "?":
        state.show_help = not state.show_help
    elif key == pygame.K_g:
        state.show_map = not state.show_map
        state.scatter_changed = True
    elif key == pygame.K_r:
        _set_view(state, state.home_view.copy())
    elif key == pygame.K_s:
        state.requests.add("screenshot")
    elif key == pygame.K_p:
        state.requests.add("sample")  # a VAE's prior; the loop ignores it for a plain autoencoder
    elif key == pygame.K_e and len(state.pins) == 2:
        state.requests.add("export_strip")
    elif key == pygame.K_x:
        state.pins, state.focus = [], "draw" if state.focus == "draw" else "hover"
        state.overlay_changed = state.strip_changed = True
    elif key == pygame.K_d:
        state.focus = "hover" if state.focus == "draw" else "draw"
        state.canvas_changed = state.overlay_changed = True
    elif key == pygame.K_c and state.canvas is not None:
        state.canvas = np.zeros_like(state.canvas)
        state.canvas_changed = True
    elif pygame.K_0 <= key <= pygame.K_9 and key - pygame.K_0 < class_count:
        state.hidden = state.hidden ^ {key - pygame.K_0}
        state.scatter_changed = True
    elif key in (pygame.K_LEFT, pygame.K_RIGHT) and len(state.pins) == 2:
        state.t = float(np.clip(state.t + (SLIDER_STEP if key == pygame.K_RIGHT else -SLIDER_STEP), 0.0, 1.0))
        state.focus = "slider"
        state.strip_changed = True
    elif key in (pygame.K_LEFTBRACKET, pygame.K_RIGHTBRACKET) and len(state.offsets):
        step = 1 if key == pygame.K_RIGHTBRACKET else -1
        state.component = (state.component + step) % len(state.offsets)
    elif key in (
        pygame.K_EQUALS,
        pygame.K_PLUS,
        pygame.K_KP_PLUS,
        pygame.K_PAGEUP,
        pygame.K_MINUS,
        pygame.K_KP_MINUS,
        pygame.K_PAGEDOWN,
    ) and len(state.offsets):
        up = key in (pygame.K_EQUALS, pygame.K_PLUS, pygame.K_KP_PLUS, pygame.K_PAGEUP)
        state.offsets = state.offsets.copy()
        state.offsets[state.component] += OFFSET_STEP if up else -OFFSET_STEP
        state.scatter_changed = True  # the map shows the plane at the new offset
    state.needs_redraw = True


def _on_press(pos, state: ViewState, layout: Layout, class_count: int, image_shape) -> None:
    if layout.plot.collidepoint(pos):
        state.press, state.press_view, state.panning = tuple(pos), state.view.copy(), False
    elif state.focus == "draw" and layout.digit.collidepoint(pos):
        state.drawing = layout.canvas_pixel(pos, image_shape)
        state.canvas = stroke(state.canvas, state.drawing, state.drawing)
        state.canvas_changed = True
    elif len(state.pins) == 2 and layout.strip.collidepoint(pos):
        state.t, state.focus = layout.strip_t(pos[0]), "slider"
        state.strip_changed = True
    else:
        for index in range(class_count):
            if layout.legend_item(index).collidepoint(pos):
                state.hidden = state.hidden ^ {index}
                state.scatter_changed = True


def _on_release(pos, state: ViewState, layout: Layout, plane: Plane) -> None:
    if state.press is not None and not state.panning and layout.plot.collidepoint(pos):
        latent = plane.lift(layout.to_plane(pos, state.view), state.offsets)[0]
        state.pins = [latent] if len(state.pins) != 1 else [state.pins[0], latent]
        state.overlay_changed = state.strip_changed = True
    if state.panning:
        state.scatter_changed = True  # the view has settled: redo what waits for it (the map)
    state.press, state.press_view, state.panning, state.drawing = None, None, False, None


def _on_motion(event, state: ViewState, layout: Layout, image_shape) -> None:
    pos = tuple(event.pos)
    held = bool(event.buttons and event.buttons[0])
    if state.press is not None and held:
        if state.panning or max(abs(pos[0] - state.press[0]), abs(pos[1] - state.press[1])) > DRAG_THRESHOLD:
            state.panning = True
            start = layout.to_plane(state.press, state.press_view)
            _set_view(state, pan(state.press_view, start, layout.to_plane(pos, state.press_view)))
    if state.drawing is not None and held:
        here = layout.canvas_pixel(pos, image_shape)
        state.canvas = stroke(state.canvas, state.drawing, here)
        state.drawing, state.canvas_changed = here, True
    if layout.plot.collidepoint(pos):
        if state.cursor != pos:
            state.cursor, state.needs_redraw = pos, True
            state.uv = layout.to_plane(pos, state.view)
            if state.focus != "draw":
                state.focus = "hover"
    elif state.cursor is not None:  # left the plot: keep the last digit, drop the crosshair
        state.cursor, state.needs_redraw = None, True
    if len(state.pins) == 2 and layout.strip.collidepoint(pos) and state.focus != "draw":
        state.t, state.focus, state.strip_changed = layout.strip_t(pos[0]), "slider", True


def handle(
    event, state: ViewState, layout: Layout, plane: Plane, class_count: int = 10, image_shape=(28, 28)
) -> ViewState:
    """Fold one event into the state. Any number of motion events in a frame fold into one latent point."""
    kind = event.type
    if kind == pygame.QUIT:
        state.running = False
    elif kind == pygame.KEYDOWN:
        _on_key(event, state, class_count)
    elif kind == pygame.MOUSEMOTION:
        _on_motion(event, state, layout, image_shape)
    elif kind == pygame.MOUSEBUTTONDOWN and event.button == 1:
        _on_press(tuple(event.pos), state, layout, class_count, image_shape)
    elif kind == pygame.MOUSEBUTTONUP and event.button == 1:
        _on_release(tuple(event.pos), state, layout, plane)
    elif kind == pygame.MOUSEWHEEL and event.y:
        anchor = layout.to_plane(state.cursor, state.view) if state.cursor else state.view.mean(axis=1)
        _set_view(state, zoom(state.view, anchor, ZOOM_STEP ** float(np.clip(event.y, -3, 3))))
    elif kind == pygame.WINDOWLEAVE and state.cursor is not None:
        state.cursor, state.needs_redraw = None, True
    elif kind in RESIZE_EVENTS:
        size = (event.w, event.h) if kind == pygame.VIDEORESIZE else (event.x, event.y)
        if size[0] > 0 and size[1] > 0 and size != state.window_size:
            state.window_size, state.cursor = size, None
            state.needs_redraw = state.full_redraw = state.scatter_changed = True
    elif kind in REDRAW_EVENTS:
        state.needs_redraw = state.full_redraw = True
    if state.strip_changed or state.canvas_changed or state.scatter_changed or state.overlay_changed:
        state.needs_redraw = True
    refresh_latent(state, plane)
    return state
