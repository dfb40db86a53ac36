"""What the viewer is showing, and every change to it. No pygame events, drawing or inference here.

Input (events.py, controls.py) and the frame loop change the state only through these functions, which
set flags (`z_changed`, `scatter_changed`, ...) that the scene (scene.py) acts on once a frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from latent_common.errors import UserError
from viewer.explore import Plane, pan, zoom
from viewer.session_file import Session, SessionError, is_int, read_pins
from viewer.walk import group_direction, path

SLIDER_STEP = 0.05
WALK_FRAMES = 16  # frames per leg between two waypoints: smooth at a GIF's 80 ms a frame, a leg in 1.3 s
WALK_FPS = 12.5  # walk frames a second in the window, as in the GIF
OFFSET_STEP = 0.25  # along a further principal component, in units of the embedding's spread
DIRECTION_STEPS = 10  # , and . move a tenth of the class-to-class distance: the amount is steps / 10, exact
DIRECTION_REACH = (-10, 20)  # in steps: from one distance back past the first class to twice the way to the second


class Focus(str, Enum):
    """What sets the latent point being decoded."""

    HOVER = "hover"  # the cursor over the scatter
    SLIDER = "slider"  # the slider on the A-B strip
    DRAW = "draw"  # the drawing on the canvas, through the encoder
    PICTURE = "picture"  # a picture file (--encode, or dropped on the window), through the encoder
    SAMPLE = "sample"  # a sample from a VAE's prior
    WALK = "walk"  # the walk through the waypoints, playing


class Request(str, Enum):
    """One-off actions the frame loop carries out after drawing (they need the screen or a decoder)."""

    SCREENSHOT = "screenshot"
    EXPORT_STRIP = "export_strip"
    SAMPLE = "sample"
    ENCODE_FILE = "encode_file"  # the file in ViewState.dropped
    EXPORT_WALK = "export_walk"
    JUMP = "jump"  # to the test image ViewState.jump_index (a click on the anomaly view's list)


NOTICE_S = 4.0  # seconds an on-screen notice stays
# The view's width against the home view's: 10,000x in is still ~2,000 float32 steps across a plain autoencoder's
# +-50 latents; 100x out shows the whole embedding as a speck.
ZOOM_RANGE = (1e-4, 100.0)


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
    focus: Focus = Focus.HOVER
    pins: list[np.ndarray] = field(default_factory=list)  # up to two (D,) latents: A, then B
    waypoints: list[np.ndarray] = field(default_factory=list)  # (D,) latents a walk goes through, in order
    walk_frames: int = WALK_FRAMES  # per leg
    slerp: bool = False  # walk legs along great circles rather than straight lines
    variational: bool = False  # the model has a prior N(0, I): great circles make sense
    walk_path: np.ndarray | None = None  # (T, D) float32 latents of the walk playing
    walk_frame: int = 0  # which of them is shown
    walk_tick: int = 0  # loop iterations since the walk last advanced
    t: float = 0.5  # slider position along A -> B
    press: tuple[int, int] | None = None  # where the left button went down on the plot
    press_view: np.ndarray | None = None
    panning: bool = False
    drawing: tuple[float, float] | None = None  # last canvas pixel while the button is held in draw mode
    canvas: np.ndarray | None = None  # (C, H, W) float32 in [0, 1]
    marker: np.ndarray | None = None  # (2,) plane point where the encoded drawing lands, None for none
    class_count: int = 10
    class_means: np.ndarray | None = None  # (K, D) float64: each class's mean latent (NaN rows: no test images)
    picking: tuple[int, ...] | None = None  # F: the classes picked so far for a direction; None when not picking
    direction: tuple[int, int] | None = None  # the classes the feature direction goes from and towards
    direction_ends: np.ndarray | None = None  # (2, D) float64: their mean latents
    direction_steps: int = 0  # how far the current point is moved along it, in 1 / DIRECTION_STEPS of the distance
    hidden: frozenset[int] = frozenset()
    show_map: bool = False
    show_help: bool = False
    show_traversal: bool = False  # the grid of decodes along each direction through z, over the plot
    color_by_error: bool = False  # the anomaly view: dots by reconstruction error, the worst listed beside
    worst: tuple[int, ...] = ()  # the test images the anomaly view lists, top to bottom
    jump_index: int | None = None
    canvas_error: float | None = None  # the drawing's or picture's reconstruction error, measured by the scene
    notice: str | None = None  # a short message for the HUD: where a file went, why a key did nothing
    notice_until: float = 0.0  # time.monotonic() when it goes
    dropped: str | None = None  # a file dropped on the window, to encode
    picture_name: str | None = None  # the file the picture came from
    picture_anchor: tuple[int, int] | None = None  # where the mouse was when it arrived (see hover)
    requests: set[Request] = field(default_factory=set)
    z_changed: bool = True  # decode the first frame
    scatter_changed: bool = False  # view, hidden classes or map changed: re-render the scatter
    overlay_changed: bool = False  # pins or the drawing's marker changed: recompose the background
    strip_changed: bool = False
    walk_changed: bool = False  # a walk started or its path changed: decode its frames
    traversal_changed: bool = False  # the traversal grid was turned on or off
    canvas_changed: bool = False
    layout_changed: bool = False  # the window was resized: every cached surface is rebuilt
    needs_redraw: bool = True
    full_redraw: bool = True  # the whole window, not just what the last frame changed
    running: bool = True


def initial_state(
    plane: Plane,
    home_view: np.ndarray,
    window_size: tuple[int, int],
    image_shape,
    class_count: int = 10,
    class_means: np.ndarray | None = None,
) -> ViewState:
    """Start at the plane's origin (the embedding's mean for D > 2), framed by the home view.

    image_shape is (C, H, W); an (H, W) one gets its channel axis (the canvas is always (C, H, W)). class_means
    (walk.class_means) lets F pick a direction between two classes.
    """
    image_shape = tuple(image_shape) if len(image_shape) == 3 else (1, *image_shape)
    uv = home_view.mean(axis=1)
    offsets = np.zeros(plane.extra_dims)
    return ViewState(
        z=plane.lift(uv, offsets),
        window_size=window_size,
        view=home_view.copy(),
        home_view=home_view.copy(),
        uv=uv,
        offsets=offsets,
        canvas=np.zeros(image_shape, dtype=np.float32),
        class_count=class_count,
        class_means=class_means,
    )


def set_focus(state: ViewState, focus: Focus) -> None:
    """What drives the decode; the captions that say so are recomposed when it changes."""
    if state.focus != focus:
        state.focus = focus
        state.overlay_changed = True


def set_z(state: ViewState, z: np.ndarray) -> None:
    if not np.array_equal(state.z, z):
        state.z = z
        state.z_changed = True


def refresh_latent(state: ViewState, plane: Plane) -> None:
    """Derive z from whatever has the focus; the drawing's and the prior sample's z are set when they arrive."""
    if state.focus == Focus.SLIDER and len(state.pins) == 2:
        a, b = state.pins
        set_z(state, along_direction(state, ((1 - state.t) * a + state.t * b).astype(np.float32)[None]))
    elif state.focus == Focus.HOVER:
        set_z(state, along_direction(state, plane.lift(state.uv, state.offsets)))


def set_view(state: ViewState, view: np.ndarray) -> None:
    state.view = view
    state.scatter_changed = state.overlay_changed = True
    state.needs_redraw = state.full_redraw = True


def reset_view(state: ViewState) -> None:
    """Home view, and back onto the plane through the embedding's mean (offsets along further components zeroed,
    and the point back at the start of a feature direction)."""
    set_view(state, state.home_view.copy())
    if state.offsets.any():
        state.offsets = np.zeros_like(state.offsets)
    state.direction_steps = 0


def zoom_view(state: ViewState, anchor: np.ndarray, factor: float) -> None:
    """Zoom about the anchor, within ZOOM_RANGE of the home view's width (beyond it, a notice and no change)."""
    width = (state.view[0, 1] - state.view[0, 0]) * factor / (state.home_view[0, 1] - state.home_view[0, 0])
    if width < ZOOM_RANGE[0] and factor < 1:
        notify(state, "zoomed in as far as it goes (R resets the view)")
    elif width > ZOOM_RANGE[1] and factor > 1:
        notify(state, "zoomed out as far as it goes (R resets the view)")
    else:
        set_view(state, zoom(state.view, anchor, factor))


