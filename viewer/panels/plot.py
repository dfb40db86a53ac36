"""The plot: axes in latent units, the title and axis labels, the key strip, the manifold map, and one dot (or,
zoomed in, one image) per test image. The first panel of the background, the size of the window."""

from __future__ import annotations

import numpy as np
import pygame

from latent_common.style import AXIS, BACKGROUND, DIM_TEXT, GRID, PANEL, TEXT, class_color, nice_ticks
from viewer import dots, words
from viewer.explore import grid_centres
from viewer.gesture import Glide
from viewer.inference import ModelRunError
from viewer.layout import Layout
from viewer.manifold import MapJob, pan_shift, view_key
from viewer.panels.base import Panel
from viewer.panels.paint import image_surface, map_surface
from viewer.text import Keep, blit_text, fit
from viewer.thumbs import ThumbCache

TITLE_SLACK = 12  # the title may run this far past the plot's right edge, no further


class Maps:
    """The manifold map (G): decoded a slice a frame for the settled view; the last finished one is kept and
    shifted under a pan it hasn't caught up with."""

    def __init__(self):
        self.job: MapJob | None = None  # being decoded
        self.done: MapJob | None = None  # the last finished, whose tiles are `tiles`
        self.tiles: pygame.Surface | None = None
        self.failed: tuple | None = None  # the view a map failed for: not tried again there

    def advance(self, state, models, plot_size) -> str | None:
        """Start a map when one is due, and decode its next slice; returns why the decoder failed, if it did."""
        view = state.view
        if not view.show_map:
            self.job = self.failed = None
            return None
        key = view_key(view.bounds, view.offsets)
        due = (self.done is None or self.done.key != key) and key != self.failed and not state.pointer.panning
        if due and (self.job is None or self.job.key != key):
            centres = grid_centres(view.bounds, models.map_grid)
            self.job = MapJob(models.plane.lift(centres, view.offsets), view.bounds, view.offsets)
        if self.job is None:
            return None
        try:
            self.job.advance(models.decoder)
        except ModelRunError as exc:
            self.job, self.failed = None, key
            return str(exc)
        if self.job.done:
            self.tiles = map_surface(self.job.images(), models.map_grid, plot_size)
            self.done, self.job = self.job, None
        return None

    def under(self, state, plot_size) -> tuple[pygame.Surface | None, tuple[int, int]]:
        """The tiles to draw under the dots for this view, and their shift (a zoom or new offsets: none)."""
        view = state.view
        if not view.show_map or self.done is None or not np.array_equal(self.done.offsets, view.offsets):
            return None, (0, 0)
        if self.done.key == view_key(view.bounds, view.offsets):
            return self.tiles, (0, 0)
        shift = pan_shift(self.done.view, view.bounds, plot_size)
        return (self.tiles, shift) if shift is not None else (None, (0, 0))


class PlotPanel(Panel):
    name, layer = "plot", "back"

    def __init__(self, scene):
        super().__init__(scene)
        bundle = scene.models.bundle
        self.maps = Maps()
        self.thumbs = ThumbCache(bundle.images_chw, image_surface)  # zoomed in: images for dots
        self.placed: np.ndarray | None = None  # the points drawn as their images, None while they are dots
        self.words: dict[str, words.PlotText] = {}  # by projection: its title and axis labels
        self.previewing = False  # the key asked for a preview
        self.glide = Glide()  # zooming or panning: the last exact picture scaled, until the view settles

    def slot(self, state) -> pygame.Rect:
        return pygame.Rect((0, 0), self.scene.layout.size)

    def advance(self, state) -> None:
        error = self.maps.advance(state, self.scene.models, self.scene.layout.plot.size)
        if error:
            self.scene.map_error = error  # the loop turns the map off, saying why
        self.glide.advance(state.view.bounds, state.pointer.panning)

    def key(self, state):
        view = state.view
        tiles, shift = self.maps.under(state, self.scene.layout.plot.size)
        rest = _rest(state)
        self.previewing = self.glide.previewing(view.bounds, rest) and not self._exact_ready(state)
        if self.previewing:
            return "preview", view.bounds.tobytes()
        return *rest, view.bounds.tobytes(), id(tiles), shift

    def _exact_ready(self, state) -> bool:
        """The view has settled, and a large embedding's dots are binned for it (a slice a frame)."""
        if not self.glide.settled():
            return False
        models, view = self.scene.models, state.view
        if state.anomaly.on or len(models.points) <= dots.SPRITE_LIMIT:
            return True
        size = self.scene.layout.plot.size
        return self.glide.coverage(models.points, models.bundle.labels, view.bounds, size, view.hidden) is not None

    def build(self, state) -> pygame.Surface:
        layout, models, view = self.scene.layout, self.scene.models, state.view
        text = self.words.setdefault(models.projection, words.plot_words(models))
        if self.previewing:
            return preview_surface(layout, view.bounds, self.scene.fonts, text, self.glide.preview(view.bounds, PANEL))
        tiles, shift = self.maps.under(state, layout.plot.size)
        visible = models.visible(state.view.hidden)
        labels, colors, rows, hidden = models.bundle.labels, None, None, state.view.hidden
        points = models.points
        if state.anomaly.on:  # the visible dots by error bin
            scale = models.error_scale()
            keep = visible if visible is not None else slice(None)
            points, labels, colors = points[keep], scale.bins[keep], scale.colors
            rows, hidden, visible = (np.flatnonzero(visible) if visible is not None else None), frozenset(), None
        self.placed = self.thumbs.placed(points, view.bounds, layout.plot.size, visible)
        job = self.glide.job  # the dots binned a slice a frame while the view settled, if they were
        covered = job.result if job is not None and job.matches(points, view.bounds, layout.plot.size, hidden) else None
        surface = scatter_surface(layout, view.bounds, points, labels, hidden, self.scene.fonts, text,
                                  tiles, shift, colors, self.thumbs, self.placed, rows, covered)  # fmt: skip
        self.glide.remember(surface.subsurface(layout.plot), view.bounds, _rest(state))
        return surface


