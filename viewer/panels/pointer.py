"""Drawn over everything each frame, not cached: the crosshair under the mouse, and a diamond where the decoded
point is when the crosshair doesn't say (the slider, a prior sample, a walk, a jump, a direction's offset)."""

from __future__ import annotations

import pygame

from latent_common.style import BACKGROUND, CURSOR, PIN


def cursor_rect(pos: tuple[int, int]) -> pygame.Rect:
    return pygame.Rect(pos[0] - 9, pos[1] - 9, 19, 19)


def draw_cursor(screen: pygame.Surface, pos: tuple[int, int]) -> pygame.Rect:
    x, y = pos
    pygame.draw.line(screen, CURSOR, (x - 9, y), (x - 3, y))
    pygame.draw.line(screen, CURSOR, (x + 3, y), (x + 9, y))
    pygame.draw.line(screen, CURSOR, (x, y - 9), (x, y - 3))
    pygame.draw.line(screen, CURSOR, (x, y + 3), (x, y + 9))
    return cursor_rect(pos)


def mark_rect(pos: tuple[int, int]) -> pygame.Rect:
    return pygame.Rect(pos[0] - 8, pos[1] - 8, 17, 17)


def draw_mark(screen: pygame.Surface, pos: tuple[int, int]) -> pygame.Rect:
    """A diamond, so it reads as a point, not a pointer."""
    x, y = pos
    points = [(x, y - 7), (x + 7, y), (x, y + 7), (x - 7, y)]
    pygame.draw.polygon(screen, BACKGROUND, points, 0)
    pygame.draw.polygon(screen, PIN, points, 2)
    return mark_rect(pos)


def mark_position(state, layout, plane) -> tuple[int, int] | None:
    """The screen point of the decoded latent when the crosshair doesn't show it; drawings and pictures have
    their ring on the plot instead."""
    shifted = state.direction.ends is not None and state.direction.steps != 0
    focus = state.focus.value
    if focus in ("draw", "picture") or (focus == "hover" and state.pointer.cursor is not None and not shifted):
        return None
    x, y = layout.to_screen(plane.project(state.z), state.view.bounds)[0]
    return (int(x), int(y)) if layout.plot.collidepoint(int(x), int(y)) else None
