"""The cached surfaces of one window layout: each panel rebuilt only when its key changes.

Like matplotlib's blitting `BlitManager`: the frame loop calls `refresh` and `draw`; the scene decides what
is stale by asking each panel for its key. Adding a panel is a file in viewer/panels/ and a line in PANELS.
"""

from __future__ import annotations

import numpy as np
import pygame

from viewer.explore import nearest
from viewer.inference import ModelRunError
from viewer.layout import Layout
from viewer.models import Models
from viewer.panels.base import Panel
from viewer.panels.captions import CaptionsPanel
from viewer.panels.help import HelpPanel
from viewer.panels.hud import HudPanel
from viewer.panels.legend import LegendPanel
from viewer.panels.marks import MarksPanel
from viewer.panels.plot import PlotPanel
from viewer.panels.pointer import cursor_rect, draw_cursor, draw_mark, mark_position, mark_rect
from viewer.panels.side import SidePanel
from viewer.panels.strip import StripPanel
from viewer.panels.tile import TilePanel
from viewer.panels.timeline import TimelinePanel
from viewer.panels.traversal import TraversalPanel
from viewer.spatial import INDEX_MIN_POINTS
from viewer.state import ViewState
from viewer.stats import FrameStats

# Drawn in this order: the background panels composed once, the front ones over them every drawn frame.
PANELS: list[type[Panel]] = [
    PlotPanel,
    LegendPanel,
    MarksPanel,
    CaptionsPanel,
    TilePanel,
    SidePanel,
    StripPanel,
    HudPanel,
    TimelinePanel,
    TraversalPanel,
    HelpPanel,
]


