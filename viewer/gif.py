"""Animated GIFs in numpy and the standard library: how a latent walk leaves the viewer as one file.

Why no dependency: the viewer installs numpy, onnxruntime and pygame-ce only, and pygame saves PNG, JPEG and
BMP but cannot write a GIF. Pillow can, but it is not a viewer dependency (it is training's, to read pictures),
and adding it for one export would grow every viewer install. The format is small enough to write directly:
about a hundred lines below, checked against Pillow's decoder in tests/test_gif_pillow.py.

The file (GIF89a, https://www.w3.org/Graphics/GIF/spec-gif89a.txt):
  header "GIF89a", logical screen descriptor with one 256-entry global colour table;
  NETSCAPE2.0 application extension: the loop count (0 = forever);
  per frame: graphic control extension (delay in 1/100 s), image descriptor, LZW-compressed pixel indices;
  trailer ";".
LZW (spec appendix F): 8-bit minimum code size, codes from 9 up to 12 bits growing as the table fills, a clear
code first and whenever the table reaches 4096 entries, packed least significant bit first into sub-blocks of at
most 255 bytes.

Palette: grey frames (T, H, W) use the 256 grey levels, so they are stored exactly. Colour frames (T, H, W, 3)
share one palette for the whole animation (so colours don't flicker from frame to frame): when the frames hold
at most 256 distinct colours, those colours exactly; otherwise a median cut (Heckbert 1982) over the distinct
colours of all frames, weighted by how often each occurs, and every colour mapped to its nearest palette entry
(Euclidean in RGB, no dithering: dithering would make frames that barely differ flicker). Beyond 32,768 distinct
colours (photo-like frames), colours are first grouped into cells of 8 levels a channel and the cells' mean
colours cut and mapped instead, which adds at most a cell's width to the error and keeps the time bounded.

Speed: the LZW loop is plain Python over one frame's bytes (a dict from (prefix, byte) to code); decoded digits
are mostly background, which LZW codes in long runs, so a 40-frame 224x224 walk takes a fraction of a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from latent_common.atomic import atomic_write

MIN_CODE_SIZE = 8  # pixel indices are bytes: a 256-entry palette
MAX_CODE_BITS = 12  # the GIF limit: the table holds at most 4096 codes
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
    frames = check_frames(frames)
    delays = delays_cs(duration_ms, len(frames))
    palette, indices = quantise(frames)  # (256, 3) uint8, (T, H, W) uint8
    height, width = indices.shape[1:]
    parts = [b"GIF89a", logical_screen(width, height), palette.tobytes()]
    if loop is not None:
        parts.append(netscape_loop(loop))
    for frame, delay in zip(indices, delays):
        parts += [graphic_control(delay), image_descriptor(width, height), bytes([MIN_CODE_SIZE])]
        parts.append(sub_blocks(pack_codes(*lzw_codes(frame.tobytes()))))
    parts.append(b";")  # the trailer
    return b"".join(parts)


def frames_from_images(images: np.ndarray, scale: int = 1) -> np.ndarray:
    """Viewer images, float (T, C, H, W) in [0, 1] with C = 1 or 3, -> GIF frames uint8 (T, H * scale, W * scale)
    for grey or (T, H * scale, W * scale, 3) for colour, each pixel repeated scale times each way (nearest
    neighbour: a 28x28 digit stays crisp at 224x224, and long runs of equal pixels are what LZW compresses)."""
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


# Blocks ---------------------------------------------------------------------------------------------------------


def u16(value: int) -> bytes:
    return int(value).to_bytes(2, "little")


def logical_screen(width: int, height: int) -> bytes:
    # packed: global colour table present, 8 bits of colour resolution, unsorted, 2^(7+1) = 256 entries
    return u16(width) + u16(height) + bytes([0b1111_0111, 0, 0])


def netscape_loop(loop: int) -> bytes:
    if not 0 <= loop <= 0xFFFF:
        raise ValueError(f"loop must be 0 (forever) to 65535, got {loop}")
    return b"\x21\xff\x0bNETSCAPE2.0\x03\x01" + u16(loop) + b"\x00"


def graphic_control(delay_cs: int) -> bytes:
    # packed: disposal 1 (leave the frame in place: every frame covers the whole screen), no transparency
    return b"\x21\xf9\x04" + bytes([0b0000_0100]) + u16(delay_cs) + b"\x00\x00"


def image_descriptor(width: int, height: int) -> bytes:
    return b"\x2c" + u16(0) + u16(0) + u16(width) + u16(height) + b"\x00"  # no local table, not interlaced


def sub_blocks(data: bytes) -> bytes:
    """Data as length-prefixed blocks of at most 255 bytes, ended by an empty block."""
    blocks = [bytes([len(data[i : i + 255])]) + data[i : i + 255] for i in range(0, len(data), 255)]
    return b"".join(blocks) + b"\x00"


# LZW ------------------------------------------------------------------------------------------------------------


def lzw_codes(pixels: bytes, min_code_size: int = MIN_CODE_SIZE) -> tuple[list[int], list[int]]:
    """LZW-encode palette indices: the codes and the bit width each is written with.

    The decoder builds the same table one code behind the encoder, so the width grows right after the encoder
    adds the entry numbered 2^width (the decoder adds its twin before reading the next code).
    """
    clear, end = 1 << min_code_size, (1 << min_code_size) + 1
    codes, widths = [clear], [min_code_size + 1]
    table: dict[int, int] = {}  # (prefix code << 8 | next byte) -> code
    next_code, width = end + 1, min_code_size + 1
    prefix = pixels[0]
    for byte in pixels[1:]:
        key = (prefix << 8) | byte
        code = table.get(key)
        if code is not None:  # the string so far plus this byte is known: keep extending it
            prefix = code
            continue
        codes.append(prefix)
        widths.append(width)
        table[key] = next_code
        if next_code == 1 << width and width < MAX_CODE_BITS:
            width += 1
        next_code += 1
        if next_code == 1 << MAX_CODE_BITS:  # the table is full: start again, so codes keep adapting
            codes.append(clear)
            widths.append(width)
            table.clear()
            next_code, width = end + 1, min_code_size + 1
        prefix = byte
    codes.append(prefix)
    widths.append(width)
    if next_code == 1 << width and width < MAX_CODE_BITS:  # the decoder adds its twin of the last entry on
        width += 1  # reading that code, and may grow before it reads the end code
    codes.append(end)
    widths.append(width)
    return codes, widths


def pack_codes(codes: list[int], widths: list[int]) -> bytes:
    """Concatenate codes of the given bit widths, least significant bit first, into bytes."""
    codes_arr = np.asarray(codes, dtype=np.uint16)
    widths_arr = np.asarray(widths, dtype=np.uint8)
    positions = np.arange(MAX_CODE_BITS, dtype=np.uint16)
    bits = ((codes_arr[:, None] >> positions) & 1).astype(np.uint8)  # (N, 12), bit 0 first
    used = positions[None, :] < widths_arr[:, None]  # row-major order keeps code order and bit order
    return np.packbits(bits[used], bitorder="little").tobytes()
