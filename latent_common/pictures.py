"""A picture file decoded to pixels: the one decoder that training's picture datasets and the viewer share.

Pillow reads the file (PNG, JPEG, GIF's first frame, BMP, WebP, ...); `read_picture` returns uint8 RGBA
(H, W, 4), which latent_common.images.to_model_input turns into model input on both sides. Decoding in one
place is what makes "converted exactly as the training images were" true of a user's file too:
  - size first: the header's width and height are checked against MAX_PICTURE_PIXELS before a pixel is
    decoded (Pillow's open reads only the header), so a 60000x60000 PNG is one line, not gigabytes;
  - upright: a phone photo's EXIF orientation is applied (ImageOps.exif_transpose), as a photo viewer shows it;
  - 16-bit grey keeps its high byte, as Pillow reads 16-bit RGB (its convert() would clip every value at 255);
  - transparency, a palette's or a single colour's (PNG tRNS), becomes alpha.
Pillow is imported when a file is read, not on import: importing this module costs nothing.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from latent_common.errors import UserError, reason
from latent_common.files import open_regular

MAX_PICTURE_PIXELS = 50_000_000  # a picture with more pixels than this (by its header) is refused, not decoded
NO_FILE = "cannot read it as an image (no such file)"
SIXTEEN_BIT_GREY = ("I;16", "I;16B", "I;16L", "I")  # Pillow's modes for a 16-bit grey PNG ("I": older Pillow)


class PictureError(UserError):
    """A picture file that can't be read as an image."""


class PillowMissing(PictureError):
    """Pillow is not installed, so no picture file can be read."""


def read_picture(path: str | Path, max_pixels: int = MAX_PICTURE_PIXELS) -> np.ndarray:
    """Decode a picture file to uint8 RGBA (H, W, 4), upright; opaque formats get alpha 255."""
    image_module, image_ops = pillow()
    try:
        with warnings.catch_warnings(), open_regular(path, PictureError, NO_FILE) as handle:  # a FIFO: one line
            # Pillow warns past its own limit (89 million pixels) and refuses past twice that; ours is lower.
            warnings.simplefilter("ignore", image_module.DecompressionBombWarning)
            with image_module.open(handle) as image:
                check_size(path, image.width, image.height, max_pixels)  # the header only: nothing decoded yet
                return rgba(image_ops.exif_transpose(image))
    except image_module.DecompressionBombError:
        raise PictureError(f"{path}: more than {max_pixels:,} pixels; too large to read") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:  # missing, not an image, truncated, unsupported
        raise PictureError(f"{path}: cannot read it as an image ({reason(exc)})") from None


def pillow():
    """PIL.Image and PIL.ImageOps, or a PillowMissing that says how to install it."""
    try:
        from PIL import Image, ImageOps
    except ImportError:
        raise PillowMissing(
            "reading picture files needs Pillow, which is not installed here: pip install pillow"
        ) from None
    return Image, ImageOps


def check_size(path: str | Path, width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels or width == 0 or height == 0:
        raise PictureError(f"{path}: {width}x{height} pixels is outside 1 to {max_pixels:,}")


def rgba(image) -> np.ndarray:
    """A decoded PIL image -> uint8 (H, W, 4)."""
    if image.mode not in SIXTEEN_BIT_GREY:
        return np.asarray(image.convert("RGBA"))  # palettes, grey, CMYK...; tRNS and palette alpha become alpha
    values = np.asarray(image).astype(np.int64)  # (H, W) in [0, 65535]
    grey = (np.clip(values, 0, 65535) >> 8).astype(np.uint8)
    transparent = image.info.get("transparency")
    alpha = np.full(grey.shape, 255, dtype=np.uint8)
    if isinstance(transparent, int):
        alpha[values == transparent] = 0
    return np.dstack([grey, grey, grey, alpha])
