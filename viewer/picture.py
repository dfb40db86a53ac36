"""A user's picture file, made into model input exactly as the bundle's training images were.

pygame decodes the file (PNG, JPEG, BMP, GIF, ...) to RGBA; latent_common.images does the rest with the
same numpy code that training ran on its Pillow-decoded images (composite onto the background, pad to
the aspect ratio, grey or colour, resize).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from latent_common.errors import UserError, reason
from latent_common.images import to_model_input

MAX_PICTURE_PIXELS = 50_000_000  # a decoded picture larger than this is refused before conversion


class PictureError(UserError):
    """A picture file that can't be read as an image."""


@contextmanager
def quiet_stderr():
    """Hold back what C libraries write straight to file descriptor 2 (libpng prints its own complaint
    about a broken file before pygame raises): the user gets our one line instead."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def rgba_pixels(path: Path) -> np.ndarray:
    """Decode an image file to uint8 [H, W, 4] (opaque formats get alpha 255)."""
    import pygame

    try:
        with quiet_stderr():
            surface = pygame.image.load(str(path))
    except (pygame.error, OSError, ValueError) as exc:
        raise PictureError(f"{path}: cannot read it as an image ({reason(exc)})") from None
    width, height = surface.get_size()
    if width * height > MAX_PICTURE_PIXELS or width == 0 or height == 0:
        raise PictureError(f"{path}: {width}x{height} pixels is outside 1 to {MAX_PICTURE_PIXELS:,}")
    surface = surface.convert_alpha() if pygame.display.get_surface() is not None else surface
    rgb = pygame.surfarray.array3d(surface).transpose(1, 0, 2)  # surfarray is (x, y); images are (row, column)
    try:
        alpha = pygame.surfarray.array_alpha(surface).T
    except (pygame.error, ValueError):
        alpha = np.full(rgb.shape[:2], 255, dtype=np.uint8)
    return np.dstack([rgb, alpha]).astype(np.uint8)


def load_picture(path: Path, chw: tuple[int, int, int], background: tuple[int, int, int]) -> np.ndarray:
    """The picture as the encoder takes it: (C, H, W) float32 in [0, 1]."""
    channels, height, width = chw
    pixels = to_model_input(rgba_pixels(path), (height, width), channels, background)
    return pixels.astype(np.float32) / 255.0