def pan_view(state: ViewState, start: np.ndarray, now: np.ndarray) -> None:
    set_view(state, pan(state.press_view, start, now))


def toggle_help(state: ViewState) -> None:
    state.show_help = not state.show_help


def toggle_anomaly(state: ViewState) -> None:
    state.color_by_error = not state.color_by_error
    state.scatter_changed = state.overlay_changed = state.z_changed = True  # dots, legend, captions, side panel


def show_worst(state: ViewState, indices) -> None:
    state.worst = tuple(int(i) for i in indices)


def jump_to(state: ViewState, row: int) -> None:
    """A click on row `row` of the anomaly view's list: go to that test image."""
    if 0 <= row < len(state.worst):
        state.jump_index = state.worst[row]
        request(state, Request.JUMP)


def accept_jump(state: ViewState, uv: np.ndarray, offsets: np.ndarray, plane: Plane) -> None:
    """Hover exactly at a test image's latent: its plane point, and its offsets off the plane (D > 2)."""
    if not np.array_equal(offsets, state.offsets):
        state.offsets = offsets
        state.scatter_changed = True
    state.uv, state.cursor = uv, None
    set_focus(state, Focus.HOVER)
    set_z(state, along_direction(state, plane.lift(uv, offsets)))
    state.needs_redraw = True


