"""A saved session (--session FILE): restored into the state at start, taken from it on quit."""

from __future__ import annotations

import numpy as np

from viewer.explore import Plane
from viewer.session_file import Session, SessionError, is_int, read_pins
from viewer.state.actions import slide
from viewer.state.directions import DIRECTION_REACH, pick_class
from viewer.state.record import Focus, ViewState


def restore_projection(state: ViewState, session: Session, where: str) -> str:
    """The projection a session was saved on (a session from before maps: the PCA plane); returns its name."""
    view = state.view
    default = "pca" if "pca" in view.homes else view.projection
    name = session.extra.get("projection", default)
    if name not in view.homes:
        shown = " or ".join(view.homes)
        raise SessionError(f"{where}: 'extra.projection' must be {shown} for this bundle, got {name!r}")
    view.projection, view.home = name, view.homes[name].copy()
    return name


def restore_session(state: ViewState, session: Session, plane: Plane, where: str) -> None:
    """Carry on from a saved session: its view, pins, waypoints, hidden classes, offsets and map. The cursor's
    point starts at the view's centre, on the saved offsets."""
    view, route = state.view, state.route
    view.bounds = session.view.copy()
    route.pins = list(session.pins[:2])
    route.waypoints = read_pins(where, session.extra.get("waypoints", []), plane.dim)
    view.hidden, view.show_map = session.hidden, session.show_map
    view.offsets = session.offsets.copy() if view.projection != "map" else session.offsets[:0].copy()  # map: none
    component = session.extra.get("component", 0)
    if not is_int(component) or not 0 <= component < max(len(view.offsets), 1):
        raise SessionError(f"{where}: 'extra.component' must be an integer from 0 to {max(len(view.offsets) - 1, 0)}")
    view.component = component
    t = session.extra.get("t", 0.5)
    if not isinstance(t, (int, float)) or isinstance(t, bool) or not 0 <= t <= 1:
        raise SessionError(f"{where}: 'extra.t' must be a number from 0 to 1")
    route.t = float(t)
    state.pointer.uv = view.bounds.mean(axis=1)
    state.z = plane.lift(state.pointer.uv, view.offsets)
    if session.focus == Focus.SLIDER and len(route.pins) == 2:
        slide(state, route.t)
    if "direction" in session.extra:
        restore_direction(state, session.extra["direction"], session.extra.get("direction_steps", 0), where)


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
    if state.direction.means is None:
        return
    state.direction.picking = (direction[0],)
    pick_class(state, direction[1])  # as if picked with F: a class without test images is refused with a notice
    state.direction.picking = None
    if state.direction.classes is not None:
        state.direction.steps = steps


def session_of(state: ViewState) -> Session:
    """What `--session FILE` keeps of the state."""
    focus = state.focus if state.focus in (Focus.HOVER, Focus.SLIDER) else Focus.HOVER  # the rest need their input
    view, route, direction = state.view, state.route, state.direction
    extra = {"waypoints": [w.astype(float).tolist() for w in route.waypoints], "t": route.t}
    extra["projection"], extra["component"] = view.projection, view.component
    offsets = view.offsets if view.projection != "map" else np.zeros(state.z.shape[1] - 2)  # the file's D - 2
    if direction.classes is not None:
        extra |= {"direction": list(direction.classes), "direction_steps": direction.steps}
    return Session(view.bounds.copy(), list(route.pins), view.hidden, offsets.copy(), focus.value,
                   view.show_map, extra)  # fmt: skip


def start_options(state: ViewState, show_map: bool, anomaly: bool) -> None:
    """The command line's --map and --color-by error."""
    state.view.show_map, state.anomaly.on = show_map, anomaly
