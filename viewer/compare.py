"""`python -m viewer A B`: two bundles of the same test images side by side (numpy, onnxruntime, pygame).

Each half shows one bundle's plot (viewer.api: its latent, map or PCA plane) with every test image's dot. The
cursor over either plot decodes there with that plot's own model; the test image nearest the cursor (in that
plot) is ringed in both plots, and the other half's tile shows what its model decodes where that image sits
in its own plot, so one picture can be followed from one model's space into the other's: the history of a
linear map (mnist-pca) against a learned one (mnist-vae). Between the two tiles, the test image itself.

The two bundles must hold the same test images in the same order (labels and pixels), else one line, exit 2.
A loop of its own, in the frame loop's four steps: events into its state (Hover), the ring and decodes, drawing.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pygame

from latent_common.errors import UserError
from latent_common.style import AXIS, BACKGROUND, CURSOR, DIM_TEXT, PANEL, PIN, TEXT, class_color
from viewer import words
from viewer.api import OpenedBundle, open_bundle
from viewer.bundle import view_bounds
from viewer.explore import equal_scales
from viewer.panels.paint import image_or_cross
from viewer.text import blit_text

MARGIN, CAPTION = 12, 20
TILE_SHARE = 0.28  # of the window's height, the row of tiles under the plots
RING = 7  # pixels: the ring around the test image nearest the cursor
MIN_WINDOW = (600, 460)  # the viewer's own smallest window


class CompareError(UserError):
    """Two bundles that can't be compared image by image."""


def check_same_images(a: OpenedBundle, b: OpenedBundle) -> None:
    """The same test images in the same order, or a CompareError naming both bundles and the first difference."""
    first, second = a.bundle, b.bundle
    if len(first.z) != len(second.z):
        why = f"{len(first.z):,} against {len(second.z):,} test images"
    elif first.images_chw.shape != second.images_chw.shape:
        why = f"images of {list(first.images_chw.shape[1:])} against {list(second.images_chw.shape[1:])}"
    else:
        differ = np.flatnonzero(
            (first.labels != second.labels) | (first.images_chw != second.images_chw).any(axis=(1, 2, 3))
        )
        why = f"test image {differ[0]} differs" if len(differ) else ""
    if why:
        raise CompareError(
            f"{first.path} and {second.path}: not the same test images ({why}); side by side compares two models "
            "on one test split, so export both from the same data"
        )


@dataclass
class Half:
    """One bundle's half of the window: its plot and where it is, the cached scatter, its tile."""

    opened: OpenedBundle
    plot: pygame.Rect
    tile: pygame.Rect
    view: np.ndarray  # (2, 2) plot bounds, equal scales
    scatter: pygame.Surface | None = None

    def to_plot(self, pos: tuple[int, int]) -> np.ndarray:
        fx = (pos[0] - self.plot.left) / max(self.plot.width - 1, 1)
        fy = (self.plot.bottom - 1 - pos[1]) / max(self.plot.height - 1, 1)
        return self.view[:, 0] + np.array([fx, fy]) * (self.view[:, 1] - self.view[:, 0])

    def to_screen(self, xy: np.ndarray) -> np.ndarray:
        frac = (np.asarray(xy, dtype=np.float64) - self.view[:, 0]) / (self.view[:, 1] - self.view[:, 0])
        x = self.plot.left + frac[..., 0] * (self.plot.width - 1)
        y = self.plot.bottom - 1 - frac[..., 1] * (self.plot.height - 1)
        return np.rint(np.clip(np.stack([x, y], axis=-1), -1e6, 1e6)).astype(np.int64)


@dataclass
class Hover:
    """What the cursor is over and what it shows: this window's whole state."""

    hovered: int | None = None  # which half the cursor is over
    cursor: tuple[int, int] | None = None
    ring: int | None = None  # the test image nearest the cursor, in the hovered half's plot
    images: list = field(default_factory=lambda: [None, None])  # each tile's decode (C, H, W)
    notice: str | None = None  # why a key did nothing here
    running: bool = True


def open_pair(a: Path, b: Path) -> tuple[OpenedBundle, OpenedBundle]:
    first, second = open_bundle(a), open_bundle(b)
    check_same_images(first, second)
    return first, second


