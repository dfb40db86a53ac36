"""Turn a picture into what a model takes: the one conversion that training and the viewer share.

Both decode a file with latent_common.pictures.read_picture and hand its RGBA pixels to `to_model_input`,
so a user's picture reaches the encoder exactly as the training images did. numpy only.

The steps, in order (recorded in a bundle's `preprocess` as `"resize": RESIZE_METHOD`):
  1. composite: alpha blends each pixel onto `background` (white by default), the way a page shows a
     transparent picture; the result is opaque RGB.
  2. pad: the shorter side is padded with the background, centred, until the picture has the target's
     aspect ratio, so nothing is cropped and nothing is stretched.
  3. grey (channels == 1): ITU-R BT.601 luma, 0.299 R + 0.587 G + 0.114 B.
  4. resize, each axis on its own: an area average (box filter) when it shrinks, so every source pixel
     counts and thin strokes don't alias away; bilinear interpolation with half-pixel centres when it
     grows; nothing when the size is already right.
  5. round to the nearest integer, as uint8, channels first: [C, H, W].
Every step runs in float64: two machines can differ only where a value lands within ~1e-12 of a rounding tie.
"""

from __future__ import annotations

import numpy as np

RESIZE_METHOD = "pad-area-bilinear"  # the name bundle.json's preprocess records for the steps above
DEFAULT_BACKGROUND = (255, 255, 255)  # white: emoji and clip art are drawn to sit on a page
LUMA_BT601 = np.array([0.299, 0.587, 0.114])


def to_model_input(
    rgba: np.ndarray, size: tuple[int, int], channels: int, background: tuple[int, int, int] = DEFAULT_BACKGROUND
) -> np.ndarray:
    """uint8 [H, W, 4] (or [H, W, 3], or grey [H, W]) -> uint8 [channels, size[0], size[1]].

    channels is 1 (grey) or 3 (RGB); size is (height, width) in pixels.
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    height, width = (int(n) for n in size)
    if height < 1 or width < 1:
        raise ValueError(f"size must be positive, got {size}")
    rgb = composite(rgba, background)  # (H, W, 3) float64 in [0, 255]
    rgb = pad_to_aspect(rgb, height / width, background)
    planes = luma(rgb)[None] if channels == 1 else rgb.transpose(2, 0, 1)  # (C, H', W')
    resized = resize(planes, height, width)  # (C, height, width)
    return np.clip(np.rint(resized), 0, 255).astype(np.uint8)


def luma(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) -> (H, W): BT.601 luma; a grey pixel keeps its exact value (the weights sum to 1 only up to
    float rounding, and one unit in the last place can flip a rounding tie after an area average)."""
    grey = (rgb[..., 0] == rgb[..., 1]) & (rgb[..., 1] == rgb[..., 2])
    return np.where(grey, rgb[..., 0], rgb @ LUMA_BT601)


def resize(planes: np.ndarray, height: int, width: int) -> np.ndarray:
    """(C, H, W) float -> (C, height, width): each axis through its own weight matrix (none when it fits).

    One plane at a time, so a plane's result never depends on the others: a grey picture converted to one
    channel gives exactly the first plane of its three-channel conversion.
    """
    rows = axis_weights(planes.shape[1], height) if planes.shape[1] != height else None  # (height, H)
    columns = axis_weights(planes.shape[2], width).T if planes.shape[2] != width else None  # (W, width)
    out = []
    for plane in planes:
        if rows is not None:
            plane = rows @ plane
        if columns is not None:
            plane = plane @ columns
        out.append(plane)
    return np.stack(out)


def composite(rgba: np.ndarray, background: tuple[int, int, int]) -> np.ndarray:
    """Blend onto an opaque background: (H, W, 3) float64 in [0, 255]. Opaque inputs pass through."""
    image = np.asarray(rgba)
    if image.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels, got {image.dtype}")
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4) or 0 in image.shape:
        raise ValueError(f"expected pixels of shape [H, W], [H, W, 3] or [H, W, 4], got {list(image.shape)}")
    colour = np.broadcast_to(image[..., :3], (*image.shape[:2], 3)).astype(np.float64)  # grey repeats
    if image.shape[2] != 4:
        return colour
    alpha = image[..., 3:].astype(np.float64) / 255.0
    return colour * alpha + np.asarray(background, dtype=np.float64) * (1.0 - alpha)


def pad_to_aspect(rgb: np.ndarray, aspect: float, background: tuple[int, int, int]) -> np.ndarray:
    """Pad (H, W, 3) with the background, centred, to height/width = aspect.

    An odd pixel goes to the bottom or right.
    """
    height, width = rgb.shape[:2]
    if width * aspect > height:  # too wide: rows go above and below
        target_height, target_width = max(height, round(width * aspect)), width
    else:  # too tall: columns go left and right
        target_height, target_width = height, max(width, round(height / aspect))
    if (target_height, target_width) == (height, width):
        return rgb
    canvas = np.empty((target_height, target_width, 3))
    canvas[:] = np.asarray(background, dtype=np.float64)
    top, left = (target_height - height) // 2, (target_width - width) // 2
    canvas[top : top + height, left : left + width] = rgb
    return canvas


def axis_weights(n_in: int, n_out: int) -> np.ndarray:
    """The (n_out, n_in) matrix that resizes one axis: identity, area average (shrink) or bilinear (grow)."""
    if n_out == n_in:
        return np.eye(n_in)
    if n_out < n_in:  # output pixel i covers source [i * scale, (i + 1) * scale)
        scale = n_in / n_out
        edges = np.arange(n_out + 1) * scale
        source = np.arange(n_in)
        overlap = np.minimum(edges[1:, None], source[None, :] + 1) - np.maximum(edges[:-1, None], source[None, :])
        return np.clip(overlap, 0.0, None) / scale
    centres = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)  # half-pixel centres
    below = np.floor(centres).astype(int)
    above = np.minimum(below + 1, n_in - 1)
    fraction = centres - below
    weights = np.zeros((n_out, n_in))
    weights[np.arange(n_out), below] += 1.0 - fraction
    weights[np.arange(n_out), above] += fraction
    return weights


def has_colour(rgba: np.ndarray) -> bool:
    """Whether any visible pixel of uint8 [H, W], [H, W, 3] or [H, W, 4] is not a shade of grey."""
    image = np.asarray(rgba)
    if image.ndim == 2 or image.shape[2] == 1:
        return False
    r, g, b = (image[..., i] for i in range(3))
    tinted = (r != g) | (g != b)
    if image.shape[2] == 4:
        tinted &= image[..., 3] > 0
    return bool(tinted.any())
