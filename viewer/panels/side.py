"""The side panel: the nearest test images to the point; in the anomaly view the worst-reconstructed ones;
for a drawing or picture what the encoder took and what the decoder made of it (or, blank, a hint)."""

from __future__ import annotations

import numpy as np
import pygame

from latent_common.style import BACKGROUND, DIM_TEXT
from viewer import words
from viewer.inference import ModelRunError
from viewer.layout import CAPTION
from viewer.panels.base import Panel
from viewer.panels.paint import blank, image_or_cross, image_surface
from viewer.text import blit_text, fit, fit_lines

NEIGHBOURS = 4
THUMB_CAPTION = 20  # under a neighbour's thumbnail


class SidePanel(Panel):
    name = "side"

    def __init__(self, scene):
        super().__init__(scene)
        side = scene.layout.side
        self.thumb = max(min(side.width // 2 - 8, side.height // 2 - THUMB_CAPTION), 8)  # a 2x2 grid with captions
        self.thumbs: dict[int, tuple] = {}  # (image, caption) by test-set index: neighbours overlap frame to frame
        self.canvas = blank(side.size)  # drawn over in place on the hover path: no surface made per frame

    def slot(self, state) -> pygame.Rect:
        return self.scene.layout.side

    def key(self, state):
        if state.focus.value in ("draw", "picture"):
            canvas = state.canvas
            rebuilt = None if canvas.rebuilt is None else canvas.rebuilt.tobytes()
            return "canvas", bool(canvas.image.any()), None if canvas.seen is None else canvas.seen.tobytes(), rebuilt
        if state.anomaly.on:
            return "worst", state.anomaly.worst
        return "nearest", tuple(self.scene.nearest(state, NEIGHBOURS))

    def build(self, state) -> pygame.Surface:
        kind = "canvas" if state.focus.value in ("draw", "picture") else "worst" if state.anomaly.on else "nearest"
        size, small = self.scene.layout.side.size, self.scene.fonts["small"]
        surface = self.canvas
        surface.fill(BACKGROUND)
        if kind == "nearest":
            self._neighbours(surface, self.scene.nearest(state, NEIGHBOURS))
        elif kind == "worst":
            self._worst(surface, state.anomaly.worst)
        elif not state.canvas.image.any():  # nothing drawn yet: a blank encodes to some point, which would mislead
            for i, line in enumerate(fit_lines(small, words.DRAW_HINT, size[0] - 8, DIM_TEXT)):
                surface.blit(line, (4, 8 + i * (small.get_linesize() + 2)))
        elif state.canvas.seen is not None:  # two halves: what the encoder took, and what the decoder made of it
            seen_halves(surface, state.canvas.seen, state.canvas.rebuilt, small)
        elif state.canvas.rebuilt is not None:
            surface.blit(image_or_cross(state.canvas.rebuilt, (size[0], size[0])), (0, 0))
        return surface

    def _neighbours(self, surface: pygame.Surface, indices) -> None:
        """The k nearest test images as a 2-by-2 grid of thumbnails, each with its class and test-set index."""
        bundle, cell = self.scene.models.bundle, surface.get_width() // 2
        for i, index in enumerate(int(i) for i in indices[:4]):
            if index not in self.thumbs:
                self.thumbs = self.thumbs if len(self.thumbs) < 512 else {}
                caption = words.neighbour_caption(bundle.class_names[bundle.labels[index]], index)
                self.thumbs[index] = (
                    image_surface(bundle.images_chw[index] / 255.0, (self.thumb, self.thumb)),
                    fit(self.scene.fonts["small"], caption, cell - 6, DIM_TEXT, tail=" #"),
                )
            x, y = (i % 2) * cell, (i // 2) * (self.thumb + THUMB_CAPTION)
            thumb, caption = self.thumbs[index]
            surface.blit(thumb, (x, y))
            surface.blit(caption, (x, y + self.thumb + 3))

    def _worst(self, surface: pygame.Surface, worst: tuple[int, ...]) -> None:
        """The worst-reconstructed visible test images, a row each: the image, what the model makes of it, and a
        caption (its index, class and error)."""
        models = self.scene.models
        bundle, scale = models.bundle, models.error_scale()
        images = bundle.images_chw[list(worst)].astype(np.float32) / 255.0  # (K, C, H, W)
        try:
            rebuilt = models.decoder(models.encoder(images))
        except ModelRunError as exc:
            self.scene.say(str(exc))
            rebuilt = np.full_like(images, np.nan)
        width = surface.get_width()
        row = surface.get_height() // max(len(images), 1)
        side = max(min(row - 16, width // 2 - 4), 8)
        for i, (index, image, again) in enumerate(zip(worst, images, rebuilt)):
            y = i * row
            surface.blit(image_surface(image, (side, side)), (0, y))
            surface.blit(image_or_cross(again, (side, side)), (side + 4, y))
            caption = words.worst_caption(index, bundle.class_names[bundle.labels[index]], scale.errors[index])
            blit_text(surface, self.scene.fonts["small"], caption, pygame.Rect(0, y + side + 1, width, 14), DIM_TEXT)


def seen_halves(surface: pygame.Surface, seen: np.ndarray, rebuilt: np.ndarray, font) -> None:
    """On top the image the encoder took (the panel's caption says "the model sees"), below it, captioned, the
    reconstruction. Both (C, H, W) in [0, 1]."""
    width, height = surface.get_size()
    side = max(min(width, (height - CAPTION) // 2), 8)
    surface.blit(image_surface(seen, (side, side)), (0, 0))
    blit_text(surface, font, words.RECONSTRUCTION, pygame.Rect(0, side + 2, width, CAPTION - 4), DIM_TEXT)
    surface.blit(image_or_cross(rebuilt, (side, side)), (0, side + CAPTION))
