"""The big tile: the image decoded at the point (the one decode a frame), or the drawing or picture."""

from __future__ import annotations

import time

import numpy as np
import pygame

from viewer.panels.base import Panel
from viewer.panels.paint import ImageTile

FADE_FROM = 3.0  # dot spacings: within it the decode is a blend of near dots, as good as at a dot (docs/maps.md)


class TilePanel(Panel):
    name = "tile"

    def __init__(self, scene):
        super().__init__(scene)
        chw, size = scene.models.bundle.chw, scene.layout.tile.size
        self.decoded_tile, self.canvas_tile = ImageTile(chw, size), ImageTile(chw, size)
        self.image: np.ndarray | None = None  # (C, H, W): the last decode

    def slot(self, state) -> pygame.Rect:
        return self.scene.layout.tile

    def key(self, state):
        if state.focus.value in ("draw", "picture"):
            return "canvas", state.canvas.image.tobytes()
        if state.focus.value == "walk" and self.scene.walk_images(state) is not None:
            return "walk", id(state.route.path), state.route.frame
        grid = self.scene.models.grid
        if self._from_grid(state):
            return "grid", grid.version, state.pointer.uv.tobytes()
        return "decode", state.z.tobytes(), fade(state.pointer.gap), state.timeline.position

    def _from_grid(self, state) -> bool:
        """--precompute: hover is answered from the decoded lattice (a direction's offset needs a real decode)."""
        grid = self.scene.models.grid
        hovering = state.focus.value == "hover" and not state.direction.steps
        return grid is not None and grid.images is not None and hovering

    def build(self, state) -> pygame.Surface:
        if state.focus.value in ("draw", "picture"):
            return self.canvas_tile.update(state.canvas.image)
        started = time.perf_counter_ns()
        if state.focus.value == "walk" and self.scene.walk_images(state) is not None:
            self.image = self.scene.walk_images(state)[state.route.frame]  # decoded when the walk started
        elif self._from_grid(state):
            self.image = self.scene.models.grid(state.pointer.uv)
        else:
            self.image = self.scene.decode(state.z)[0]
        self.scene.stats.decoded((time.perf_counter_ns() - started) / 1000)
        shade = fade(state.pointer.gap) if state.focus.value == "hover" else 1.0
        return self.decoded_tile.update(self.image if shade == 1.0 else self.image * shade)


def fade(gap: float) -> float:
    """How bright the decode is drawn at `gap` dot spacings from the data on a map: whole near the dots, dimmer
    past a few (there the lift blends far dots, then the mean latent), never below a quarter: it is still shown."""
    return 1.0 if gap < FADE_FROM else round(max(FADE_FROM / gap, 0.25), 2)
