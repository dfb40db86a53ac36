"""Animated GIFs: how a latent walk leaves the viewer as one file.

pygame saves PNG, JPEG and BMP but cannot write a GIF; Pillow (a viewer dependency: it also decodes a dropped
picture) writes the file here: GIF89a, one global colour table, the NETSCAPE2.0 loop count (0 = forever), each
frame's delay in 1/100 s, every frame left in place for the next (disposal 1). Pillow stores a frame identical to
the one before as that frame shown for the summed delay, so the animation plays the same in fewer frames.

Palette: this module picks it, so Pillow only indexes and compresses. Grey frames (T, H, W) use the 256 grey
levels, so they are stored exactly. Colour frames (T, H, W, 3) share one palette for the whole animation (so
colours don't flicker from frame to frame): when the frames hold at most 256 distinct colours, those colours
exactly; otherwise a median cut (Heckbert 1982) over the distinct colours of all frames, weighted by how often
each occurs, and every colour mapped to its nearest palette entry (Euclidean in RGB, no dithering: dithering
would make frames that barely differ flicker). Beyond 32,768 distinct colours (photo-like frames), colours are
first grouped into cells of 8 levels a channel and the cells' mean colours cut and mapped instead, which adds at
most a cell's width to the error and keeps the time bounded. Pillow is imported when a GIF is written.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from latent_common.atomic import atomic_write

MAX_SIDE = 65535  # width and height are 16-bit fields
MIN_DELAY_CS = 2  # browsers show a delay under 2/100 s as 10/100 s, so the shortest that plays as asked
PALETTE_SIZE = 256
MAX_EXACT = 1 << 15  # more distinct colours than this are grouped into cells first: the mapping stays fast


def write_gif(path: str | Path, frames: np.ndarray, duration_ms: float | Sequence[float] = 80, loop: int | None = 0):
    """Write frames, uint8 (T, H, W) grey or (T, H, W, 3) RGB, as an animated GIF, atomically.

    duration_ms: one delay for every frame, or one per frame (rounded to 1/100 s, at least 20 ms).
    loop: how many times the animation repeats, 0 for forever, None to play once (no loop extension).
    """
    data = encode_gif(frames, duration_ms, loop)
    atomic_write(path, lambda handle: handle.write(data), suffix=".gif")


def encode_gif(frames: np.ndarray, duration_ms: float | Sequence[float] = 80, loop: int | None = 0) -> bytes:
    """The bytes of the GIF that write_gif writes."""
    from PIL import Image

    frames = check_frames(frames)
    delays = delays_cs(duration_ms, len(frames))
    if loop is not None and not 0 <= loop <= 0xFFFF:
        raise ValueError(f"loop must be 0 (forever) to 65535, got {loop}")
    palette, indices = quantise(frames)  # (256, 3) uint8, (T, H, W) uint8
    height, width = indices.shape[1:]
    pictures = [Image.frombytes("P", (width, height), frame.tobytes()) for frame in indices]
    for picture in pictures:
        picture.putpalette(palette.tobytes())
    # optimize=False: Pillow keeps our palette as it is (no per-frame subset, no transparency trick for
    # unchanged pixels); Pillow's duration is in ms and it writes ms // 10, so whole hundredths pass exactly.
    options = {"duration": [10 * delay for delay in delays], "disposal": 1, "optimize": False}
    if loop is not None:  # no loop extension at all: the animation plays once
        options["loop"] = loop
    out = io.BytesIO()
    pictures[0].save(out, format="GIF", save_all=True, append_images=pictures[1:], **options)
    return out.getvalue()


def frames_from_images(images: np.ndarray, scale: int = 1) -> np.ndarray:
    """Viewer images, float (T, C, H, W) in [0, 1] with C = 1 or 3, -> GIF frames uint8 (T, H * scale, W * scale)
    for grey or (T, H * scale, W * scale, 3) for colour, each pixel repeated scale times each way (nearest
    neighbour: a 28x28 digit stays crisp at 224x224, and long runs of equal pixels are what GIF's LZW compresses)."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"images must be (T, C, H, W) with C = 1 or 3, got {list(images.shape)}")
    if scale < 1:
        raise ValueError(f"scale must be at least 1, got {scale}")
    pixels = np.rint(np.clip(np.nan_to_num(images, nan=0.0), 0.0, 1.0) * 255).astype(np.uint8)
    pixels = pixels[:, 0] if pixels.shape[1] == 1 else pixels.transpose(0, 2, 3, 1)  # channels last for colour
    return pixels.repeat(scale, axis=1).repeat(scale, axis=2)


def check_frames(frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8, got {frames.dtype}")
    if not (frames.ndim == 3 or (frames.ndim == 4 and frames.shape[3] == 3)):
        raise ValueError(f"frames must be (T, H, W) or (T, H, W, 3), got {list(frames.shape)}")
    if 0 in frames.shape[:3] or max(frames.shape[1:3]) > MAX_SIDE:
        raise ValueError(f"frames must be 1 to {MAX_SIDE} pixels a side, at least one frame; got {list(frames.shape)}")
    return frames


def delays_cs(duration_ms: float | Sequence[float], count: int) -> list[int]:
    """Per-frame delays in 1/100 s (the GIF unit), clamped to what players honour and to the 16-bit field."""
    ms = np.broadcast_to(np.asarray(duration_ms, dtype=np.float64), (count,)) if np.ndim(duration_ms) == 0 else None
    if ms is None:
        ms = np.asarray(duration_ms, dtype=np.float64)
        if ms.shape != (count,):
            raise ValueError(f"duration_ms needs one delay per frame ({count}), got {ms.shape[0]}")
    if not np.all(np.isfinite(ms)) or np.any(ms < 0):
        raise ValueError("duration_ms must be finite and not negative")
    return [int(d) for d in np.clip(np.rint(ms / 10), MIN_DELAY_CS, 0xFFFF)]


# Palette --------------------------------------------------------------------------------------------------------


def quantise(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """frames -> (palette (256, 3) uint8, indices (T, H, W) uint8): one palette for every frame."""
    if frames.ndim == 3:  # grey: the value is the index
        return np.repeat(np.arange(PALETTE_SIZE, dtype=np.uint8)[:, None], 3, axis=1), frames
    packed = (frames[..., 0].astype(np.uint32) << 16) | (frames[..., 1].astype(np.uint32) << 8) | frames[..., 2]
    colours, inverse, counts = np.unique(packed.ravel(), return_inverse=True, return_counts=True)
    rgb = np.stack([(colours >> 16) & 255, (colours >> 8) & 255, colours & 255], axis=1).astype(np.int32)  # (U, 3)
    if len(colours) <= PALETTE_SIZE:  # lossless: the frames' own colours
        palette, nearest = rgb, np.arange(len(colours))
    elif len(colours) <= MAX_EXACT:
        palette = median_cut(rgb, counts, PALETTE_SIZE)
        nearest = nearest_colour(rgb, palette)
    else:  # photo-like frames: cut and map the cells' mean colours, each cell's colours going where its mean goes
        cell_of, cell_rgb, cell_counts = cells(rgb, counts)
        palette = median_cut(cell_rgb, cell_counts, PALETTE_SIZE)
        nearest = nearest_colour(cell_rgb, palette)[cell_of]
    full = np.zeros((PALETTE_SIZE, 3), dtype=np.uint8)  # the table's size is a power of two: pad with black
    full[: len(palette)] = palette
    return full, nearest[inverse].astype(np.uint8).reshape(frames.shape[:3])


def median_cut(rgb: np.ndarray, counts: np.ndarray, size: int) -> np.ndarray:
    """Split the colour box with the widest channel range at its weighted median until there are size boxes;
    each box's colour is the weighted mean of the colours in it. rgb (U, 3) int, counts (U,) -> (<= size, 3)."""
    boxes = [np.arange(len(rgb))]
    spans = [np.ptp(rgb, axis=0)]  # each box's range per channel, kept beside it so it is computed once
    while len(boxes) < size:
        widest = int(np.argmax([span.max() for span in spans]))
        if spans[widest].max() == 0:
            break  # every box is one colour
        box, span = boxes.pop(widest), spans.pop(widest)
        box = box[np.argsort(rgb[box, int(np.argmax(span))], kind="stable")]
        weight = np.cumsum(counts[box])
        split = int(np.searchsorted(weight, weight[-1] / 2))  # the weighted median: half the pixels each side
        split = min(max(split, 1), len(box) - 1)  # both halves keep at least one colour
        for half in (box[:split], box[split:]):
            boxes.append(half)
            spans.append(np.ptp(rgb[half], axis=0))
    weights = [counts[box].astype(np.float64) for box in boxes]
    means = [(rgb[box] * w[:, None]).sum(axis=0) / w.sum() for box, w in zip(boxes, weights)]
    return np.clip(np.rint(np.array(means)), 0, 255).astype(np.uint8)


def cells(rgb: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group colours into cells of 8 levels a channel (32,768 cells at most): each colour's cell, and each
    cell's count-weighted mean colour and total count. rgb (U, 3) int, counts (U,) -> (U,), (N, 3), (N,)."""
    keys = ((rgb[:, 0] >> 3) << 10) | ((rgb[:, 1] >> 3) << 5) | (rgb[:, 2] >> 3)
    _, cell_of = np.unique(keys, return_inverse=True)
    cell_counts = np.bincount(cell_of, weights=counts)
    means = np.stack([np.bincount(cell_of, weights=counts * rgb[:, c]) for c in range(3)], axis=1)
    return cell_of, means / cell_counts[:, None], cell_counts


def nearest_colour(rgb: np.ndarray, palette: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Index of the nearest palette entry (Euclidean) for each colour: (U, 3), (P, 3) -> (U,)."""
    palette = palette.astype(np.int32)
    squared = (palette**2).sum(axis=1)
    out = np.empty(len(rgb), dtype=np.int64)
    for start in range(0, len(rgb), chunk):  # chunks keep the (chunk, P) distance table small
        block = rgb[start : start + chunk]
        out[start : start + chunk] = np.argmin(squared[None, :] - 2 * block @ palette.T, axis=1)
    return out
