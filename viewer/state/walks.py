"""Walks through waypoints: added with Shift+click, played with W in the big tile."""

from __future__ import annotations

import numpy as np

from viewer import words
from viewer.state.actions import notify, off_the_map, set_focus, set_z
from viewer.state.record import Focus, ViewState
from viewer.walk import path

WALK_FPS = 12.5  # walk frames a second in the window, as in the GIF


def add_waypoint(state: ViewState, latent: np.ndarray, place: np.ndarray | None = None) -> None:
    """Shift+click: one more point for the walk to pass through; a walk playing takes the new path."""
    if off_the_map(state):
        return
    state.route.waypoints = [*state.route.waypoints, latent]
    state.route.places = [*state.route.places, place]  # on a map: where, so a walk can follow the map
    if state.focus == Focus.WALK:
        start_walk(state)


def start_walk(state: ViewState) -> None:
    route = state.route
    route.path = path(np.stack(route.waypoints), route.walk_frames, route.slerp)  # (T, D)
    route.along = None  # on a map the update step lifts the path along it instead (walk_along)
    route.frame = route.tick = 0
    set_focus(state, Focus.WALK)
    set_z(state, route.path[:1])


def toggle_walk(state: ViewState) -> None:
    """W: play the walk through the waypoints in the big tile, or stop it."""
    if state.focus == Focus.WALK:
        state.route.path = None
        set_focus(state, Focus.HOVER)
    elif state.focus == Focus.DRAW:
        notify(state, words.WALK_WAITS)
    elif len(state.route.waypoints) < 2:
        notify(state, words.WALK_NEEDS_WAYPOINTS)
    else:
        start_walk(state)


def advance_walk(state: ViewState, every: int) -> None:
    """Once per loop iteration: a playing walk moves on a frame every `every` iterations, looping."""
    route = state.route
    if state.focus != Focus.WALK or route.path is None:
        return
    route.tick += 1
    if route.tick >= every:
        route.tick = 0
        route.frame = (route.frame + 1) % len(route.path)
        set_z(state, route.path[route.frame][None])


def toggle_slerp(state: ViewState) -> None:
    """Walk legs along great circles (the shell where a VAE's latents live) or straight lines."""
    route = state.route
    if not route.variational and not route.slerp:
        notify(state, words.SLERP_IS_VARIATIONAL)
        return
    route.slerp = not route.slerp
    notify(state, words.SLERP_ON if route.slerp else words.SLERP_OFF)
    if state.focus == Focus.WALK:
        start_walk(state)


def set_waypoints(state: ViewState, latents: list[np.ndarray], places: list | None = None) -> None:
    state.route.waypoints, state.route.places = list(latents), list(places or [None] * len(latents))


def walks_on_map(state: ViewState) -> bool:
    """Whether the walk goes along the map: shown on one, every waypoint put on it, straight legs."""
    route = state.route
    on_map = state.view.projection == "map" and not route.slerp and len(route.places) == len(route.waypoints)
    return on_map and all(place is not None for place in route.places)


def walk_along(state: ViewState, along: np.ndarray, latents: np.ndarray) -> None:
    """The update step lifted the walk's straight path on the map, along (T, 2), into latents (T, D)."""
    route = state.route
    route.along, route.path = along, latents
    if state.focus == Focus.WALK:
        set_z(state, latents[route.frame : route.frame + 1])


def set_pins(state: ViewState, a: np.ndarray, b: np.ndarray) -> None:
    state.route.pins = [a, b]


def configure_walks(state: ViewState, frames: int, slerp: bool, variational: bool) -> None:
    """The command line's walk settings, and whether the model has a round prior."""
    route = state.route
    route.walk_frames, route.slerp, route.variational = frames, slerp, variational
