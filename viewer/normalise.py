"""Make a drawing look like an MNIST digit before it is encoded: the steps MNIST's own digits went through.

LeCun, Cortes and Burges (http://yann.lecun.com/exdb/mnist/): "The original black and white (bilevel) images
from NIST were size normalized to fit in a 20x20 pixel box while preserving their aspect ratio. The resulting
images contain grey levels as a result of the anti-aliasing technique used by the normalization algorithm. The
images were centered in a 28x28 image by computing the center of mass of the pixels, and translating the image
so as to position this point at the center of the 28x28 field."

A model trained on those digits has only seen ink of that size at that place: a 7 drawn large across the whole
tile, or in a corner, lands far from the 7s in latent space. `like_mnist` repeats the steps:
  1. the bounding box of the ink (pixels above a tenth of the brightest, so a soft brush's faint halo doesn't
     count as ink, the way NIST's bilevel scans had none);
  2. that box cropped and resized to fit fit * (H, W) (20x20 of 28x28) with its aspect ratio kept, its long side
     exactly the box's: an area average when it shrinks (the anti-aliasing), bilinear when it grows
     (`latent_common.images.resize`, the conversion training and the viewer already share);
  3. translated by whole pixels, rounded to the nearest, so the centre of mass sits at (H / 2, W / 2) in pixel
     indices: (14, 14) for 28x28. Whole pixels because that is what MNIST did: its test digits' centres of mass
     average (14.0, 14.0) with a spread of 0.29 px, the spread of rounding (1 / sqrt(12)); a sub-pixel
     (bilinear) shift would also blur the strokes a little. The shift stops where the ink's box would leave the
     field (only for a lopsided shape, whose mass sits over 4 px from its box's centre): losing ink would change
     the digit more than a centre of mass off by a pixel or two would.
An empty canvas stays empty. Images are float (H, W) or (1, H, W) in [0, 1], ink bright on a dark ground.
"""

from __future__ import annotations

import numpy as np

from latent_common.images import resize

MNIST_FIT = 20 / 28  # the digit's box over the field's side
INK = 0.1  # a pixel is ink when brighter than this share of the brightest pixel
EMPTY = 1e-3  # a canvas whose brightest pixel is dimmer than this holds no drawing


def light_on_dark(image: np.ndarray) -> tuple[np.ndarray, bool]:
    """A picture of dark ink on light paper (a photo or scan of a written digit), turned into MNIST's light ink
    on a dark ground; judged by the border, which is paper. Returns the image and whether it was inverted."""
    border = np.concatenate([image[..., 0, :], image[..., -1, :], image[..., :, 0], image[..., :, -1]], axis=-1)
    if float(border.mean()) > 0.5:
        return (1.0 - image).astype(np.float32), True
    return image, False


def like_mnist(canvas: np.ndarray, size: tuple[int, int] | None = None, fit: float = MNIST_FIT) -> np.ndarray:
    """A grey canvas (H, W) or (1, H, W) in [0, 1] -> the same layout at size (default: the canvas's own),
    float32: the ink scaled to fit a fit * size box, centred by its centre of mass."""
    image = np.asarray(canvas, dtype=np.float64)
    if image.ndim == 3 and image.shape[0] == 1:
        plane = image[0]
    elif image.ndim == 2:
        plane = image
    else:
        raise ValueError(f"expected a grey canvas (H, W) or (1, H, W), got {list(image.shape)}")
    height, width = size if size is not None else plane.shape
    if not 0 < fit <= 1:
        raise ValueError(f"fit must be in (0, 1], got {fit}")
    out = np.zeros((height, width))
    if plane.size and plane.max() > EMPTY:
        out = place(plane, (height, width), fit)
    out = np.clip(out, 0.0, 1.0).astype(np.float32)
    return out[None] if image.ndim == 3 else out


def ink_box(plane: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the ink, bottom and right exclusive."""
    ink = plane > INK * plane.max()
    rows, cols = np.nonzero(ink.any(axis=1))[0], np.nonzero(ink.any(axis=0))[0]
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def centre_of_mass(plane: np.ndarray) -> tuple[float, float]:
    """(row, column) of the intensity-weighted mean pixel index."""
    total = plane.sum()
    rows = plane.sum(axis=1) @ np.arange(plane.shape[0]) / total
    cols = plane.sum(axis=0) @ np.arange(plane.shape[1]) / total
    return float(rows), float(cols)


def place(plane: np.ndarray, size: tuple[int, int], fit: float) -> np.ndarray:
    """Crop the ink's box, resize it to fit the fit box, then shift it into a zero field of size."""
    height, width = size
    top, bottom, left, right = ink_box(plane)
    scale = min(fit * height / (bottom - top), fit * width / (right - left))
    # The crop is resized to whole pixels, so its long side is exactly the box's (20) and the result depends
    # only on the drawing, not on where it sat on the canvas's pixel grid.
    box_h = min(max(1, round((bottom - top) * scale)), height)
    box_w = min(max(1, round((right - left) * scale)), width)
    patch = resize(plane[None, top:bottom, left:right], box_h, box_w)[0]
    com_y, com_x = centre_of_mass(patch)
    dy = shift(height / 2 - com_y, box_h, height)
    dx = shift(width / 2 - com_x, box_w, width)
    out = np.zeros(size)
    out[dy : dy + box_h, dx : dx + box_w] = patch
    return out


def shift(wanted: float, extent: int, field: int) -> int:
    """Round a shift to whole pixels, then keep the patch (extent pixels from the shift) inside the field."""
    whole = int(np.floor(wanted + 0.5))  # half up: Python's round() would send halves to even
    return min(max(whole, 0), field - extent)