def toggle_traversal(state: ViewState) -> None:
    """T: the traversal grid over the plot, or the plot again."""
    state.show_traversal = not state.show_traversal
    state.traversal_changed = state.full_redraw = state.needs_redraw = True


def toggle_map(state: ViewState) -> None:
    state.show_map = not state.show_map
    state.scatter_changed = True


def toggle_class(state: ViewState, index: int) -> None:
    if 0 <= index < state.class_count:
        state.hidden = state.hidden ^ {index}
        state.scatter_changed = True


def choose_class(state: ViewState, index: int) -> None:
    """A class key (0-9) or a click on the legend: while F is picking, the next class of the direction; else
    show or hide the class."""
    if state.picking is None:
        toggle_class(state, index)
    elif 0 <= index < state.class_count:
        pick_class(state, index)


def request(state: ViewState, what: Request) -> None:
    state.requests.add(what)


def add_pin(state: ViewState, latent: np.ndarray) -> None:
    """Pin A, then B; a third pin starts a new pair."""
    state.pins = [latent] if len(state.pins) != 1 else [state.pins[0], latent]
    state.overlay_changed = state.strip_changed = True


def clear_pins(state: ViewState) -> None:
    """X: the pins and the waypoints go, and a walk stops."""
    state.pins, state.waypoints, state.walk_path = [], [], None
    if state.focus != Focus.DRAW:
        set_focus(state, Focus.HOVER)
    state.overlay_changed = state.strip_changed = True


def slide(state: ViewState, t: float) -> None:
    """Put the slider at t along A -> B and let it drive the decode."""
    state.t = float(np.clip(t, 0.0, 1.0))
    set_focus(state, Focus.SLIDER)
    state.strip_changed = True


def step_slider(state: ViewState, direction: int) -> None:
    if state.focus == Focus.DRAW:
        notify(state, "the slider waits until you leave draw mode (D)")
    elif len(state.pins) != 2:
        notify(state, "Left/Right slide along A->B: click the scatter twice to pin A and B first")
    else:
        slide(state, state.t + direction * SLIDER_STEP)


def toggle_draw(state: ViewState) -> None:
    if state.focus != Focus.DRAW and state.canvas.shape[0] != 1:
        notify(state, "drawing is for grey models; drop a picture file on the window to encode it")
        return
    if state.focus == Focus.PICTURE:  # the canvas holds the picture: start a drawing afresh
        state.canvas = np.zeros_like(state.canvas)
    set_focus(state, Focus.HOVER if state.focus == Focus.DRAW else Focus.DRAW)
    state.canvas_changed = state.overlay_changed = True


def notify(state: ViewState, text: str) -> None:
    import time

    state.notice, state.notice_until = text, time.monotonic() + NOTICE_S
    state.needs_redraw = True


