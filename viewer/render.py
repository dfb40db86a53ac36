"""Drawing: the scatter (rendered once per view), the panel, and each frame's changes.

This is the only module that turns numpy arrays into pygame surfaces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pygame

from latent_common.style import (
    AXIS,
    BACKGROUND,
    CURSOR,
    DIM_TEXT,
    DRAWN,
    GRID,
    PANEL,
    PIN,
    TEXT,
    WALK,
    WARN,
    class_color,
    nice_ticks,
)
from viewer import dots
from viewer.layout import CAPTION, STRIP_COUNT, TRAVERSAL_LABEL, Layout
from viewer.thumbs import ThumbCache

# Ink palette for 8-bit digit surfaces: dark blue-black paper to warm white ink.
INK = [(int(18 + 237 * t), int(20 + 230 * t), int(28 + 212 * t**1.2)) for t in np.linspace(0, 1, 256)]
MARGIN_TITLE = 12  # the title may run this far past the plot's right edge, no further
MAP_ALPHA = 150  # the manifold map sits under the dots, dimmed so the colours still read


def _dot_sprites(colors: list, radius: int = 2, alpha: int = 170) -> list[pygame.Surface]:
    sprites = []
    for color in colors:
        sprite = pygame.Surface((2 * radius + 1, 2 * radius + 1), pygame.SRCALPHA)
        pygame.draw.circle(sprite, (*color, alpha), (radius, radius), radius)
        sprites.append(sprite)
    return sprites


def _pixels(images: np.ndarray) -> np.ndarray:
    """Floats in [0, 1] (NaN as 0) -> uint8, rounded."""
    return (np.clip(np.nan_to_num(images, nan=0.0), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def image_surface(image: np.ndarray, size: tuple[int, int]) -> pygame.Surface:
    """(C, H, W) floats in [0, 1] -> a surface scaled to size with sharp pixels: grey through the ink
    palette, colour as it is."""
    pixels = _pixels(image)
    if pixels.shape[0] == 1:
        small = pygame.surfarray.make_surface(np.ascontiguousarray(pixels[0].T))  # surfarray is (x, y)
        small.set_palette(INK)
    else:
        small = pygame.surfarray.make_surface(np.ascontiguousarray(pixels.transpose(2, 1, 0)))  # (W, H, 3)
    return pygame.transform.scale(small, size)


def tile_images(images: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """(rows * columns, C, H, W), row-major -> one (C, rows * H, columns * W) image."""
    _, c, h, w = images.shape
    return images.reshape(rows, columns, c, h, w).transpose(2, 0, 3, 1, 4).reshape(c, rows * h, columns * w)


def map_surface(images: np.ndarray, n: int, size: tuple[int, int]) -> pygame.Surface:
    """(n * n, C, H, W) decodes, rows from the top, tiled into one surface covering the plot; a tile the
    model answered with NaN or Inf for is crossed out rather than shown blank."""
    surface = image_surface(tile_images(images, n, n), size)
    for index in np.flatnonzero(~np.isfinite(images).reshape(len(images), -1).all(axis=1)):
        row, column = divmod(int(index), n)
        cell = pygame.Rect(column * size[0] // n, row * size[1] // n, size[0] // n, size[1] // n)
        pygame.draw.line(surface, WARN, cell.topleft, cell.bottomright, 2)
        pygame.draw.line(surface, WARN, cell.bottomleft, cell.topright, 2)
    surface.set_alpha(MAP_ALPHA)
    return surface


@dataclass(frozen=True)
class PlotText:
    """The words around the plot: what it shows, its axes, and the keys."""

    title: str
    x_label: str
    y_label: str
    keys: tuple[str, ...]  # the key strip, longest first: the first that fits is drawn


def plot_text(surface: pygame.Surface, layout: Layout, words: PlotText, fonts) -> None:
    plot = layout.plot
    title = fonts["text"].render(words.title, True, TEXT)
    surface.blit(title, (plot.left, plot.top - 22), area=pygame.Rect(0, 0, plot.width + MARGIN_TITLE, 22))
    x_label = fonts["text"].render(words.x_label, True, TEXT)
    surface.blit(x_label, x_label.get_rect(midtop=(plot.centerx, plot.bottom + 24)))
    y_label = pygame.transform.rotate(fonts["text"].render(words.y_label, True, TEXT), 90)
    surface.blit(y_label, y_label.get_rect(midleft=(6, plot.centery)))
    strip = next((k for k in words.keys if fonts["small"].size(k)[0] <= layout.footer.width), words.keys[-1])
    keys = fonts["small"].render(strip, True, DIM_TEXT)
    area = pygame.Rect(0, 0, layout.footer.width, layout.footer.height)
    surface.blit(keys, keys.get_rect(midleft=(layout.footer.left, layout.footer.centery)), area=area)


def scatter_surface(layout: Layout, view: np.ndarray, points: np.ndarray, labels: np.ndarray,
                    hidden: frozenset[int], fonts, words: PlotText, tiles: pygame.Surface | None = None,
                    shift: tuple[int, int] = (0, 0), colors: list | None = None, thumbs: ThumbCache | None = None,
                    placed: np.ndarray | None = None, rows: np.ndarray | None = None) -> pygame.Surface:  # fmt: skip
    """Axes with ticks in latent units and their labels, the manifold map if any (shifted by a pan it hasn't
    caught up with), and one dot per visible embedded image, coloured by its label: its class, or with
    `colors` (one per label value) any other scale, such as the anomaly view's error bins. `placed` (rows of
    `points` that ThumbCache.placed found room for) draws those points as their test images from `thumbs`
    instead of dots; `rows` maps points to the bundle's images when `points` is a subset of them."""
    colors = colors or [class_color(index) for index in range(int(labels.max()) + 1 if len(labels) else 1)]
    surface = pygame.Surface(layout.size).convert()
    surface.fill(BACKGROUND)
    plot, font = layout.plot, fonts["small"]
    plot_text(surface, layout, words, fonts)
    pygame.draw.rect(surface, PANEL, plot)
    if tiles is not None:
        surface.set_clip(plot)
        surface.blit(tiles, plot.move(shift))
        surface.set_clip(None)
    (x_low, x_high), (y_low, y_high) = view
    for value in nice_ticks(x_low, x_high):
        x = int(layout.to_screen(np.array([[value, y_low]]), view)[0, 0])
        pygame.draw.line(surface, GRID, (x, plot.top), (x, plot.bottom - 1))
        pygame.draw.line(surface, AXIS, (x, plot.bottom), (x, plot.bottom + 4))
        label = font.render(f"{value:g}", True, DIM_TEXT)
        surface.blit(label, label.get_rect(midtop=(x, plot.bottom + 6)))
    for value in nice_ticks(y_low, y_high):
        y = int(layout.to_screen(np.array([[x_low, value]]), view)[0, 1])
        pygame.draw.line(surface, GRID, (plot.left, y), (plot.right - 1, y))
        pygame.draw.line(surface, AXIS, (plot.left - 5, y), (plot.left - 1, y))
        label = font.render(f"{value:g}", True, DIM_TEXT)
        surface.blit(label, label.get_rect(midright=(plot.left - 8, y)))
    if thumbs is not None and placed is not None:
        draw_thumbnails(surface, layout, view, points[placed], labels[placed],
                        placed if rows is None else rows[placed], thumbs, colors)  # fmt: skip
        pygame.draw.rect(surface, AXIS, plot, width=1)
        return surface
    if len(points) > dots.SPRITE_LIMIT:  # a large embedding: one numpy raster of the dots, not a blit each
        pixels = surface.subsurface(plot)
        pixels_after = dots.blend(pygame.surfarray.array3d(pixels), points, labels, view, hidden, colors)
        pygame.surfarray.blit_array(pixels, pixels_after)
        pygame.draw.rect(surface, AXIS, plot, width=1)
        return surface
    sprites = _dot_sprites(colors)
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
    pygame.draw.rect(surface, AXIS, plot, width=1)
    return surface


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