def layout(size: tuple[int, int], pair: tuple[OpenedBundle, OpenedBundle]) -> list[Half]:
    """The two halves for a window of `size`: plots side by side, a row of tiles under them."""
    width, height = size
    tile = int(height * TILE_SHARE)
    side = max(min((width - 3 * MARGIN) // 2, height - 3 * MARGIN - 3 * CAPTION - tile), 80)  # + the hint line
    halves, start = [], max((width - 2 * side - MARGIN) // 2, MARGIN)  # centred across the window
    for i, opened in enumerate(pair):
        left = start + i * (side + MARGIN)
        plot = pygame.Rect(left, MARGIN + CAPTION, side, side)
        tile_left = plot.left if i == 0 else plot.right - tile
        tile_rect = pygame.Rect(tile_left, plot.bottom + MARGIN + CAPTION, tile, tile)
        view = equal_scales(np.asarray(view_bounds(opened.map_xy), dtype=np.float64))
        halves.append(Half(opened, plot, tile_rect, view))
    return halves


def scatter(half: Half, fonts: dict) -> pygame.Surface:
    """A plot's background: every test image's dot in its class colour, drawn once."""
    surface = pygame.Surface(half.plot.size)
    surface.fill(PANEL)
    screen = half.to_screen(half.opened.map_xy) - np.array(half.plot.topleft)
    for (x, y), label in zip(screen.tolist(), half.opened.bundle.labels.tolist()):
        surface.fill(class_color(label), (x - 1, y - 1, 3, 3))
    pygame.draw.rect(surface, AXIS, surface.get_rect(), 1)
    return surface


def handle(event, hover: Hover, halves: list[Half]) -> None:
    """Events into the state: the cursor over a plot, quitting."""
    if event.type == pygame.QUIT or (event.type == pygame.KEYDOWN and event.key in (pygame.K_ESCAPE, pygame.K_q)):
        hover.running = False
    elif event.type == pygame.KEYDOWN:  # the one-bundle window's keys don't act here: say so, not nothing
        hover.notice = words.COMPARE_KEYS
    elif event.type == pygame.MOUSEMOTION:
        pos, hover.notice = tuple(event.pos), None
        hover.hovered = next((i for i, half in enumerate(halves) if half.plot.collidepoint(pos)), None)
        hover.cursor = pos if hover.hovered is not None else None


def update(hover: Hover, halves: list[Half], last: dict) -> None:
    """The ring and the two decodes, redone only when the cursor moved."""
    if hover.cursor is None or last.get("cursor") == (hover.hovered, hover.cursor):
        return
    last["cursor"] = (hover.hovered, hover.cursor)
    here = halves[hover.hovered]
    xy = here.to_plot(hover.cursor)
    hover.ring = int(np.argmin(np.sum((here.opened.map_xy - xy) ** 2, axis=1)))
    for i, half in enumerate(halves):
        at = xy if i == hover.hovered else half.opened.map_xy[hover.ring]
        hover.images[i] = half.opened.decode_at(np.asarray(at, dtype=np.float64)[None])[0]


def draw(screen: pygame.Surface, hover: Hover, halves: list[Half], fonts: dict) -> None:
    screen.fill(BACKGROUND)
    for i, half in enumerate(halves):
        bundle = half.opened.bundle
        mse = f" · test MSE {bundle.test_mse:.4f}" if bundle.test_mse is not None else ""
        title = pygame.Rect(half.plot.left, MARGIN, half.plot.width, CAPTION - 4)
        blit_text(screen, fonts["text"], f"{'AB'[i]}: {bundle.name} · {shown_as(half.opened)}{mse}", title, TEXT)
        screen.blit(half.scatter, half.plot)
        if hover.ring is not None:
            centre = tuple(int(v) for v in half.to_screen(half.opened.map_xy[hover.ring]))
            pygame.draw.circle(screen, PIN, centre, RING, 2)
        if hover.images[i] is not None:
            screen.blit(image_or_cross(hover.images[i], half.tile.size), half.tile)
            caption = "decoded at the cursor" if i == hover.hovered else f"decoded where #{hover.ring} sits"
            box = pygame.Rect(half.tile.left, half.tile.top - CAPTION, half.tile.width + 80, CAPTION - 4)
            blit_text(screen, fonts["small"], caption, box if i == 0 else box.move(-80, 0), DIM_TEXT,
                      align="left" if i == 0 else "right")  # fmt: skip
    if hover.ring is not None:
        draw_test_image(screen, hover.ring, halves, fonts)
    hint = pygame.Rect(MARGIN, screen.get_height() - CAPTION, screen.get_width() - 2 * MARGIN, CAPTION - 4)
    blit_text(screen, fonts["small"], hover.notice or words.COMPARE_HINT, hint, PIN if hover.notice else DIM_TEXT)
    if hover.cursor is not None:
        x, y = hover.cursor
        pygame.draw.line(screen, CURSOR, (x - 8, y), (x + 8, y))
        pygame.draw.line(screen, CURSOR, (x, y - 8), (x, y + 8))


def shown_as(opened: OpenedBundle) -> str:
    """What a half's plot is: the latent itself, its map or its PCA plane, and the model's kind and size."""
    bundle = opened.bundle
    if bundle.latent_dim <= 2:
        return f"{bundle.latent_dim}-D {bundle.kind}"
    info = bundle.meta.map
    where = f"{words.MAP_NAMES.get(info.method, info.method)} map" if opened.has_map else "PCA plane"
    return f"{bundle.latent_dim}-D {bundle.kind} · {where}"


def draw_test_image(screen: pygame.Surface, ring: int, halves: list[Half], fonts: dict) -> None:
    """Between the two tiles: the ringed test image itself, with its index and class."""
    bundle = halves[0].opened.bundle
    middle = pygame.Rect(0, 0, halves[0].tile.width // 2, halves[0].tile.width // 2)
    middle.center = ((halves[0].tile.right + halves[1].tile.left) // 2, halves[0].tile.centery)
    screen.blit(image_or_cross(bundle.images_chw[ring].astype(np.float32) / 255, middle.size), middle)
    words = f"test image #{ring} ({bundle.class_names[bundle.labels[ring]]})"
    box = pygame.Rect(middle.left - 40, middle.bottom + 4, middle.width + 80, CAPTION)
    blit_text(screen, fonts["small"], words, box, TEXT, align="center")


def scripted(frame: int, halves: list[Half]) -> list:
    """Headless: the mouse crosses plot A, then plot B."""
    half = halves[(frame // 20) % 2]
    t = (frame % 20) / 19
    pos = (
        int(half.plot.left + 10 + t * (half.plot.width - 20)),
        int(half.plot.centery + (t - 0.5) * half.plot.height / 3),
    )
    return [pygame.event.Event(pygame.MOUSEMOTION, pos=pos, rel=(0, 0), buttons=(0, 0, 0))]


def fit(size: tuple[int, int], pair, fonts: dict) -> tuple[pygame.Surface, list[Half]]:
    """The window at `size` (at least MIN_WINDOW) and its halves, their scatters drawn."""
    size = (max(size[0], MIN_WINDOW[0]), max(size[1], MIN_WINDOW[1]))
    screen = pygame.display.set_mode(size, pygame.RESIZABLE)
    halves = layout(size, pair)
    for half in halves:
        half.scatter = scatter(half, fonts)
    return screen, halves


def compare(args: argparse.Namespace, size: tuple[int, int] = (1100, 680)) -> str:  # two 420-pixel plots
    """Open both bundles (checked alike), then the window; run until closed or --frames; returns a summary."""
    from latent_common.atomic import save_png
    from viewer.app import open_window

    pair = open_pair(args.bundle, args.other)
    fonts = open_window(args.headless)
    frames = args.frames or (40 if args.headless else 0)
    try:
        screen, halves = fit(size, pair, fonts)
        pygame.display.set_caption(f"latent-explorer · {pair[0].bundle.name} | {pair[1].bundle.name}")
        hover, last, clock, count = Hover(), {}, pygame.time.Clock(), 0
        while hover.running and (frames == 0 or count < frames):
            # get input
            if args.headless:
                for event in scripted(count, halves):
                    pygame.event.post(event)
            for event in pygame.event.get():
                if event.type == pygame.VIDEORESIZE:  # a new layout: the cursor's decodes are redone
                    screen, halves = fit((event.w, event.h), pair, fonts)
                    hover, last = Hover(), {}
                handle(event, hover, halves)
            # update, draw
            update(hover, halves, last)
            draw(screen, hover, halves, fonts)
            pygame.display.flip()
            clock.tick(args.fps)
            count += 1
        if args.screenshot:
            save_png(screen, args.screenshot)
    finally:
        pygame.quit()
    names = f"{pair[0].bundle.name} and {pair[1].bundle.name}"
    return f"{count} frames comparing {names} on {len(pair[0].bundle.z):,} test images"