def drop_file(state: ViewState, path: str) -> None:
    state.dropped = path
    request(state, Request.ENCODE_FILE)


def accept_picture(state: ViewState, image: np.ndarray, name: str) -> None:
    """A picture, (C, H, W) float32 in [0, 1] as the model takes it, becomes what is encoded and shown."""
    state.canvas, state.picture_name, state.picture_anchor = image, name, state.cursor
    set_focus(state, Focus.PICTURE)
    state.canvas_changed = state.overlay_changed = True


def clear_canvas(state: ViewState) -> None:
    if state.canvas is not None:
        state.canvas = np.zeros_like(state.canvas)
        state.canvas_changed = True


def pick_component(state: ViewState, step: int) -> None:
    if len(state.offsets):
        state.component = (state.component + step) % len(state.offsets)
    else:
        notify(state, "[ ] and + - move along further components: this latent has no more than the two shown")


def move_along_component(state: ViewState, direction: int) -> None:
    if len(state.offsets):
        state.offsets = state.offsets.copy()
        state.offsets[state.component] += direction * OFFSET_STEP
        state.scatter_changed = True  # the map shows the plane at the new offset
    else:
        notify(state, "[ ] and + - move along further components: this latent has no more than the two shown")


PICTURE_HOLD_PX = 24  # a picture keeps the tile until the mouse really moves over the plot, not on a twitch


def hover(state: ViewState, pos: tuple[int, int], uv: np.ndarray) -> None:
    """The cursor moved to pos over the plot, at plane point uv."""
    if state.cursor != pos:
        state.cursor, state.needs_redraw = pos, True
        state.uv = uv
        if state.focus == Focus.PICTURE and not _moved_away(state, pos):
            return
        if state.focus not in (Focus.DRAW, Focus.WALK):  # a walk plays on until W or X stops it
            set_focus(state, Focus.HOVER)


def _moved_away(state: ViewState, pos: tuple[int, int]) -> bool:
    """Whether the mouse has moved far from where it was when the picture arrived (the window's first motion
    event, with the pointer already over the plot, must not take the picture away)."""
    if state.picture_anchor is None:
        state.picture_anchor = pos
        return False
    return max(abs(pos[0] - state.picture_anchor[0]), abs(pos[1] - state.picture_anchor[1])) > PICTURE_HOLD_PX


def leave_plot(state: ViewState) -> None:
    """Keep the last decode, drop the crosshair."""
    if state.cursor is not None:
        state.cursor, state.needs_redraw = None, True


def resize(state: ViewState, size: tuple[int, int]) -> None:
    if size[0] > 0 and size[1] > 0 and size != state.window_size:
        state.window_size, state.cursor = size, None
        state.needs_redraw = state.full_redraw = state.scatter_changed = True


def adopt_layout(state: ViewState, size: tuple[int, int]) -> None:
    """The scene built a layout for the window (never smaller than the panel needs): redo every surface."""
    state.window_size = size
    state.scatter_changed = state.strip_changed = state.z_changed = state.full_redraw = True


def encodes_canvas(state: ViewState) -> bool:
    """The decoded point comes from the canvas through the encoder: a drawing or a picture."""
    return state.focus in (Focus.DRAW, Focus.PICTURE)


def accept_sample(state: ViewState, z: np.ndarray, plane: Plane) -> None:
    """A sample from a VAE's prior, z (1, D), becomes the decoded point (drawing keeps its own focus)."""
    if state.focus == Focus.DRAW:
        return
    state.z = z
    set_focus(state, Focus.SAMPLE)
    state.z_changed = state.needs_redraw = True
    state.uv = plane.project(z)[0]


def accept_encoding(state: ViewState, z: np.ndarray, plane: Plane) -> None:
    """The encoder's latent for the canvas, z (1, D): decoded next, and marked in the scatter if it holds anything."""
    state.z, state.z_changed = z.astype(np.float32), True
    state.marker = plane.project(z)[0] if state.canvas.any() else None
    state.overlay_changed = True


def drop_marker(state: ViewState) -> None:
    state.marker = None
    state.overlay_changed = True


def frame_done(state: ViewState) -> None:
    state.requests.clear()


# Walks ----------------------------------------------------------------------------------------------------------


