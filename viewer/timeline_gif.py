"""`--export-timeline FILE.gif`: the latent space forming in training, as one animation, without a window.

Each frame shows the plot (every test image's dot, in its class's colour, at the snapshot's aligned place) and,
beside it, what the model of that moment decodes at one chosen plot point (marked with a cross), over a line
naming the step, epoch and test MSE and a small curve of the test MSE with the snapshot marked on it. Between two
snapshots `tween` frames move the dots in a straight line from one place to the next (the decode stays the
earlier snapshot's until the later one is reached), and the view follows the dots as they spread (its width is
written in the corner). numpy draws, Pillow writes the text and the GIF (gif.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from latent_common.errors import UserError
from latent_common.style import BACKGROUND, CURSOR, DIM_TEXT, PANEL, TEXT, class_color
from viewer.api import OpenedBundle, Snapshot, open_bundle
from viewer.bundle import view_bounds
from viewer.gif import write_gif

PLOT = 320  # pixels a side of the plot
TILE = 140  # pixels a side of the decode
CURVE = (TILE, 60)  # the test MSE curve, width and height
MARGIN = 10
HOLD_MS = (1200, 500)  # the last frame and every snapshot's own frame are held this long; tween frames 80 ms


def frame_bounds(xy: np.ndarray) -> tuple[np.ndarray, float]:
    """The centre (2,) and half-width of a square view framing the central 99% of the dots xy (N, 2)."""
    bounds = np.asarray(view_bounds(xy), dtype=np.float64)
    return bounds.mean(axis=1), float(np.ptp(bounds, axis=1).max() / 2)


def between(views: list[tuple[np.ndarray, float]], i: int, t: float) -> np.ndarray:
    """(2, 2) low/high of the view t of the way from snapshot i's to the next's: the centre moves in a line, the
    width by a constant factor a frame (an untrained model's dots fill a hundredth of the final view, so the
    view follows them out as they spread)."""
    centre, half = views[i]
    if t:
        centre = (1 - t) * centre + t * views[i + 1][0]
        half = half ** (1 - t) * views[i + 1][1] ** t
    return np.stack([centre - half, centre + half], axis=1)


def to_pixels(xy: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """(N, 2) plot points -> (N, 2) integer pixel (column, row) in the PLOT square, y up."""
    unit = (xy - bounds[:, 0]) / (bounds[:, 1] - bounds[:, 0])
    return np.column_stack([unit[:, 0] * (PLOT - 1), (1 - unit[:, 1]) * (PLOT - 1)]).round().astype(np.int64)


def draw_plot(xy: np.ndarray, colours: np.ndarray, bounds: np.ndarray, point: np.ndarray) -> np.ndarray:
    """The plot, uint8 (PLOT, PLOT, 3): 2x2-pixel dots in their class colours, a cross at the decoded point."""
    canvas = np.empty((PLOT, PLOT, 3), dtype=np.uint8)
    canvas[:] = PANEL
    pixels = to_pixels(xy, bounds)
    for dx in (0, 1):
        for dy in (0, 1):
            col, row = pixels[:, 0] + dx, pixels[:, 1] + dy
            inside = (col >= 0) & (col < PLOT) & (row >= 0) & (row < PLOT)
            canvas[row[inside], col[inside]] = colours[inside]
    col, row = to_pixels(point[None], bounds)[0]
    if 0 <= col < PLOT and 0 <= row < PLOT:
        canvas[row, max(col - 6, 0) : col + 7] = CURSOR
        canvas[max(row - 6, 0) : row + 7, col] = CURSOR
    return canvas


def tile_pixels(image: np.ndarray) -> np.ndarray:
    """A decode, float32 (C, H, W) in [0, 1] -> uint8 (TILE, TILE, 3), nearest-neighbour enlarged."""
    rgb = np.repeat(image, 3, axis=0) if image.shape[0] == 1 else image
    pixels = (np.clip(rgb.transpose(1, 2, 0), 0, 1) * 255).round().astype(np.uint8)
    rows = np.arange(TILE) * pixels.shape[0] // TILE
    cols = np.arange(TILE) * pixels.shape[1] // TILE
    return pixels[rows][:, cols]


def curve_points(timeline: tuple[Snapshot, ...]) -> list[tuple[float, float]]:
    """The test MSE by snapshot as CURVE pixel points: x by log(1 + step), y by MSE (top: the worst)."""
    steps = np.log1p([snap.step for snap in timeline])
    mse = np.array([snap.test_mse for snap in timeline])
    x = (steps - steps.min()) / max(np.ptp(steps), 1e-12) * (CURVE[0] - 1)
    y = (mse.max() - mse) / max(np.ptp(mse), 1e-12) * (CURVE[1] - 1)
    return [(float(a), float(b)) for a, b in zip(x, y)]


def compose(
    plot: np.ndarray, tile: np.ndarray, snap: Snapshot, curve: list, index: int, title: str, width_units: float
) -> np.ndarray:
    """One frame, uint8 (H, W, 3): the plot, the decode, the words and the curve (Pillow draws the text)."""
    from PIL import Image, ImageDraw

    width, height = PLOT + TILE + 3 * MARGIN, PLOT + 2 * MARGIN + 16
    frame = Image.new("RGB", (width, height), BACKGROUND)
    frame.paste(Image.fromarray(plot), (MARGIN, MARGIN + 16))
    right = PLOT + 2 * MARGIN
    frame.paste(Image.fromarray(tile), (right, MARGIN + 16))
    draw = ImageDraw.Draw(frame)
    draw.text((MARGIN, 4), title, fill=TEXT)
    lines = [f"step {snap.step:,}", f"epoch {snap.epoch:.2f}", f"test MSE {snap.test_mse:.4f}"]
    draw.text((MARGIN + 4, MARGIN + 20), f"view {width_units:.3g} units wide", fill=DIM_TEXT)
    for i, line in enumerate(lines):
        draw.text((right, MARGIN + 22 + TILE + 14 * i), line, fill=TEXT if i == 0 else DIM_TEXT)
    top = MARGIN + 22 + TILE + 14 * len(lines) + 6
    points = [(right + x, top + y) for x, y in curve]
    draw.line(points, fill=DIM_TEXT, width=1)
    x, y = points[index]
    draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=CURSOR)
    draw.text((right, top + CURVE[1] + 2), "test MSE by step (log)", fill=DIM_TEXT)
    return np.asarray(frame)


def timeline_frames(opened: OpenedBundle, point: np.ndarray, tween: int) -> tuple[np.ndarray, list[float]]:
    """The animation's frames, uint8 (T, H, W, 3), and each one's delay in ms: one frame per snapshot, and
    `tween` frames moving the dots between each two."""
    timeline = opened.timeline
    views = [frame_bounds(snap.map_xy) for snap in timeline]
    colours = np.array([class_color(i) for i in range(len(opened.bundle.class_names))], dtype=np.uint8)
    colours = colours[opened.bundle.labels]
    curve = curve_points(timeline)
    title = f"{opened.bundle.name}: the latent space as it trains"
    frames, delays = [], []
    for i, snap in enumerate(timeline):
        tile = tile_pixels(snap.decode_at(point[None])[0])
        following = timeline[i + 1] if i + 1 < len(timeline) else None
        steps = [0.0] + ([k / (tween + 1) for k in range(1, tween + 1)] if following is not None else [])
        for t in steps:
            xy = snap.map_xy if t == 0 else (1 - t) * snap.map_xy + t * following.map_xy
            bounds = between(views, i, t)
            plot = draw_plot(xy, colours, bounds, point)
            frames.append(compose(plot, tile, snap, curve, i, title, float(bounds[0, 1] - bounds[0, 0])))
            delays.append(HOLD_MS[1] if t == 0 else 80)
    delays[-1] = HOLD_MS[0]
    return np.stack(frames), delays


def export_timeline(args: argparse.Namespace) -> str:
    """`--export-timeline FILE.gif [--timeline-point X Y] [--tween N]`: write the animation and say what it holds."""
    opened = open_bundle(args.bundle, strict=args.strict)
    if not opened.timeline:
        raise UserError(
            f"{args.bundle}: has no timeline (a bundle exported from a training run with snapshots has one; "
            "the wheel leaves the shipped bundles' timelines out)"
        )
    if args.timeline_point is not None:
        point = np.asarray(args.timeline_point, dtype=np.float64)
    else:  # the middle of the last snapshot's dots: where the classes meet, and the decode changes most
        point = np.median(opened.timeline[-1].map_xy, axis=0)
    frames, delays = timeline_frames(opened, point, args.tween)
    write_gif(Path(args.export_timeline), frames, delays)
    return (
        f"saved {args.export_timeline}: {len(frames)} frames, {len(opened.timeline)} snapshots "
        f"(steps {opened.timeline[0].step:,} to {opened.timeline[-1].step:,}), decoded at "
        f"({point[0]:.3g}, {point[1]:.3g})"
    )
