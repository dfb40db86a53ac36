"""What a panel is: a slot in the layout, a key, and a build.

The scene (scene.py) asks each panel for its key every frame and rebuilds the panel only when the key changed,
like matplotlib's blitting BlitManager; nothing else has to say that a panel is stale.
"""

from __future__ import annotations

import pygame


class Panel:
    """One part of the window.

    name: how the scene and other panels find it. layer: "back" panels are composed into the cached background
    (redrawn whole when one changes); "front" panels are blitted over it every drawn frame, in list order;
    "overlay" panels (the help) over everything, the window drawn whole while one shows.
    slot(state): where it goes, or None while it isn't shown. key(state): a value that changes exactly when
    what the panel shows must. build(state): the surface, the slot's size.
    """

    name = "panel"
    layer = "front"

    def __init__(self, scene):
        self.scene = scene  # the layout, fonts, models, other panels, and `say` for notices
        self.surface: pygame.Surface | None = None
        self.built_from = None  # the key the surface was built for
        self.rect: pygame.Rect | None = None  # its slot when it was built; None while not shown
        self.drawn: pygame.Rect | None = None  # where the scene last drew it
        self.builds = 0  # how many times it was built (tests check that an unchanged key builds nothing)

    def advance(self, state) -> None:
        """Work done a slice a frame, before the key is asked for (the manifold map's decodes)."""

    def slot(self, state) -> pygame.Rect | None:
        raise NotImplementedError

    def key(self, state):
        raise NotImplementedError

    def build(self, state) -> pygame.Surface:
        raise NotImplementedError
