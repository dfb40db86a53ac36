"""Changes to the view, the pointer, the pins, the canvas and the anomaly view. No drawing or inference here."""

from __future__ import annotations

import time

import numpy as np

from viewer import words
from viewer.explore import Plane, pan, zoom
from viewer.mapping import REACH
from viewer.state.record import Focus, Request, ViewState

SLIDER_STEP = 0.05
OFFSET_STEP = 0.25  # along a further principal component, in units of the embedding's spread
NOTICE_S = 4.0  # seconds an on-screen notice stays
# The view's width against the home view's: 10,000x in is still ~2,000 float32 steps across a plain autoencoder's
# +-50 latents; 100x out shows the whole embedding as a speck.
ZOOM_RANGE = (1e-4, 100.0)
PICTURE_HOLD_PX = 24  # a picture keeps the tile until the mouse really moves over the plot, not on a twitch


def notify(state: ViewState, text: str) -> None:
    state.notice, state.notice_until = text, time.monotonic() + NOTICE_S


def request(state: ViewState, what: Request) -> None:
    state.requests.add(what)


def frame_done(state: ViewState) -> None:
    state.requests.clear()


def quit_viewer(state: ViewState) -> None:
    state.running = False


def window_exposed(state: ViewState) -> None:
    """The window was shown or restored: it is drawn whole again."""
    state.exposed += 1


def set_focus(state: ViewState, focus: Focus) -> None:
    state.focus = focus


def set_z(state: ViewState, z: np.ndarray) -> None:
    if not np.array_equal(state.z, z):
        state.z = z


def along_direction(state: ViewState, z: np.ndarray) -> np.ndarray:
    """z (1, D) moved by amount x (mean of class b - mean of class a): the "add a smile vector" arithmetic."""
    direction = state.direction
    if direction.ends is None or not direction.steps:
        return z
    start, end = direction.ends
    return (z + words.direction_amount(state) * (end - start)).astype(np.float32)


def refresh_latent(state: ViewState, plane: Plane) -> None:
    """Derive z from whatever has the focus; the drawing's and the prior sample's z are set when they arrive."""
    if len(state.view.offsets) != plane.extra_dims:  # M just switched the view's projection: the update step
        return  # lifts the point once the models have switched too
    route = state.route
    if state.focus == Focus.SLIDER and len(route.pins) == 2:
        a, b = route.pins
        set_z(state, along_direction(state, ((1 - route.t) * a + route.t * b).astype(np.float32)[None]))
    elif state.focus == Focus.HOVER:
        set_z(state, along_direction(state, plane.lift(state.pointer.uv, state.view.offsets)))


# The view -------------------------------------------------------------------------------------------------------


def set_view(state: ViewState, bounds: np.ndarray) -> None:
    state.view.bounds = bounds


def reset_view(state: ViewState) -> None:
    """Home view (at an earlier snapshot of the timeline, that snapshot's frame), and back onto the plane through
    the embedding's mean (offsets along further components zeroed, and the point back at the start of a feature
    direction)."""
    frame = state.timeline.frame  # a snapshot before the last: its own dots (the untrained knot is a speck)
    set_view(state, (state.view.home if frame is None else frame).copy())
    if state.view.offsets.any():
        state.view.offsets = np.zeros_like(state.view.offsets)
    state.direction.steps = 0


def toggle_nearest(state: ViewState) -> None:
    """N: the nearest test images in the full latent, or on the plot (the map or the PCA plane), above 2-D."""
    if state.z.shape[1] <= 2:
        notify(state, words.SAME_NEAREST)
    else:
        state.view.near_on_plot = not state.view.near_on_plot


def set_gap(state: ViewState, gap: float) -> None:
    """The update step measured how far the cursor's map point is from the data (pointer.gap)."""
    state.pointer.gap = gap


def toggle_projection(state: ViewState) -> None:
    """The map <-> the PCA plane (M), from the home view of the one switched to, on the plane through the mean."""
    view = state.view
    if len(view.homes) < 2:
        notify(state, words.NO_MAP if state.z.shape[1] > 2 else words.NO_MAP_NEEDED)
        return
    view.projection = next(name for name in view.homes if name != view.projection)
    view.home = view.homes[view.projection].copy()
    view.offsets = np.zeros(state.z.shape[1] - 2 if view.projection == "pca" else 0)
    view.component = 0
    state.pointer.uv = view.home.mean(axis=1)
    state.canvas.source = None  # a drawing or picture is encoded again, its marker placed on the new projection
    reset_view(state)