def add_waypoint(state: ViewState, latent: np.ndarray) -> None:
    """Shift+click: one more point for the walk to pass through; a walk playing takes the new path."""
    state.waypoints = [*state.waypoints, latent]
    state.overlay_changed = True
    if state.focus == Focus.WALK:
        start_walk(state)


def start_walk(state: ViewState) -> None:
    state.walk_path = path(np.stack(state.waypoints), state.walk_frames, state.slerp)  # (T, D)
    state.walk_frame = state.walk_tick = 0
    set_focus(state, Focus.WALK)
    set_z(state, state.walk_path[:1])
    state.walk_changed = True


def toggle_walk(state: ViewState) -> None:
    """W: play the walk through the waypoints in the big tile, or stop it."""
    if state.focus == Focus.WALK:
        state.walk_path = None
        set_focus(state, Focus.HOVER)
    elif state.focus == Focus.DRAW:
        notify(state, "the walk waits until you leave draw mode (D)")
    elif len(state.waypoints) < 2:
        notify(state, "W plays a walk: Shift+click the scatter to add two waypoints or more")
    else:
        start_walk(state)


def advance_walk(state: ViewState, every: int) -> None:
    """Once per loop iteration: a playing walk moves on a frame every `every` iterations, looping."""
    if state.focus != Focus.WALK or state.walk_path is None:
        return
    state.walk_tick += 1
    if state.walk_tick >= every:
        state.walk_tick = 0
        state.walk_frame = (state.walk_frame + 1) % len(state.walk_path)
        set_z(state, state.walk_path[state.walk_frame][None])


def toggle_slerp(state: ViewState) -> None:
    """Walk legs along great circles (the shell where a VAE's latents live) or straight lines."""
    if not state.variational and not state.slerp:
        notify(state, "great circles (slerp) are for a variational model's round prior; this one walks straight")
        return
    state.slerp = not state.slerp
    notify(state, "walks follow great circles (slerp)" if state.slerp else "walks follow straight lines")
    state.overlay_changed = True
    if state.focus == Focus.WALK:
        start_walk(state)


# Feature directions ---------------------------------------------------------------------------------------------


def direction_amount(state: ViewState) -> float:
    """How far the point is moved along the direction, in class-to-class distances: steps / 10 (exact at 0.5)."""
    return state.direction_steps / DIRECTION_STEPS


def along_direction(state: ViewState, z: np.ndarray) -> np.ndarray:
    """z (1, D) moved by amount x (mean of class b - mean of class a): the "add a smile vector" arithmetic."""
    if state.direction_ends is None or not state.direction_steps:
        return z
    start, end = state.direction_ends
    return (z + direction_amount(state) * (end - start)).astype(np.float32)


def toggle_direction(state: ViewState) -> None:
    """F: start picking two classes (from, then towards); F while picking cancels; F with a direction clears it."""
    if state.direction is not None:
        clear_direction(state)
        notify(state, "direction cleared; F picks another")
    elif state.picking is not None:
        cancel_picking(state)
    elif state.class_means is None:
        notify(state, "F needs the classes' mean latents, which this view does not have")
    else:
        state.picking = ()  # the HUD asks for the classes while picking


def back_out(state: ViewState) -> bool:
    """Esc: close the first of these that is open: the help, the traversal grid, F's picking or its direction, a
    playing walk, draw mode. False when none is, and Esc quits (a student pressing Esc to dismiss something
    shouldn't lose the window). The map and the anomaly view are ways of looking, not things opened: they stay."""
    if state.show_help:
        toggle_help(state)
    elif state.show_traversal:
        toggle_traversal(state)
    elif state.picking is not None or state.direction is not None:
        toggle_direction(state)
    elif state.focus == Focus.WALK:
        toggle_walk(state)
    elif state.focus == Focus.DRAW:
        toggle_draw(state)
    else:
        return False
    return True


