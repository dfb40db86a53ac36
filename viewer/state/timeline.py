"""The timeline's actions: start at the bundle itself, step from snapshot to snapshot, scrub, play."""

from __future__ import annotations

import math

import numpy as np

from viewer.bundle.format import view_bounds
from viewer.explore import equal_scales
from viewer.state.record import ViewState

FRAME_SAMPLE = 16_384  # points R's frame is taken from: a million points' percentiles in ~0.3 ms, not ~30
SNAPSHOTS_PER_S = 2.0  # playing: two snapshots a second, the dots sliding between them (12 snapshots: 6 s)


def configure_timeline(state: ViewState, count: int) -> None:
    """A bundle with `count` snapshots (0: none): the plot starts at the last, the bundle itself."""
    state.timeline.count = count
    state.timeline.position = float(max(count - 1, 0))


def step_timeline(state: ViewState, delta: int) -> None:
    """To the previous (delta -1) or next (+1) snapshot, from a position between two to the nearer end; stops play."""
    timeline = state.timeline
    if not timeline.count:
        return
    here = timeline.position
    target = math.floor(here) if delta < 0 and here != int(here) else math.ceil(here) if delta > 0 else here
    if target == here:
        target = here + delta
    timeline.position = float(min(max(target, 0), timeline.count - 1))
    timeline.playing = False


def scrub(state: ViewState, fraction: float) -> None:
    """The bar dragged to `fraction` (0 to 1) of its length: that position, continuous; stops play."""
    timeline = state.timeline
    if timeline.count:
        timeline.position = min(max(fraction, 0.0), 1.0) * (timeline.count - 1)
        timeline.playing = False


def grab_timeline(state: ViewState, fraction: float) -> None:
    """The mouse went down on the timeline bar: scrub there, and on as it moves until it is let go."""
    scrub(state, fraction)
    state.timeline.dragging = bool(state.timeline.count)


def let_go_timeline(state: ViewState) -> None:
    state.timeline.dragging = False


def toggle_play(state: ViewState) -> None:
    """Play from here to the end (from the start when at the end), or pause."""
    timeline = state.timeline
    if not timeline.count:
        return
    if not timeline.playing and timeline.position >= timeline.count - 1:
        timeline.position = 0.0
    timeline.playing = not timeline.playing


def follow_run(state: ViewState, count: int, homes: dict) -> None:
    """--follow brought a new snapshot: `count` of them now, each projection's home view framing the newest. At
    the end (the newest), the plot moves on to it and its view; scrubbed back, it stays where it was."""
    timeline, view = state.timeline, state.view
    at_end = timeline.position >= timeline.count - 1
    timeline.count = count
    view.homes = homes
    view.home = homes[view.projection].copy() if view.projection in homes else view.home
    if at_end:
        timeline.position = float(max(count - 1, 0))
        view.bounds = view.home.copy()


def hold_timeline(state: ViewState, position: float) -> None:
    """The moment asked for can't be shown (its snapshot's files are gone): back to `position`, the one still shown."""
    state.timeline.position = position
    state.timeline.playing = False
    state.timeline.dragging = False


def frame_moment(state: ViewState, dots: np.ndarray | None) -> None:
    """The update step showed another moment: R will frame its `dots` (N, 2) plot points, with equal scales when
    the home view has them (--axes equal); None: the last snapshot, whose frame is the home view."""
    if dots is None:
        state.timeline.frame = None
        return
    frame = np.asarray(view_bounds(dots[:: max(len(dots) // FRAME_SAMPLE, 1)]), dtype=np.float64)
    home = state.view.home
    square = np.isclose(home[0, 1] - home[0, 0], home[1, 1] - home[1, 0])
    state.timeline.frame = equal_scales(frame) if square else frame


def advance_timeline(state: ViewState, seconds: float) -> None:
    """Playing: move on by `seconds` of play; stop at the end (the bundle itself)."""
    timeline = state.timeline
    if timeline.playing:
        timeline.position = min(timeline.position + seconds * SNAPSHOTS_PER_S, timeline.count - 1.0)
        timeline.playing = timeline.position < timeline.count - 1
