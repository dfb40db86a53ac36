"""The update step of the frame loop: state derived by inference, between input and drawing.

The plot's projection the view asks for, an encoded drawing or picture, the anomaly view's worst list, the
precomputed lattice for a settled view. It changes the state through its actions only, and returns the notices
it has for the HUD.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from viewer import words
from viewer.bundle import BundleError
from viewer.inference import ModelRunError
from viewer.models import Models
from viewer.normalise import light_on_dark, like_mnist
from viewer.state import (
    ViewState,
    accept_encoding,
    drop_marker,
    encodes_canvas,
    frame_moment,
    hold_timeline,
    refresh_latent,
    set_gap,
    show_worst,
    walk_along,
    walks_on_map,
)
from viewer.walk import path


@dataclass(frozen=True)
class Encoding:
    """What the encoder and decoder made of the canvas."""

    z: np.ndarray  # (1, D) float32
    marker: np.ndarray | None  # (2,) where it lands on the plot; None for a blank canvas
    seen: np.ndarray | None  # (C, H, W) the canvas as the encoder took it, when normalised like MNIST
    rebuilt: np.ndarray  # (C, H, W) the decoder's answer
    error: float | None  # mean squared error between them; None for a blank canvas or a NaN answer


def update(state: ViewState, models: Models) -> list[str]:
    """Bring what is derived from the input up to date; returns the notices to show."""
    notices: list[str] = []
    if models.use(state.view.projection):  # M switched between the map and the PCA plane: z from the new one
        refresh_latent(state, models.plane)
    if models.timeline is not None and show_moment(state, models, notices):
        refresh_latent(state, models.plane)  # another moment of training: its plot, its decoder
    route = state.route
    if state.focus.value == "walk" and route.along is None and walks_on_map(state):  # along the map, lifted
        along = path(np.stack(route.places), route.walk_frames)  # (T, 2): straight on the map
        walk_along(state, along, models.plane.lift_path(along))
    gap = hover_gap(state, models)
    if gap != state.pointer.gap:
        set_gap(state, gap)
    canvas = state.canvas
    if encodes_canvas(state) and canvas.source is not canvas.image:
        encoding = encode(canvas.image, state.focus.value == "picture", models, notices)
        if encoding is None:
            drop_marker(state, tried=canvas.image)  # not tried again until the canvas changes
        else:
            accept_encoding(state, encoding)
    elif not encodes_canvas(state) and canvas.source is not None:
        drop_marker(state)
    if state.anomaly.on and not encodes_canvas(state):  # a class hidden or shown: the worst list follows
        worst = models.worst(state.view.hidden)
        if worst != state.anomaly.worst:
            show_worst(state, worst)
    grid = models.grid
    if grid is not None and not state.pointer.panning and not grid.fresh(state.view.bounds, state.view.offsets):
        try:
            grid.refresh(models.plane, state.view.bounds, state.view.offsets)
        except ModelRunError as exc:
            notices.append(str(exc))
    return notices


def show_moment(state: ViewState, models: Models, notices: list[str]) -> bool:
    """Point the models at the timeline's position; whether they changed. A snapshot that can't be opened (a
    followed run's folder deleted) is a notice, and the timeline goes back to the moment still shown."""
    timeline = models.timeline
    try:
        moved = timeline.show(models, state.timeline.position)
    except BundleError as exc:
        gone = not timeline.timeline.decoders[int(round(state.timeline.position))].exists()
        kept = timeline.shown if timeline.shown is not None else len(timeline) - 1.0
        hold_timeline(state, kept)
        step = timeline.timeline.info.snapshots[int(round(kept))]["step"]
        notices.append((words.SNAPSHOT_GONE if gone else words.SNAPSHOT_REFUSED).format(reason=exc, step=step))
        return False
    if moved:
        frame_moment(state, timeline.dots(models))
    return moved


def hover_gap(state: ViewState, models: Models) -> float:
    """On a map, the cursor's distance to the nearest dot in dot spacings, to 0.1 (the tile fades past a few,
    where the decode blends far dots); 0 on a plane, where every point is a real latent."""
    return models.gap(np.asarray(state.pointer.uv, dtype=np.float64)) if state.focus.value == "hover" else 0.0


def encode(image: np.ndarray, picture: bool, models: Models, notices: list[str]) -> Encoding | None:
    """Encode the canvas (C, H, W), normalised first as MNIST's images were for a model that expects it, and
    decode its latent: the one encode of a changed canvas."""
    seen = None
    if words.sees_like_mnist(models.bundle):
        inverted = False
        if picture:
            image_in, inverted = light_on_dark(image)
            if inverted:
                notices.append(words.INVERTED)
        seen = like_mnist(image_in if picture else image)
    taken = image if seen is None else seen
    try:
        z = models.encoder(taken[None])  # (1, D)
        rebuilt = models.decoder(z)[0]  # (C, H, W)
    except ModelRunError as exc:
        notices.append(str(exc))
        return None
    drawn = bool(image.any())
    error = float(np.mean((rebuilt - taken) ** 2)) if drawn and np.isfinite(rebuilt).all() else None
    return Encoding(z, models.plane.project(z)[0] if drawn else None, seen, rebuilt, error)