def _rest(state) -> tuple:
    """What the plot shows besides its view: a change here can't be previewed from the last picture."""
    view = state.view
    return (
        view.projection,
        view.offsets.tobytes(),
        view.hidden,
        state.anomaly.on,
        state.timeline.position,
        state.timeline.count,
    )


def preview_surface(layout: Layout, view: np.ndarray, fonts, text: words.PlotText,
                    pixels: pygame.Surface) -> pygame.Surface:  # fmt: skip
    """The plot's frame, axes and ticks for `view` around `pixels`, a preview of its inside (gesture.Glide)."""
    surface = pygame.Surface(layout.size).convert()
    surface.fill(BACKGROUND)
    plot_text(surface, layout, text, fonts)
    surface.blit(pixels, layout.plot)
    _ticks(surface, layout, view, fonts["small"])
    pygame.draw.rect(surface, AXIS, layout.plot, width=1)
    return surface


def plot_text(surface: pygame.Surface, layout: Layout, text: words.PlotText, fonts) -> None:
    """The title over the plot, the axis labels, and the longest key strip that fits the footer."""
    plot, font = layout.plot, fonts["text"]
    title = pygame.Rect(plot.left, plot.top - 22, plot.width + TITLE_SLACK, 20)
    blit_text(surface, font, text.title, title, TEXT)
    blit_text(surface, font, text.x_label, pygame.Rect(plot.left, plot.bottom + 24, plot.width, 18), TEXT,
              align="center")  # fmt: skip
    y_label = pygame.transform.rotate(fit(font, text.y_label, plot.height, TEXT), 90)
    surface.blit(y_label, y_label.get_rect(midleft=(6, plot.centery)))
    strip = next((k for k in text.keys if fonts["small"].size(k)[0] <= layout.footer.width), text.keys[-1])
    blit_text(surface, fonts["small"], strip, layout.footer, DIM_TEXT)


def _ticks(surface: pygame.Surface, layout: Layout, view: np.ndarray, font) -> None:
    plot = layout.plot
    (x_low, x_high), (y_low, y_high) = view
    for value in nice_ticks(x_low, x_high):
        x = int(layout.to_screen(np.array([[value, y_low]]), view)[0, 0])
        pygame.draw.line(surface, GRID, (x, plot.top), (x, plot.bottom - 1))
        pygame.draw.line(surface, AXIS, (x, plot.bottom), (x, plot.bottom + 4))
        blit_text(surface, font, f"{value:g}", pygame.Rect(x - 40, plot.bottom + 6, 80, 14), DIM_TEXT, Keep.END,
                  align="center")  # fmt: skip
    for value in nice_ticks(y_low, y_high):
        y = int(layout.to_screen(np.array([[x_low, value]]), view)[0, 1])
        pygame.draw.line(surface, GRID, (plot.left, y), (plot.right - 1, y))
        pygame.draw.line(surface, AXIS, (plot.left - 5, y), (plot.left - 1, y))
        box = pygame.Rect(22, y - 7, plot.left - 30, 14)  # right of the rotated y label
        blit_text(surface, font, f"{value:g}", box, DIM_TEXT, Keep.END, align="right")