def zoom_view(state: ViewState, anchor: np.ndarray, factor: float) -> None:
    """Zoom about the anchor, within ZOOM_RANGE of the home view's width (beyond it, a notice and no change)."""
    view = state.view
    width = (view.bounds[0, 1] - view.bounds[0, 0]) * factor / (view.home[0, 1] - view.home[0, 0])
    if width < ZOOM_RANGE[0] and factor < 1:
        notify(state, words.ZOOMED_IN)
    elif width > ZOOM_RANGE[1] and factor > 1:
        notify(state, words.ZOOMED_OUT)
    else:
        set_view(state, zoom(view.bounds, anchor, factor))


def pan_view(state: ViewState, start: np.ndarray, now: np.ndarray) -> None:
    set_view(state, pan(state.pointer.press_view, start, now))


def toggle_help(state: ViewState) -> None:
    state.show_help = not state.show_help


def toggle_traversal(state: ViewState) -> None:
    """T: the traversal grid over the plot, or the plot again."""
    state.show_traversal = not state.show_traversal


def toggle_map(state: ViewState) -> None:
    state.view.show_map = not state.view.show_map


def map_failed(state: ViewState, error: str) -> None:
    """The map's decoder failed: the map goes off, with a notice saying why."""
    state.view.show_map = False
    notify(state, words.MAP_OFF.format(error=error))


def toggle_class(state: ViewState, index: int) -> None:
    if 0 <= index < state.class_count:
        state.view.hidden = state.view.hidden ^ {index}


def pick_component(state: ViewState, step: int) -> None:
    if len(state.view.offsets):
        state.view.component = (state.view.component + step) % len(state.view.offsets)
    else:
        notify(state, words.NO_COMPONENTS_ON_MAP if state.view.projection == "map" else words.NO_COMPONENTS)


def move_along_component(state: ViewState, direction: int) -> None:
    view = state.view
    if len(view.offsets):
        view.offsets = view.offsets.copy()
        view.offsets[view.component] += direction * OFFSET_STEP
    else:
        notify(state, words.NO_COMPONENTS_ON_MAP if state.view.projection == "map" else words.NO_COMPONENTS)


def resize(state: ViewState, size: tuple[int, int]) -> None:
    if size[0] > 0 and size[1] > 0 and size != state.window_size:
        state.window_size, state.pointer.cursor = size, None


def adopt_layout(state: ViewState, size: tuple[int, int]) -> None:
    """The scene built a layout for the window (never smaller than the panel needs)."""
    state.window_size = size


# The anomaly view -----------------------------------------------------------------------------------------------


def toggle_anomaly(state: ViewState) -> None:
    state.anomaly.on = not state.anomaly.on


def show_worst(state: ViewState, indices) -> None:
    state.anomaly.worst = tuple(int(i) for i in indices)


def jump_to(state: ViewState, row: int) -> None:
    """A click on row `row` of the anomaly view's list: go to that test image."""
    if 0 <= row < len(state.anomaly.worst):
        state.anomaly.jump = state.anomaly.worst[row]
        request(state, Request.JUMP)


def accept_jump(state: ViewState, uv: np.ndarray, offsets: np.ndarray, plane: Plane) -> None:
    """Hover exactly at a test image's latent: its plane point, and its offsets off the plane (D > 2)."""
    if not np.array_equal(offsets, state.view.offsets):
        state.view.offsets = offsets
    state.pointer.uv, state.pointer.cursor = uv, None
    set_focus(state, Focus.HOVER)
    set_z(state, along_direction(state, plane.lift(uv, offsets)))


# The pointer ----------------------------------------------------------------------------------------------------


def press_plot(state: ViewState, pos: tuple[int, int]) -> None:
    pointer = state.pointer
    pointer.press, pointer.press_view, pointer.panning = tuple(pos), state.view.bounds.copy(), False


def start_panning(state: ViewState) -> None:
    state.pointer.panning = True


def release(state: ViewState) -> None:
    pointer = state.pointer
    pointer.press, pointer.press_view, pointer.panning, pointer.drawing = None, None, False, None


def hover(state: ViewState, pos: tuple[int, int], uv: np.ndarray) -> None:
    """The cursor moved to pos over the plot, at plane point uv."""
    pointer = state.pointer
    if pointer.cursor != pos:
        pointer.cursor, pointer.uv = pos, uv
        if state.focus == Focus.PICTURE and not _moved_away(state, pos):
            return
        state.anomaly.jump = None  # the tile shows the cursor's point now, not the listed image
        if state.focus not in (Focus.DRAW, Focus.WALK):  # a walk plays on until W or X stops it
            set_focus(state, Focus.HOVER)


def follow_view(state: ViewState, uv: np.ndarray) -> None:
    """The view moved under a still mouse: the cursor's plane point follows it."""
    state.pointer.uv = uv