def legend_surface(
    layout: Layout, class_names: list[str], hidden: frozenset[int], font: pygame.font.Font
) -> pygame.Surface:
    """A dot and a name per class, as many as fit; past that, one cell says how many more there are."""
    surface = pygame.Surface(layout.legend.size).convert()
    surface.fill(BACKGROUND)
    capacity = layout.legend_capacity
    shown = class_names if len(class_names) <= capacity else class_names[: capacity - 1]
    for index, name in enumerate(shown):
        item = layout.legend_item(index).move(-layout.legend.left, -layout.legend.top)
        off = index in hidden
        pygame.draw.circle(surface, class_color(index), (item.left + 8, item.centery), 6, width=2 if off else 0)
        shown_name = name if name == str(index) or index > 9 else f"{index} {name}"  # the key that hides it
        label = font.render(shown_name, True, DIM_TEXT if off else TEXT)
        surface.blit(
            label,
            (item.left + 20, item.centery - label.get_height() // 2),
            area=pygame.Rect(0, 0, item.width - 24, item.height),
        )
    if len(shown) < len(class_names):
        item = layout.legend_item(len(shown)).move(-layout.legend.left, -layout.legend.top)
        surface.blit(
            font.render(f"+{len(class_names) - len(shown)} more", True, DIM_TEXT), (item.left + 4, item.top + 2)
        )
    return surface


def legend_font(class_names: list[str], fonts) -> pygame.font.Font:
    """The text font for short names (digits), the small one when names are words, so more fit a row."""
    return fonts["text"] if max(len(name) for name in class_names) <= 3 else fonts["small"]


def legend_cell(class_names: list[str], font: pygame.font.Font) -> int:
    """The width one legend entry needs: dot, gap and the widest name (capped, so long names share a row)."""
    return 28 + min(max(font.size(f"0 {name}")[0] for name in class_names), 200)  # room for the key's digit


def compose_background(
    scatter,
    layout: Layout,
    view,
    legend,
    fonts,
    pins_plane,
    marker_plane,
    captions: tuple[str, str, str],
    walk=None,
    direction=None,
) -> pygame.Surface:
    """The scatter plus everything else that changes rarely: panel captions, pins, the drawing's marker,
    walk = (waypoints (K, 2), route (R, 2)) in plane coordinates: the walk's path, its waypoints numbered, and
    direction = (ends (2, 2) in plane coordinates, (name, name)): a feature direction, an arrow between class
    means."""
    background = scatter.copy()
    text = fonts["text"]
    for caption, rect in zip(captions[:2], (layout.digit, layout.side)):  # clipped: they never run into each other
        area = pygame.Rect(0, 0, rect.width + 8, 20)
        background.blit(text.render(caption, True, DIM_TEXT), (rect.left, rect.top - 20), area=area)
    caption = (
        "A -> B:  Left/Right or hover to slide,  E export,  X clear"
        if len(pins_plane) == 2
        else "click the scatter to pin A, then B"
    )
    background.blit(fonts["small"].render(caption, True, DIM_TEXT), (layout.strip.left, layout.strip.top - 18))
    pygame.draw.rect(background, AXIS, layout.digit.inflate(2, 2), width=1)
    background.blit(legend, layout.legend)
    background.blit(
        fonts["small"].render(captions[2], True, DIM_TEXT),
        (layout.legend.left, layout.legend.top - 18),
        area=pygame.Rect(0, 0, layout.legend.width, 18),
    )
    background.set_clip(layout.plot)
    points = layout.to_screen(np.asarray(pins_plane).reshape(-1, 2), view) if len(pins_plane) else []
    if len(points) == 2:
        pygame.draw.line(background, PIN, points[0], points[1], 2)
    for (x, y), name in zip(points, "AB"):
        pygame.draw.circle(background, PIN, (x, y), 5)
        outlined(background, fonts["text"], name, PIN, (x + 7, y - 16))
    if walk is not None and len(walk[0]):
        waypoints, route = (layout.to_screen(np.asarray(p).reshape(-1, 2), view) for p in walk)
        if len(route) > 1:
            pygame.draw.lines(background, WALK, False, route.tolist(), 2)
        for number, (x, y) in enumerate(waypoints.tolist(), start=1):
            pygame.draw.circle(background, WALK, (x, y), 4)
            outlined(background, fonts["small"], str(number), WALK, (x + 6, y + 2))
    if direction is not None:
        arrow(background, layout.to_screen(np.asarray(direction[0]).reshape(2, 2), view), direction[1], fonts["small"])
    if marker_plane is not None:
        x, y = layout.to_screen(np.asarray(marker_plane).reshape(1, 2), view)[0]
        pygame.draw.circle(background, DRAWN, (x, y), 8, width=3)
    background.set_clip(None)
    return background


def arrow(surface: pygame.Surface, ends: np.ndarray, names: tuple[str, str], font) -> None:
    """An arrow from ends[0] to ends[1] (screen pixels), each end named, outlined so it reads over any dots."""
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
        outlined(surface, font, name[:24], TEXT, (x + 6, y - 16))


def outlined(surface: pygame.Surface, font, text: str, colour, pos: tuple[int, int]) -> None:
    """Text with a one-pixel rim of the background colour, so a label over dense dots of its own hue still reads."""
    rim = font.render(text, True, BACKGROUND)
    x, y = pos
    for dx, dy in ((-1, -1), (0, -1), (1, -1), (-1, 0), (1, 0), (-1, 1), (0, 1), (1, 1)):
        surface.blit(rim, (x + dx, y + dy))
    surface.blit(font.render(text, True, colour), pos)


class DigitTile:
    """An upscaled image drawn into surfaces made once: no allocation per frame on the hover path."""

    def __init__(self, image_shape: tuple[int, int, int], size: tuple[int, int]):
        channels, height, width = image_shape
        self.size, self.grey = size, channels == 1
        depth = 8 if self.grey else 24  # grey through the ink palette, colour as it is
        self.small = pygame.Surface((width, height), depth=depth)  # surfaces are (width, height)
        self.surface = pygame.Surface(size, depth=depth)
        if self.grey:
            self.small.set_palette(INK)
            self.surface.set_palette(INK)

    def update(self, image: np.ndarray) -> pygame.Surface:
        """(C, H, W) float in [0, 1] -> the tile, pixels kept sharp. NaN draws as a marked blank."""
        if not np.isfinite(image).all():
            return nan_tile(self.size)
        pixels = _pixels(image)
        # surfarray is (x, y[, rgb]); images are (channel, row, column)
        pygame.surfarray.blit_array(self.small, pixels[0].T if self.grey else pixels.transpose(2, 1, 0))
        return pygame.transform.scale(self.small, self.size, self.surface)


def nan_tile(size: tuple[int, int]) -> pygame.Surface:
    blank = pygame.Surface(size)
    blank.fill(INK[0])
    pygame.draw.line(blank, WARN, (0, 0), (size[0] - 1, size[1] - 1), 3)
    pygame.draw.line(blank, WARN, (0, size[1] - 1), (size[0] - 1, 0), 3)
    return blank


class Thumbnails:
    """Scaled real images (uint8 (M, C, H, W)) with their captions, by test-set index: neighbours overlap
    from frame to frame."""

    def __init__(self, images: np.ndarray, names: list[str], size: int, font, limit: int = 512):
        self.images, self.names, self.size, self.font, self.limit = images, names, size, font, limit
        self.cache: dict[int, tuple[pygame.Surface, pygame.Surface]] = {}

    def get(self, index: int) -> tuple[pygame.Surface, pygame.Surface]:
        if index not in self.cache:
            if len(self.cache) >= self.limit:
                self.cache.clear()
            thumb = image_surface(self.images[index] / 255.0, (self.size, self.size))
            self.cache[index] = (thumb, self.font.render(f"{self.names[index]}  #{index}", True, DIM_TEXT))
        return self.cache[index]


def neighbours_surface(layout: Layout, indices: np.ndarray, thumbnails: Thumbnails) -> pygame.Surface:
    """The k nearest real digits as a 2-by-2 grid of thumbnails, each with its label and test-set index."""
    surface = pygame.Surface(layout.side.size).convert()
    surface.fill(BACKGROUND)
    cell = layout.side.width // 2
    for i, index in enumerate(indices[:4]):
        x, y = (i % 2) * cell, (i // 2) * (thumbnails.size + 20)
        thumb, caption = thumbnails.get(int(index))
        surface.blit(thumb, (x, y))
        surface.blit(caption, (x, y + thumbnails.size + 3), area=pygame.Rect(0, 0, cell - 6, caption.get_height()))
    return surface


def hint_surface(size: tuple[int, int], lines: list[str], font: pygame.font.Font) -> pygame.Surface:
    """A few dim lines of advice where a panel has nothing to show yet."""
    surface = pygame.Surface(size).convert()
    surface.fill(BACKGROUND)
    for i, line in enumerate(lines):
        surface.blit(font.render(line, True, DIM_TEXT), (4, 8 + i * (font.get_linesize() + 2)))
    return surface


def colour_bar_surface(layout: Layout, edges: np.ndarray, colors: list, font: pygame.font.Font,
                       hidden: list[str] = ()) -> pygame.Surface:  # fmt: skip
    """The anomaly view's legend: the error scale as a bar of its colours, ticked in error units (log scale), and
    the classes left out (the class legend that would show it isn't there)."""
    surface = pygame.Surface(layout.legend.size).convert()
    surface.fill(BACKGROUND)
    width = layout.legend.width - 16
    cell = width / len(colors)
    for i, color in enumerate(colors):
        pygame.draw.rect(surface, color, (8 + int(i * cell), 4, int(cell) + 1, 14))
    for i in (0, len(colors) // 2, len(colors)):
        x = 8 + int(i * cell)
        pygame.draw.line(surface, AXIS, (x, 18), (x, 22))
        label = font.render(f"{edges[i]:.3g}", True, DIM_TEXT)
        surface.blit(label, label.get_rect(midtop=(min(max(x, 20), width - 12), 24)))
    note = font.render("per-image MSE after encode -> decode (log scale)", True, DIM_TEXT)
    surface.blit(note, (8, 44))
    if hidden:
        names = ", ".join(hidden)
        line = font.render(f"hidden: {names} (their keys show them)"[:80], True, PIN)
        surface.blit(line, (8, 64), area=pygame.Rect(0, 0, layout.legend.width - 16, line.get_height()))
    return surface


def worst_surface(layout: Layout, images: np.ndarray, rebuilt: np.ndarray, captions: list[str],
                  font: pygame.font.Font) -> pygame.Surface:  # fmt: skip
    """The worst-reconstructed test images, a row each: the image and its reconstruction, both (C, H, W) floats,
    and a caption (its error and index). Rebuilt only when the list changes."""
    surface = pygame.Surface(layout.side.size).convert()
    surface.fill(BACKGROUND)
    row = layout.side.height // max(len(images), 1)
    size = max(min(row - 16, layout.side.width // 2 - 4), 8)
    for i, (image, again, caption) in enumerate(zip(images, rebuilt, captions)):
        y = i * row
        surface.blit(image_surface(image, (size, size)), (0, y))
        surface.blit(image_surface(again, (size, size)), (size + 4, y))
        text = font.render(caption, True, DIM_TEXT)
        surface.blit(text, (0, y + size + 1), area=pygame.Rect(0, 0, layout.side.width, row - size - 1))
    return surface


def strip_surface(layout: Layout, images: np.ndarray | None, t: float, active: bool) -> pygame.Surface:
    """Decodes along A -> B, with the slider's position marked under them."""
    surface = pygame.Surface(layout.strip.size).convert()
    surface.fill(BACKGROUND)
    if images is None:
        for i in range(STRIP_COUNT):
            pygame.draw.rect(surface, PANEL, layout.strip_cell(i).move(-layout.strip.left, -layout.strip.top))
        return surface
    for i, image in enumerate(images):
        cell = layout.strip_cell(i).move(-layout.strip.left, -layout.strip.top)
        surface.blit(image_surface(image, cell.size) if np.isfinite(image).all() else nan_tile(cell.size), cell)
    y = layout.strip.height - 6
    pygame.draw.line(surface, AXIS, (0, y), (layout.strip.width - 1, y), 2)
    x = int(t * (layout.strip.width - 1))
    pygame.draw.circle(surface, PIN if active else AXIS, (x, y), 5)
    return surface


def help_overlay(size: tuple[int, int], fonts) -> pygame.Surface:
    """Every control from the one table in controls.py."""
    from viewer.controls import CONTROLS

    overlay = pygame.Surface(size, pygame.SRCALPHA)
    overlay.fill((10, 11, 15, 225))  # dark enough that the rows read over any scatter
    text, y = fonts["text"], 56
    overlay.blit(text.render("latent-explorer: controls", True, TEXT), (60, 24))
    step = min(26, max((size[1] - y - 40) // len(CONTROLS), 15))
    font, column = (text, 300) if step >= 18 else (fonts["small"], 270)  # a small window: every row fits
    for control in CONTROLS:
        overlay.blit(font.render(control.label, True, PIN), (60, y))
        overlay.blit(font.render(control.does, True, TEXT), (column, y))
        y += step
    overlay.blit(fonts["small"].render("H, ? or Esc closes this", True, DIM_TEXT), (60, y + 8))
    return overlay


def seen_surface(size: tuple[int, int], seen: np.ndarray, rebuilt: np.ndarray, fonts) -> pygame.Surface:
    """The side panel for a normalised drawing: on top the image the encoder took (the panel's own caption says
    "the model sees"), below it, captioned, the reconstruction. Both (C, H, W) in [0, 1]."""
    surface = pygame.Surface(size).convert()
    surface.fill(BACKGROUND)
    width, height = size
    side = max(min(width, (height - CAPTION) // 2), 8)
    surface.blit(image_surface(seen, (side, side)), (0, 0))
    label = fonts["small"].render("reconstruction", True, DIM_TEXT)
    surface.blit(label, (0, side + 4), area=pygame.Rect(0, 0, width, CAPTION))
    tile = image_surface(rebuilt, (side, side)) if np.isfinite(rebuilt).all() else nan_tile((side, side))
    surface.blit(tile, (0, side + CAPTION))
    return surface


def traversal_surface(
    images: np.ndarray, row_names: list[str], column_names: list[str], size: tuple[int, int], cell: int, fonts
) -> pygame.Surface:
    """The traversal grid: (R * S, C, H, W) decodes, row by row, with the rows' direction names on the left and
    the columns' offsets along the top. Opaque, so blitting it each frame stays cheap."""
    columns = len(column_names)
    surface = pygame.Surface(size).convert()
    surface.fill(BACKGROUND)
    pygame.draw.rect(surface, AXIS, surface.get_rect(), width=1)
    small = fonts["small"]
    for column, name in enumerate(column_names):
        if cell >= 36 or column % 2 == 0:  # narrow cells: every other label, so they don't run together
            label = small.render(name, True, DIM_TEXT)
            centre = (TRAVERSAL_LABEL + column * cell + cell // 2, CAPTION // 2 + 3)
            surface.blit(label, label.get_rect(center=centre))
    for row, name in enumerate(row_names):
        top = CAPTION + row * cell
        label = fonts["text"].render(name, True, TEXT)
        surface.blit(label, label.get_rect(midleft=(6, top + cell // 2)))
        for column in range(columns):
            image = images[row * columns + column]
            tile = image_surface(image, (cell - 2, cell - 2)) if np.isfinite(image).all() else nan_tile((cell - 2,) * 2)
            surface.blit(tile, (TRAVERSAL_LABEL + column * cell + 1, top + 1))
    return surface


def cursor_rect(pos: tuple[int, int]) -> pygame.Rect:
    return pygame.Rect(pos[0] - 9, pos[1] - 9, 19, 19)


def draw_cursor(screen: pygame.Surface, pos: tuple[int, int]) -> pygame.Rect:
    x, y = pos
    pygame.draw.line(screen, CURSOR, (x - 9, y), (x - 3, y))
    pygame.draw.line(screen, CURSOR, (x + 3, y), (x + 9, y))
    pygame.draw.line(screen, CURSOR, (x, y - 9), (x, y - 3))
    pygame.draw.line(screen, CURSOR, (x, y + 3), (x, y + 9))
    return cursor_rect(pos)


class TextCache:
    """Rendered text lines, kept while they don't change (most HUD lines change twice a second at most)."""

    def __init__(self, font: pygame.font.Font, limit: int = 64):
        self.font, self.limit, self.surfaces = font, limit, {}

    def render(self, text: str, color) -> pygame.Surface:
        key = (text, color)
        surface = self.surfaces.get(key)
        if surface is None:
            if len(self.surfaces) >= self.limit:
                self.surfaces.clear()
            surface = self.surfaces[key] = self.font.render(text, True, color)
        return surface


def frame(
    screen, layout: Layout, background, panels: list, cursor, hud_lines, text: TextCache, last_cursor, full: bool,
    mark=None, last_mark=None,
) -> list:  # fmt: skip
    """Draw what changed since the last frame over the cached background; returns the rects to update.

    A full frame blits the whole background (start, resize, expose, view change); a hover frame
    restores only the old crosshair and the HUD, a fraction of the pixels. `panels` are
    (surface, rect) pairs drawn every frame: the digit, the side panel, the strip.
    """
    if full:
        screen.blit(background, (0, 0))
        dirty = [screen.get_rect()]
    else:
        dirty = [layout.hud] + [rect for rect in (last_cursor, last_mark) if rect is not None]
        for rect in dirty:
            screen.blit(background, rect, rect)
    for surface, rect in panels:
        screen.blit(surface, rect)
        dirty.append(rect)
    y = layout.hud.top
    for line, color in hud_lines:
        screen.blit(
            text.render(line, color), (layout.hud.left, y), area=pygame.Rect(0, 0, layout.hud.width, layout.hud.height)
        )
        y += text.font.get_linesize() + 2
    screen.set_clip(layout.plot)
    if mark is not None:
        dirty.append(draw_mark(screen, mark))
    if cursor is not None:
        dirty.append(draw_cursor(screen, cursor))
    screen.set_clip(None)
    return dirty


def mark_rect(pos: tuple[int, int]) -> pygame.Rect:
    return pygame.Rect(pos[0] - 8, pos[1] - 8, 17, 17)


def draw_mark(screen: pygame.Surface, pos: tuple[int, int]) -> pygame.Rect:
    """Where the decoded point is when the cursor doesn't say (the slider, a prior sample, a walk, a jump):
    a diamond, so it reads as a point, not a pointer."""
    x, y = pos
    points = [(x, y - 7), (x + 7, y), (x, y + 7), (x - 7, y)]
    pygame.draw.polygon(screen, BACKGROUND, points, 0)
    pygame.draw.polygon(screen, PIN, points, 2)
    return mark_rect(pos)
