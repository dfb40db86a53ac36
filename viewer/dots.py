"""The scatter's dots as one numpy raster, for embeddings too large to blit a sprite per point (numpy only).

Up to SPRITE_LIMIT points, render.scatter_surface blits one alpha sprite per dot: about 1.5 µs a dot, so
1.5 s to redraw a million after every zoom or pan. Past it, `blend` draws the same dots in a few passes
over the plot's pixels, whatever the count: each point is binned to its pixel (np.bincount), the counts
spread over the sprite's footprint, and each pixel takes

  alpha = 1 - (1 - DOT_ALPHA / 255) ** n     (n dots cover it: what n stacked sprites give)
  colour = the class colour of the last dot drawn over it (the sprite on top, as blitting in order leaves it)

so a lone dot looks like a sprite (to 1 of 255), and dense clusters saturate to their class colour as they do
with sprites, while their density still reads in the sparse fringe.
"""

from __future__ import annotations

import numpy as np

from latent_common.style import class_color

# Bundles up to this many points keep a sprite per dot, and their look: the shipped ones (10,000) and the tests'.
# Past it the raster is faster: at 50,000 points sprites take ~80 ms a redraw here, the raster ~20.
SPRITE_LIMIT = 20_000
DOT_ALPHA = 170  # a sprite's opacity, as render._dot_sprites draws them
# The pixels pygame.draw.circle(radius=2) covers in a 5x5 sprite blitted at the centre less 2: (dx, dy) from the
# centre pixel, y down. The 4x4 disc is off-centre by one pixel, as pygame draws it.
FOOTPRINT = (
    [(-1, -2), (0, -2)]
    + [(dx, dy) for dy in (-1, 0) for dx in (-2, -1, 0, 1)]
    + [(-1, 1), (0, 1)]
)  # fmt: skip
PAD = 2  # the footprint reaches this far from a centre: dots this close outside the plot still show inside it
SLICE = 200_000  # points binned at a time: ~3 ms here, their scattered writes within the cache
SATURATED = 64  # dots on one pixel past which it is opaque to 8 bits: (1 - 170/255) ** 64 < 1e-30