class Scene:
    def __init__(self, layout: Layout, fonts: dict, models: Models, stats: FrameStats):
        self.layout, self.fonts, self.models, self.stats = layout, fonts, models, stats
        self.fps = stats.fps()  # the HUD's frame rate, refreshed by the loop twice a second
        self.panels: list[Panel] = [kind(self) for kind in PANELS]
        self.background: pygame.Surface | None = None  # the back panels composed
        self.notices: list[str] = []  # said by panels while building, handed to the loop
        self.map_error: str | None = None  # why the manifold map's decoder failed: the loop turns the map off
        self.walk: tuple = (None, None)  # (the walk's path, its decodes)
        self.near: tuple = (None, None)  # ((z, hidden, k), the nearest test images)
        self.recomposed = True  # the background changed: the next frame is drawn whole
        self.changed: list[Panel] = []  # rebuilt or hidden since the last draw
        self.by_name = {panel.name: panel for panel in self.panels}
        self.layers = {layer: [p for p in self.panels if p.layer == layer] for layer in ("back", "front", "overlay")}
        self.advancing = [panel for panel in self.panels if type(panel).advance is not Panel.advance]
        self.drawn_at: tuple = (None, None, None)  # (cursor, mark, exposures) as last drawn

    def panel(self, name: str) -> Panel:
        return self.by_name[name]

    def say(self, text: str) -> None:
        self.notices.append(text)

    def refresh(self, state: ViewState, models: Models) -> list[str]:
        """Rebuild each panel whose key changed (at most one decode for the point), recompose the background if
        one of its panels did; returns the notices the panels had."""
        for panel in self.advancing:
            panel.advance(state)
        for panel in self.panels:
            rect = panel.slot(state)
            key = None if rect is None else (rect, panel.key(state))
            if key != panel.built_from:
                panel.surface, panel.rect = (None if rect is None else panel.build(state)), rect
                panel.built_from, panel.builds = key, panel.builds + (rect is not None)
                self.changed.append(panel)
        if self.background is None or any(panel.layer == "back" for panel in self.changed):
            self.background = pygame.Surface(self.layout.size).convert()
            for panel in self.layers["back"]:
                if panel.surface is not None:
                    self.background.blit(panel.surface, panel.rect)
            self.recomposed = True
        notices, self.notices = self.notices, []
        return notices

    def draw(self, screen: pygame.Surface, state: ViewState) -> list[pygame.Rect]:
        """Draw what changed since the last frame; returns the rects to update (none when nothing did).

        A full frame blits the whole background (start, resize, expose, view change, the help); a hover frame
        restores only the old crosshair and mark, then blits the front panels, a fraction of the pixels."""
        cursor, mark = state.pointer.cursor, mark_position(state, self.layout, self.models.plane)
        now = (cursor, mark, state.exposed)
        if not self.changed and not self.recomposed and now == self.drawn_at:
            return []
        overlays = [panel for panel in self.layers["overlay"] if panel.surface is not None]
        full = self.recomposed or state.exposed != self.drawn_at[2] or overlays or self._overlay_closed()
        last_cursor, last_mark = self.drawn_at[:2]
        if full:
            screen.blit(self.background, (0, 0))
            dirty = [screen.get_rect()]
        else:
            dirty = [cursor_rect(last_cursor)] if last_cursor is not None else []
            dirty += [mark_rect(last_mark)] if last_mark is not None else []
            dirty += [panel.drawn for panel in self.changed if panel.surface is None and panel.drawn is not None]
            for rect in dirty:  # what moved away, and panels that closed, show the background again
                screen.blit(self.background, rect, rect)
        for panel in self.layers["front"]:
            if panel.surface is not None:
                panel.drawn = panel.rect
                screen.blit(panel.surface, panel.rect)
                dirty.append(panel.rect)
        screen.set_clip(self.layout.plot)
        if mark is not None:
            dirty.append(draw_mark(screen, mark))
        if cursor is not None:
            dirty.append(draw_cursor(screen, cursor))
        screen.set_clip(None)
        for panel in overlays:  # over everything, the crosshair too
            screen.blit(panel.surface, panel.rect)
        self.drawn_at, self.recomposed, self.changed = now, False, []
        return dirty

    def _overlay_closed(self) -> bool:
        """An overlay went away since the last frame: what it covered is drawn whole again."""
        return any(panel.layer == "overlay" and panel.surface is None for panel in self.changed)

    # What several panels draw from, computed once --------------------------------------------------------------

    def decode(self, latents: np.ndarray) -> np.ndarray:
        """Decode, or NaN images (drawn crossed out) and a notice when the model fails at run time."""
        try:
            return self.models.decoder(latents)
        except ModelRunError as exc:
            self.say(str(exc))
            return np.full((len(latents), *self.models.bundle.chw), np.nan, dtype=np.float32)

    def walk_images(self, state: ViewState) -> np.ndarray | None:
        """(T, C, H, W) every frame of the walk playing, in one batched decode; playing it then decodes nothing."""
        path = state.route.path
        if path is None:
            return None
        if self.walk[0] is not path:
            self.walk = (path, self.decode(path))
        return self.walk[1]

    def nearest(self, state: ViewState, count: int) -> np.ndarray:
        """The test images nearest the point, among the shown classes."""
        on_plot = state.view.near_on_plot and self.models.plane.dim > 2
        where = plot_place(state, self.models.plane) if on_plot else None
        # an earlier moment's neighbours are its own latents' (by snapshot: the dots sliding between two don't move z)
        moment = self.models.timeline.earlier() if self.models.timeline is not None else None
        key = (state.z.tobytes(), state.view.hidden, count, moment, on_plot, state.view.projection,
               None if where is None else where.tobytes())  # fmt: skip
        if self.near[0] != key:
            models, visible = self.models, self.models.visible(state.view.hidden)
            large, timeline = len(models.bundle.z) > INDEX_MIN_POINTS, models.timeline
            if moment is not None and timeline.moving and large and self.near[0]:
                return self.near[1]  # a full scan of a large moment's latents: once the timeline rests there
            then = timeline.latents() if timeline is not None else None
            if on_plot:  # N: nearest on the plot (a map has its grid over the dots; the plane, a full scan)
                grid = getattr(models.plane, "index", None)
                found = grid.nearest(where, count, visible) if grid else nearest(models.points, where, count, visible)
            elif then is not None:  # an earlier moment of training: its own latents, a full scan
                found = nearest(then, state.z[0], count, visible)
            elif models.index is not None:  # many points: the index gives the same answer, looking at a few thousand
                found = models.index.nearest(state.z[0], count, visible)
            else:
                found = nearest(models.bundle.z, state.z[0], count, visible)
            self.near = (key, found)
        return self.near[1]


def plot_place(state: ViewState, plane) -> np.ndarray:
    """(2,) where the decoded point sits on the plot: the cursor's place when it drives the decode, else z's."""
    if state.focus.value == "hover" and not state.direction.steps:
        return np.asarray(state.pointer.uv, dtype=np.float64)
    return plane.project(state.z)[0]