def scatter_surface(layout: Layout, view: np.ndarray, points: np.ndarray, labels: np.ndarray,
                    hidden: frozenset[int], fonts, text: words.PlotText, tiles: pygame.Surface | None = None,
                    shift: tuple[int, int] = (0, 0), colors: list | None = None, thumbs: ThumbCache | None = None,
                    placed: np.ndarray | None = None, rows: np.ndarray | None = None,
                    covered: tuple | None = None) -> pygame.Surface:  # fmt: skip
    """Axes with ticks in latent units and their labels, the manifold map if any (shifted by a pan it hasn't
    caught up with), and one dot per visible embedded image, coloured by its label: its class, or with
    `colors` (one per label value) any other scale, such as the anomaly view's error bins. `placed` (rows of
    `points` that ThumbCache.placed found room for) draws those points as their test images from `thumbs`
    instead of dots; `rows` maps points to the bundle's images when `points` is a subset of them. `covered`: the
    dots' coverage when it was binned already (gesture.CoverageJob)."""
    colors = colors or [class_color(index) for index in range(int(labels.max()) + 1 if len(labels) else 1)]
    surface = pygame.Surface(layout.size).convert()
    surface.fill(BACKGROUND)
    plot = layout.plot
    plot_text(surface, layout, text, fonts)
    pygame.draw.rect(surface, PANEL, plot)
    if tiles is not None:
        surface.set_clip(plot)
        surface.blit(tiles, plot.move(shift))
        surface.set_clip(None)
    _ticks(surface, layout, view, fonts["small"])
    if thumbs is not None and placed is not None:
        draw_thumbnails(surface, layout, view, points[placed], labels[placed],
                        placed if rows is None else rows[placed], thumbs, colors)  # fmt: skip
    elif len(points) > dots.SPRITE_LIMIT:  # a large embedding: one numpy raster of the dots, not a blit each
        pixels = surface.subsurface(plot)
        under = _plot_pixels(pixels, (tuple(plot), view.tobytes(), shift), tiles)
        pygame.surfarray.blit_array(pixels, dots.blend(under, points, labels, view, hidden, colors, covered))
    else:
        _dot_sprites_drawn(surface, layout, view, points, labels, hidden, colors)
    pygame.draw.rect(surface, AXIS, plot, width=1)
    return surface


_UNDER: list = []  # [(key, tiles, pixels)]: the plot's pixels under the dots, as last read


def _plot_pixels(pixels: pygame.Surface, key: tuple, tiles: pygame.Surface | None) -> np.ndarray:
    """The plot's pixels (W, H, 3) before the dots are drawn: read once for a view, its map tiles and their shift,
    since the timeline redraws the dots over the same ones every frame (1.5 ms a read at 532x532)."""
    if not _UNDER or _UNDER[0][0] != key or _UNDER[0][1] is not tiles:
        _UNDER[:] = [(key, tiles, pygame.surfarray.array3d(pixels))]
    return _UNDER[0][2]


def _dot_sprites(colors: list, radius: int = 2, alpha: int = 170) -> list[pygame.Surface]:
    sprites = []
    for color in colors:
        sprite = pygame.Surface((2 * radius + 1, 2 * radius + 1), pygame.SRCALPHA)
        pygame.draw.circle(sprite, (*color, alpha), (radius, radius), radius)
        sprites.append(sprite)
    return sprites


def _dot_sprites_drawn(surface, layout: Layout, view, points, labels, hidden, colors) -> None:
    plot, sprites = layout.plot, _dot_sprites(colors)
    offset = sprites[0].get_width() // 2
    screen = layout.to_screen(points, view) - offset
    keep = (
        (screen[:, 0] > plot.left - 2 * offset)
        & (screen[:, 0] < plot.right)
        & (screen[:, 1] > plot.top - 2 * offset)
        & (screen[:, 1] < plot.bottom)
    )
    if hidden:
        keep &= ~np.isin(labels, list(hidden))
    surface.set_clip(plot)
    surface.blits(
        [(sprites[label], (x, y)) for (x, y), label in zip(screen[keep].tolist(), labels[keep].tolist())],
        doreturn=False,
    )
    surface.set_clip(None)


def draw_thumbnails(surface: pygame.Surface, layout: Layout, view: np.ndarray, points: np.ndarray,
                    labels: np.ndarray, rows: np.ndarray, thumbs: ThumbCache, colors: list) -> None:  # fmt: skip
    """Each point's test image centred on it, framed in its dot's colour, clipped to the plot."""
    surface.set_clip(layout.plot)
    for (x, y), label, row in zip(layout.to_screen(points, view).tolist(), labels.tolist(), rows.tolist()):
        thumb = thumbs.get(row)
        frame = thumb.get_rect(center=(x, y))
        surface.blit(thumb, frame)
        pygame.draw.rect(surface, colors[label], frame.inflate(4, 4), width=2)
    surface.set_clip(None)
