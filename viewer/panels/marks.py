"""What is marked on the plot: the pins A and B, the walk's path and waypoints, a feature direction's arrow, and
the ring where an encoded drawing or picture lands. A transparent layer over the plot, in the background."""

from __future__ import annotations

import numpy as np
import pygame

from latent_common.style import BACKGROUND, DRAWN, PIN, TEXT, WALK
from viewer.panels.base import Panel
from viewer.state import walks_on_map
from viewer.text import outlined
from viewer.walk import path

ROUTE_STEPS = 16  # points per leg of the walk's path drawn on the scatter: a great circle's curve looks smooth
LABEL_WIDTH = 140  # pixels a class name at an arrow's end may take


class MarksPanel(Panel):
    name, layer = "marks", "back"

    def slot(self, state) -> pygame.Rect:
        return self.scene.layout.plot

    def key(self, state):
        route, direction, marker = state.route, state.direction, state.canvas.marker
        return (
            state.view.projection,
            state.view.bounds.tobytes(),
            state.view.offsets.tobytes(),  # the plane's point for a latent moves with them
            tuple(p.tobytes() for p in route.pins),
            tuple(w.tobytes() for w in route.waypoints),
            walks_on_map(state),  # with M, or L: the path is drawn the other way
            route.slerp,
            direction.classes,
            None if marker is None else marker.tobytes(),
        )

    def build(self, state) -> pygame.Surface:
        layout, plane, fonts = self.scene.layout, self.scene.models.plane, self.scene.fonts
        plot = layout.plot
        surface = pygame.Surface(plot.size, pygame.SRCALPHA)
        bounds = state.view.bounds

        def screen(points) -> np.ndarray:  # plane points (N, 2) -> this surface's pixels
            return layout.to_screen(np.asarray(points).reshape(-1, 2), bounds) - np.array(plot.topleft)

        route = state.route
        pins = screen(plane.project(np.stack(route.pins))) if route.pins else []
        if len(pins) == 2:
            pygame.draw.line(surface, PIN, pins[0], pins[1], 2)
        for (x, y), name in zip(pins, "AB"):
            pygame.draw.circle(surface, PIN, (x, y), 5)
            outlined(surface, fonts["text"], name, PIN, (x + 7, y - 16), 20, BACKGROUND)
        if route.waypoints:
            on_map = walks_on_map(state)  # then the walk goes straight on the map, its waypoints where they were put
            walk_path(surface, fonts["small"], route, plane, screen, on_map)
        if state.direction.classes is not None:  # the arrow from one class's mean latent to the other's, projected
            names = tuple(self.scene.models.bundle.class_names[c] for c in state.direction.classes)
            arrow(surface, screen(plane.project(state.direction.ends)), names, fonts["small"])
        if state.canvas.marker is not None:
            x, y = screen(state.canvas.marker)[0]
            pygame.draw.circle(surface, DRAWN, (x, y), 8, width=3)
        return surface


def walk_path(surface: pygame.Surface, font, route, plane, screen, on_map: bool = False) -> None:
    """The path as walked, projected (a great circle's leg is a curve on the plot), its waypoints numbered; on a
    map, the straight path on the map between the places the waypoints were put."""
    waypoints = np.stack(route.waypoints)
    if on_map:
        points = screen(np.stack(route.places))
        line = points
    else:
        points = screen(plane.project(waypoints))
        line = screen(plane.project(path(waypoints, ROUTE_STEPS, route.slerp))) if len(waypoints) > 1 else points
    if len(line) > 1:
        pygame.draw.lines(surface, WALK, False, line.tolist(), 2)
    for number, (x, y) in enumerate(points.tolist(), start=1):
        pygame.draw.circle(surface, WALK, (x, y), 4)
        outlined(surface, font, str(number), WALK, (x + 6, y + 2), 30, BACKGROUND)


def arrow(surface: pygame.Surface, ends: np.ndarray, names: tuple[str, str], font) -> None:
    """An arrow from ends[0] to ends[1] (pixels), each end named, outlined so it reads over any dots."""
    start, end = (np.asarray(p, dtype=np.float64) for p in ends)
    length = float(np.hypot(*(end - start)))
    if length >= 1:
        along = (end - start) / length
        across = np.array([-along[1], along[0]])
        head = min(12.0, length / 2)
        wings = [end, end - head * along + head / 2 * across, end - head * along - head / 2 * across]
        for colour, width in ((BACKGROUND, 5), (TEXT, 2)):
            pygame.draw.line(surface, colour, start.tolist(), (end - head * along).tolist(), width)
            pygame.draw.polygon(surface, colour, [p.tolist() for p in wings], 0 if width == 2 else 3)
    for (x, y), name in zip(ends.tolist(), names):
        pygame.draw.circle(surface, TEXT, (x, y), 3)
        outlined(surface, font, name, TEXT, (x + 6, y - 16), LABEL_WIDTH, BACKGROUND)
