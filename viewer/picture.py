"""A user's picture file, made into model input exactly as the bundle's training images were.

latent_common.pictures decodes the file (Pillow: upright by its EXIF orientation, 16-bit and palette
transparency handled) with the very function training's picture datasets decode theirs with, and
latent_common.images converts it with the same numpy code (composite onto the background, pad to the
aspect ratio, grey or colour, resize).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from latent_common.images import to_model_input
from latent_common.pictures import MAX_PICTURE_PIXELS, PictureError, read_picture

__all__ = ["MAX_PICTURE_PIXELS", "PictureError", "load_picture", "rgba_pixels"]

rgba_pixels = read_picture  # the file as uint8 RGBA (H, W, 4): the name the viewer has always used


def load_picture(path: Path, chw: tuple[int, int, int], background: tuple[int, int, int]) -> np.ndarray:
    """The picture as the encoder takes it: (C, H, W) float32 in [0, 1]."""
    channels, height, width = chw
    pixels = to_model_input(read_picture(path), (height, width), channels, background)
    return pixels.astype(np.float32) / 255.0