def pick_class(state: ViewState, index: int) -> None:
    """The next class of the direction being picked: the one to go from, then the one to go towards."""
    means = state.class_means
    if not np.isfinite(means[index]).all():
        notify(state, f"class {index} has no test images, so it has no mean latent: pick another")
    elif not state.picking:
        state.picking = (index,)
    elif index == state.picking[0]:
        notify(state, "F: pick a different class to go towards")
    else:
        start = state.picking[0]
        try:
            group_direction(means[start], means[index])  # refuses two classes with the same mean
        except UserError as exc:
            notify(state, str(exc))
            return
        state.picking, state.direction = None, (start, index)
        state.direction_ends, state.direction_steps = np.stack([means[start], means[index]]), 0
        state.overlay_changed = True


def cancel_picking(state: ViewState) -> None:
    state.picking = None
    notify(state, "direction picking cancelled")


def clear_direction(state: ViewState) -> None:
    state.direction, state.direction_ends, state.direction_steps = None, None, 0
    state.overlay_changed = True


def step_direction(state: ViewState, step: int) -> None:
    """, and .: move the point a tenth of the class-to-class distance back or on, from -1 to +2 distances."""
    if state.direction is None:
        notify(state, ", and . move along a direction: press F, then two classes (0-9 or the legend), first")
        return
    steps = int(np.clip(state.direction_steps + step, *DIRECTION_REACH))
    if steps == state.direction_steps:
        notify(state, "the direction reaches from -1 to +2 class-to-class distances")
    elif state.focus not in (Focus.HOVER, Focus.SLIDER):
        notify(state, "the direction moves the point under the cursor or on the A->B slider")
    state.direction_steps = steps
    state.overlay_changed = True  # the big tile's caption says how far


# Sessions -------------------------------------------------------------------------------------------------------


def restore_session(state: ViewState, session: Session, plane: Plane, where: str) -> None:
    """Carry on from a saved session: its view, pins, waypoints, hidden classes, offsets and map. The cursor's
    point starts at the view's centre, on the saved offsets."""
    state.view = session.view.copy()
    state.pins = list(session.pins[:2])
    state.waypoints = read_pins(where, session.extra.get("waypoints", []), plane.dim)
    state.hidden, state.show_map = session.hidden, session.show_map
    state.offsets = session.offsets.copy()
    t = session.extra.get("t", 0.5)
    if not isinstance(t, (int, float)) or isinstance(t, bool) or not 0 <= t <= 1:
        raise SessionError(f"{where}: 'extra.t' must be a number from 0 to 1")
    state.t = float(t)
    state.uv = state.view.mean(axis=1)
    state.z = plane.lift(state.uv, state.offsets)
    if session.focus == Focus.SLIDER and len(state.pins) == 2:
        slide(state, state.t)
    if "direction" in session.extra:
        restore_direction(state, session.extra["direction"], session.extra.get("direction_steps", 0), where)
    state.scatter_changed = state.overlay_changed = state.strip_changed = state.z_changed = True


def restore_direction(state: ViewState, direction, steps, where: str) -> None:
    """A saved feature direction (two class indices) and how far along it the point was, checked first."""
    low, high = DIRECTION_REACH
    if not (
        isinstance(direction, list)
        and len(direction) == 2
        and all(is_int(i) and 0 <= i < state.class_count for i in direction)
        and direction[0] != direction[1]
    ):
        raise SessionError(
            f"{where}: 'extra.direction' must be two different class indices from 0 to {state.class_count - 1}"
        )
    if not (is_int(steps) and low <= steps <= high):
        raise SessionError(f"{where}: 'extra.direction_steps' must be an integer from {low} to {high}")
    if state.class_means is None:
        return
    state.picking = (direction[0],)
    pick_class(state, direction[1])  # as if picked with F: a class without test images is refused with a notice
    state.picking = None
    if state.direction is not None:
        state.direction_steps = steps


def session_of(state: ViewState) -> Session:
    """What `--session FILE` keeps of the state."""
    focus = state.focus if state.focus in (Focus.HOVER, Focus.SLIDER) else Focus.HOVER  # the rest need their input
    extra = {"waypoints": [w.astype(float).tolist() for w in state.waypoints], "t": state.t}
    if state.direction is not None:
        extra |= {"direction": list(state.direction), "direction_steps": state.direction_steps}
    return Session(state.view.copy(), list(state.pins), state.hidden, state.offsets.copy(), focus.value,
                   state.show_map, extra)  # fmt: skip