def _moved_away(state: ViewState, pos: tuple[int, int]) -> bool:
    """Whether the mouse has moved far from where it was when the picture arrived (the window's first motion
    event, with the pointer already over the plot, must not take the picture away)."""
    canvas = state.canvas
    if canvas.anchor is None:
        canvas.anchor = pos
        return False
    return max(abs(pos[0] - canvas.anchor[0]), abs(pos[1] - canvas.anchor[1])) > PICTURE_HOLD_PX


def leave_plot(state: ViewState) -> None:
    """Keep the last decode, drop the crosshair."""
    state.pointer.cursor = None


# Pins and the slider --------------------------------------------------------------------------------------------


def off_the_map(state: ViewState) -> bool:
    """Whether the cursor is past the map's reach from every dot, where the lift is the mean latent: a pin or a
    waypoint there would be the same latent wherever it was put, so it is refused with a notice."""
    if state.pointer.gap < REACH:
        return False
    notify(state, words.OFF_MAP_PICK.format(gap=state.pointer.gap))
    return True


def add_pin(state: ViewState, latent: np.ndarray) -> None:
    """Pin A, then B; a third pin starts a new pair."""
    if off_the_map(state):
        return
    pins = state.route.pins
    state.route.pins = [latent] if len(pins) != 1 else [pins[0], latent]


def clear_pins(state: ViewState) -> None:
    """X: the pins and the waypoints go, and a walk stops."""
    state.route.pins, state.route.waypoints, state.route.places, state.route.path = [], [], [], None
    if state.focus != Focus.DRAW:
        set_focus(state, Focus.HOVER)


def slide(state: ViewState, t: float) -> None:
    """Put the slider at t along A -> B and let it drive the decode."""
    state.route.t = float(np.clip(t, 0.0, 1.0))
    set_focus(state, Focus.SLIDER)


def step_slider(state: ViewState, direction: int) -> None:
    if state.focus == Focus.DRAW:
        notify(state, words.SLIDER_WAITS)
    elif len(state.route.pins) != 2:
        notify(state, words.SLIDER_NEEDS_PINS)
    else:
        slide(state, state.route.t + direction * SLIDER_STEP)


# The canvas: a drawing or a picture -----------------------------------------------------------------------------


def encodes_canvas(state: ViewState) -> bool:
    """The decoded point comes from the canvas through the encoder: a drawing or a picture."""
    return state.focus in (Focus.DRAW, Focus.PICTURE)


def toggle_draw(state: ViewState) -> None:
    canvas = state.canvas
    if state.focus != Focus.DRAW and canvas.image.shape[0] != 1:
        notify(state, words.DRAW_IS_GREY)
        return
    if state.focus == Focus.PICTURE:  # the canvas holds the picture: start a drawing afresh
        canvas.image = np.zeros_like(canvas.image)
    set_focus(state, Focus.HOVER if state.focus == Focus.DRAW else Focus.DRAW)


def stroke_canvas(state: ViewState, image: np.ndarray, here: tuple[float, float]) -> None:
    """A stroke of the drawing reached canvas pixel `here`."""
    state.canvas.image, state.pointer.drawing = image, here


def clear_canvas(state: ViewState) -> None:
    state.canvas.image = np.zeros_like(state.canvas.image)


def drop_file(state: ViewState, path: str) -> None:
    state.canvas.dropped = path
    request(state, Request.ENCODE_FILE)


def accept_picture(state: ViewState, image: np.ndarray, name: str) -> None:
    """A picture, (C, H, W) float32 in [0, 1] as the model takes it, becomes what is encoded and shown."""
    canvas = state.canvas
    canvas.image, canvas.picture, canvas.anchor = image, name, state.pointer.cursor
    set_focus(state, Focus.PICTURE)


def accept_encoding(state: ViewState, encoding) -> None:
    """The update step encoded the canvas: its latent (1, D) is decoded, marked in the scatter if the canvas holds
    anything; `encoding` also has what the encoder saw, the reconstruction and its error (update.Encoding)."""
    canvas = state.canvas
    state.z = encoding.z.astype(np.float32)
    canvas.marker, canvas.seen, canvas.rebuilt = encoding.marker, encoding.seen, encoding.rebuilt
    canvas.error, canvas.source = encoding.error, canvas.image


def drop_marker(state: ViewState, tried: np.ndarray | None = None) -> None:
    """No encoding to show: the canvas left the focus, or (tried: the image it failed for) the encoder failed."""
    canvas = state.canvas
    canvas.marker, canvas.seen, canvas.rebuilt, canvas.error, canvas.source = None, None, None, None, tried


def accept_sample(state: ViewState, z: np.ndarray, plane: Plane) -> None:
    """A sample from a VAE's prior, z (1, D), becomes the decoded point (drawing keeps its own focus)."""
    if state.focus == Focus.DRAW:
        return
    state.z = z
    set_focus(state, Focus.SAMPLE)
    state.pointer.uv = plane.project(z)[0]