def centres(points: np.ndarray, view: np.ndarray, size: tuple[int, int],
            part: slice = slice(None), shift: float = 0.5) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Plane points (N, 2) -> each one's pixel column and row in a plot of size (W, H), as floats rounded the way
    Layout.to_screen rounds them, plus `shift`: 0.5, so truncating a non-negative one rounds it."""
    (x_low, x_high), (y_low, y_high) = view
    width, height = size
    centre, xs, ys = columns(points)
    xs, ys = xs[part], ys[part]
    # in place, in float32: each pass over a million points reads half what float64 would
    x = np.subtract(xs, np.float32(x_low - centre[0]))
    x *= np.float32((width - 1) / (x_high - x_low))
    x += np.float32(shift)
    y = np.subtract(ys, np.float32(y_low - centre[1]))
    y *= np.float32(-(height - 1) / (y_high - y_low))
    y += np.float32(height - 1 + shift)
    return x, y


_COLUMNS: list[
    tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
] = []  # the last points drawn, as columns() made them


def columns(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centre (2,), x (N,), y (N,)): the points about their centre as contiguous float32 columns, made once per
    points array, since every zoom and pan redraws the same one. About the centre, float32 places a dot to about
    1e-7 of the embedding's spread: a pixel's error only past ~100,000x zoom."""
    if not _COLUMNS or _COLUMNS[0][0] is not points:
        centre = np.asarray(points[:: max(len(points) // 4096, 1)], dtype=np.float64).mean(axis=0)  # (2,)
        if points.dtype == np.float32:  # about a centre float32 holds exactly, float32 subtracts as float64 would
            centre = centre.astype(np.float32)
            xs, ys = (points[:, axis] - centre[axis] for axis in (0, 1))
            centre = centre.astype(np.float64)
        else:
            xs, ys = ((points[:, axis] - centre[axis]).astype(np.float32) for axis in (0, 1))
        _COLUMNS[:] = [(points, centre, xs, ys)]
    return _COLUMNS[0][1:]


def coverage(points: np.ndarray, labels: np.ndarray, view: np.ndarray, size: tuple[int, int],
             hidden: frozenset[int] = frozenset()) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """How many dots cover each pixel of a plot of size (W, H), and the index of the last one drawn there
    (-1 where none): both (W, H) in surfarray's (x, y) order, from the visible points of the embedding."""
    return CoverageJob(points, labels, view, size, hidden).complete()


class CoverageJob:
    """coverage, a SLICE of points a frame: counts add up, and the last dot drawn on a pixel is the one of
    the latest slice that reaches it, since slices go in drawing order."""

    def __init__(self, points: np.ndarray, labels: np.ndarray, view: np.ndarray, size: tuple[int, int],
                 hidden: frozenset[int]):  # fmt: skip
        self.points, self.labels, self.view, self.size, self.hidden = points, labels, view.copy(), size, hidden
        wide, high = size[0] + 2 * PAD, size[1] + 2 * PAD
        self.counts = np.zeros(wide * high, dtype=np.int32)  # dots on each canvas pixel
        self.last = np.full(wide * high, -1, dtype=np.int32)  # the last dot drawn on it
        self.start = 0
        self.result: tuple[np.ndarray, np.ndarray] | None = None

    def matches(self, points, view, size, hidden) -> bool:
        return (self.points is points and np.array_equal(self.view, view) and self.size == size
                and self.hidden == hidden)  # fmt: skip

    def advance(self) -> None:
        if self.result is not None:
            return
        stop = min(self.start + SLICE, len(self.points))
        pixel, drawn = canvas_pixels(self.points, self.labels, self.view, self.size, self.hidden,
                                          slice(self.start, stop))  # fmt: skip
        self.counts += np.bincount(pixel, minlength=len(self.counts)).astype(np.int32)
        self.last[pixel] = drawn
        self.start = stop
        if stop == len(self.points):
            wide, high = self.size[0] + 2 * PAD, self.size[1] + 2 * PAD
            self.result = (spread(self.counts.reshape(wide, high), np.add, self.size),
                           spread(self.last.reshape(wide, high), np.maximum, self.size))  # fmt: skip
            self.counts = self.last = None

    def complete(self) -> tuple[np.ndarray, np.ndarray]:
        while self.result is None:
            self.advance()
        return self.result


def canvas_pixels(points: np.ndarray, labels: np.ndarray, view: np.ndarray, size: tuple[int, int],
                  hidden: frozenset[int] = frozenset(),
                  part: slice = slice(None)) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The canvas pixel (K,) of each visible dot among points[part] that reaches the plot, and its index (K,)
    into `points`, ascending: the order the sprites would be blitted in."""
    wide, high = size[0] + 2 * PAD, size[1] + 2 * PAD
    # canvas column and row + 1, + 0.5: truncated to int32 (fast), the canvas is 1..wide; 0, below, or beyond (or a
    # value int32 can't hold, which converts to a negative) lies outside, and one unsigned compare finds it
    x, y = centres(points, view, size, part, shift=0.5 + PAD + 1)
    column, row = x.astype(np.int32), y.astype(np.int32)
    column -= 1
    row -= 1
    keep = (column.view(np.uint32) < wide) & (row.view(np.uint32) < high)
    if hidden:
        shown = np.ones(max(int(labels.max()) + 1, 1), dtype=bool)
        shown[[label for label in hidden if label < len(shown)]] = False
        keep &= shown[labels[part]]
    drawn = np.flatnonzero(keep)  # (K,) within the part
    column *= high
    column += row
    return column[drawn], (drawn + (part.start or 0)).astype(np.int32)  # (K,) canvas pixels, and their dots


def spread(canvas: np.ndarray, combine: np.ufunc, size: tuple[int, int]) -> np.ndarray:
    """Each plot pixel (W, H) combines the canvas values of the dots whose FOOTPRINT covers it.

    A dot at canvas (i, j) covers plot pixel (i - PAD + dx, j - PAD + dy). The footprint is rows of 2, 4, 4
    and 2 pixels, so it combines in 5 passes instead of 12: pairs across, then fours from two pairs.
    """
    width, height = size
    pairs = combine(canvas[PAD : PAD + width], canvas[PAD + 1 : PAD + 1 + width])  # dx = 0 and -1
    fours = combine(combine(canvas[PAD - 1 : PAD - 1 + width], canvas[PAD + 2 : PAD + 2 + width]), pairs)  # dx 1, -2
    out = combine(pairs[:, PAD + 2 : PAD + 2 + height], fours[:, PAD + 1 : PAD + 1 + height])  # dy = -2, -1
    combine(out, fours[:, PAD : PAD + height], out=out)  # dy = 0
    combine(out, pairs[:, PAD - 1 : PAD - 1 + height], out=out)  # dy = 1
    return out


def blend(background: np.ndarray, points: np.ndarray, labels: np.ndarray, view: np.ndarray,
          hidden: frozenset[int] = frozenset(), colors: list | None = None,
          covered: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:  # fmt: skip
    """The plot's pixels (W, H, 3) uint8 (surfarray order) with the visible dots drawn over them -> (W, H, 3) uint8.
    `covered`: their coverage, when it was already binned (gesture.CoverageJob)."""
    covered, top = covered or coverage(points, labels, view, background.shape[:2], hidden)
    lit = np.flatnonzero(covered)  # (L,) the pixels dots cover, as indices into the flattened plot
    if not len(lit):
        return background
    class_count = int(labels.max()) + 1 if len(labels) else 1
    colors = colors or [class_color(index) for index in range(class_count)]
    palette = np.array(colors, dtype=np.float32)  # (labels, 3)
    opacity = 1.0 - (1.0 - DOT_ALPHA / 255.0) ** np.arange(SATURATED + 1, dtype=np.float32)  # by dots on a pixel
    # take() with flat indices, not a 2-D boolean mask: at a million dots over most of the plot, 1.5 ms, not 10
    alpha = opacity.take(np.minimum(covered.ravel().take(lit), SATURATED))[:, None]  # (L, 1)
    out = np.array(background, order="C")  # a copy, its pixels (W * H, 3) in the order of `lit`
    pixels = out.reshape(-1, 3)
    under = pixels.take(lit, axis=0).astype(np.float32)  # (L, 3)
    over = palette.take(labels.take(top.ravel().take(lit)), axis=0)
    mixed = (under + (over - under) * alpha + 0.5).astype(np.uint8)
    pixels.view("V3")[:, 0][lit] = mixed.view("V3")[:, 0]  # a pixel as one 3-byte item: 2.5x faster to scatter
    return out
