"""The cached surfaces of one window layout, each rebuilt only when the state says what it shows changed.

Like matplotlib's blitting `BlitManager`: the frame loop calls `refresh` and `draw`; the scene decides what
is stale. Adding a panel means a refresh method here, a render function in render.py, and a rect in layout.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pygame

from viewer import render
from viewer.anomaly import ErrorScale, error_scale, scale_for
from viewer.bundle import Bundle
from viewer.explore import Plane, grid_centres, nearest, segment
from viewer.inference import GridDecoder, ModelRunError, OnnxModel
from viewer.layout import TRAVERSAL_STEPS, Layout
from viewer.manifold import MapJob, pan_shift, view_key
from viewer.normalise import light_on_dark, like_mnist
from viewer.spatial import GridIndex
from viewer.state import (
    Focus,
    ViewState,
    accept_encoding,
    direction_amount,
    drop_marker,
    encodes_canvas,
    notify,
    show_worst,
)
from viewer.stats import FrameStats
from viewer.thumbs import ThumbCache
from viewer.walk import REACH, Directions, path, traversal, traversal_directions

NEIGHBOURS = 4
HUD_CHARS = 52  # a HUD line longer than this may be clipped at the smallest panel: split it
TRAVERSAL_ROWS = 8  # directions in the traversal grid at most: PC1..PC8 of a larger latent
ROUTE_STEPS = 16  # points per leg of the walk's path drawn on the scatter: a great circle's curve looks smooth


@dataclass
class Models:
    """Everything opened from the bundle that the scene draws from."""

    bundle: Bundle
    plane: Plane
    points: np.ndarray  # (M, 2) where each test image sits in the plot
    decoder: OnnxModel
    encoder: OnnxModel  # for the drawing, on the CPU
    grid: GridDecoder | None  # --precompute: hover answered from a decoded lattice
    map_grid: int  # the manifold map's tiles per side
    mode: str  # "live decode", or the precompute grid, for the HUD
    notices: list[str]  # warnings the HUD keeps showing
    index: GridIndex | None = None  # neighbours of a large embedding (spatial.index_for); None: the full scan
    errors: ErrorScale | None = None  # each test image's reconstruction error, computed on first use

    def error_scale(self) -> ErrorScale:
        """The anomaly view's errors: read once, on first use (about 0.2 s for 10,000 MNIST digits)."""
        if self.errors is None:
            stored = self.bundle.errors  # export stores them; an older bundle's are computed here
            self.errors = (
                error_scale(stored)
                if stored is not None
                else scale_for(self.decoder, self.encoder, self.bundle.images_chw)
            )
        return self.errors


class Scene:
    def __init__(self, layout: Layout, fonts: dict, models: Models):
        self.layout, self.fonts = layout, fonts
        self.text = render.TextCache(fonts["text"])
        bundle = models.bundle
        names = np.array(bundle.class_names, dtype=object)[bundle.labels]  # (M,) by image: no Python loop over M
        size = max(min(layout.side.width // 2 - 8, layout.side.height // 2 - 20), 8)  # a 2x2 grid with captions
        self.thumbnails = render.Thumbnails(bundle.images_chw, names, size, fonts["small"])
        self.scatter_thumbs = ThumbCache(bundle.images_chw, render.image_surface)  # zoomed in: images for dots
        self.placed: np.ndarray | None = None  # the points drawn as their images, None while they are dots
        self.tile = render.DigitTile(bundle.chw, layout.digit.size)  # the decode
        self.canvas_tile = render.DigitTile(bundle.chw, layout.digit.size)  # the drawing
        self.scatter = self.legend = self.background = None  # pygame.Surface, once refreshed
        self.digit = self.side = self.strip = None
        self.side_for: tuple | None = None  # the neighbour indices `side` shows
        self.strip_images: np.ndarray | None = None  # (STRIP_COUNT, H, W) decodes along A -> B
        self.strip_pins: list | None = None  # the pins strip_images were decoded for
        self.walk_images: np.ndarray | None = None  # (T, C, H, W) decodes along the walk playing
        self.directions: Directions | None = None  # the traversal grid's rows, found once
        self.traversal: pygame.Surface | None = None  # the grid, redrawn when the point moves while it shows
        self.seen: np.ndarray | None = None  # (C, H, W) the canvas as the encoder took it, when normalised
        self.visible: np.ndarray | None = None  # (M,) bool mask of the shown classes, None when all are shown
        self.help: pygame.Surface | None = None  # the help overlay, drawn once per layout
        self.map_job: MapJob | None = None  # the manifold map being decoded, a slice a frame
        self.map: MapJob | None = None  # the last finished one, whose tiles are map_tiles
        self.map_tiles: pygame.Surface | None = None
        self.last_cursor: pygame.Rect | None = None  # the crosshair drawn last frame, to restore
        self.last_mark: pygame.Rect | None = None  # the decoded point's mark drawn last frame, to restore
        self.plane = models.plane

    def refresh(self, state: ViewState, models: Models, stats: FrameStats) -> None:
        """Rebuild what the state flags as stale, in dependency order; at most one decode.

        Each block clears its own flag after its surfaces are rebuilt; a step may set a later flag (a new
        scatter needs a new background), never an earlier one.
        """
        if state.scatter_changed:
            self._refresh_scatter(state, models)
            if state.color_by_error and not encodes_canvas(state):  # a class hidden or shown: the worst list too
                self._refresh_worst(state, models)
            state.scatter_changed, state.overlay_changed = False, True
        if state.canvas_changed:
            self._refresh_canvas(state, models, stats)
            state.canvas_changed = False
        if state.overlay_changed:
            self._refresh_background(state, models)
            state.overlay_changed, state.full_redraw, state.needs_redraw = False, True, True
        if state.strip_changed:
            self._refresh_strip(state, models)
            state.strip_changed = False
        if state.walk_changed:
            self._refresh_walk(state, models)
            state.walk_changed = False
        if state.traversal_changed or (state.show_traversal and state.z_changed):
            self._refresh_traversal(state, models)
            state.traversal_changed = False
        if state.z_changed:
            self._refresh_latent(state, models, stats)
            state.z_changed, state.needs_redraw = False, True
        if self.map_job is not None:
            self._continue_map(state, models)

    def _refresh_scatter(self, state: ViewState, models: Models) -> None:
        bundle, layout = models.bundle, self.layout
        settled = not state.panning  # a new map and the precomputed grid wait for the view to settle
        tiles, shift = self._map_under(state, models, settled)
        if models.grid is not None and settled:
            models.grid.refresh(models.plane, state.view, state.offsets)
            state.z_changed = True
        self.visible = ~np.isin(bundle.labels, list(state.hidden)) if state.hidden else None
        words = plot_words(models)
        if state.color_by_error:  # the anomaly view: the visible dots by error bin, a colour bar for the legend
            scale, keep = models.error_scale(), self.visible if self.visible is not None else slice(None)
            points, rows = models.points[keep], np.flatnonzero(self.visible) if self.visible is not None else None
            self.placed = self.scatter_thumbs.placed(points, state.view, layout.plot.size, None)
            self.scatter = render.scatter_surface(
                layout, state.view, points, scale.bins[keep], frozenset(), self.fonts, words, tiles, shift,
                scale.colors, self.scatter_thumbs, self.placed, rows,
            )  # fmt: skip
            hidden = [bundle.class_names[index] for index in sorted(state.hidden)]
            self.legend = render.colour_bar_surface(layout, scale.edges, scale.colors, self.fonts["small"], hidden)
            return
        self.placed = self.scatter_thumbs.placed(models.points, state.view, layout.plot.size, self.visible)
        self.scatter = render.scatter_surface(
            layout, state.view, models.points, bundle.labels, state.hidden, self.fonts, words, tiles, shift,
            thumbs=self.scatter_thumbs, placed=self.placed,
        )  # fmt: skip
        font = render.legend_font(bundle.class_names, self.fonts)
        self.legend = render.legend_surface(layout, bundle.class_names, state.hidden, font)

    def _map_under(self, state: ViewState, models: Models, settled: bool) -> tuple[pygame.Surface | None, tuple]:
        """The map tiles to draw under the dots, and their shift; starts decoding a new map when one is due.

        While a drag is under way, or a new map is being decoded, the last map stays, moved with the pan
        (after a zoom or an offset change it would show the wrong place, so it goes).
        """
        if not state.show_map:
            self.map_job = None
            return None, (0, 0)
        key = view_key(state.view, state.offsets)
        if self.map is not None and self.map.key == key:
            return self.map_tiles, (0, 0)
        if settled and (self.map_job is None or self.map_job.key != key):
            centres = grid_centres(state.view, models.map_grid)
            self.map_job = MapJob(models.plane.lift(centres, state.offsets), state.view, state.offsets)
        if self.map is not None and np.array_equal(self.map.offsets, state.offsets):
            shift = pan_shift(self.map.view, state.view, self.layout.plot.size)
            if shift is not None:
                return self.map_tiles, shift
        return None, (0, 0)

    def _continue_map(self, state: ViewState, models: Models) -> None:
        """Decode the next slice of the map; once the last is in, the scatter is redrawn with it."""
        try:
            self.map_job.advance(models.decoder)
        except ModelRunError as exc:
            self.map_job, state.show_map = None, False
            notify(state, f"map off: {exc}")
            return
        if self.map_job.done:
            images = self.map_job.images()
            self.map_tiles = render.map_surface(images, models.map_grid, self.layout.plot.size)
            self.map, self.map_job = self.map_job, None
            state.scatter_changed = True

    def _refresh_canvas(self, state: ViewState, models: Models, stats: FrameStats) -> None:
        if encodes_canvas(state):
            self.seen = None
            if sees_like_mnist(models.bundle):  # (C, H, W), made the way MNIST's digits were
                canvas, inverted = state.canvas, False
                if state.focus == Focus.PICTURE:
                    canvas, inverted = light_on_dark(canvas)
                    if inverted:
                        notify(state, "inverted: the picture is dark ink on light paper, MNIST is light on dark")
                self.seen = like_mnist(canvas)
            try:
                z = models.encoder((state.canvas if self.seen is None else self.seen)[None])  # (1, D)
            except ModelRunError as exc:
                notify(state, str(exc))
                drop_marker(state)
                return
            accept_encoding(state, z, models.plane)
            if state.focus == Focus.PICTURE:
                stats.encoded = {"file": state.picture_name, "z": state.z[0].tolist(), "plane": state.marker.tolist()}
        else:
            drop_marker(state)

    def _refresh_background(self, state: ViewState, models: Models) -> None:
        pins = [models.plane.project(pin[None])[0] for pin in state.pins]
        captions = panel_captions(state, models.bundle, pictures=self.placed is not None)
        waypoints = models.plane.project(np.stack(state.waypoints)) if state.waypoints else np.zeros((0, 2))
        route = (  # the path as walked, projected: a great circle's leg is a curve on the plot
            models.plane.project(path(np.stack(state.waypoints), ROUTE_STEPS, state.slerp))
            if len(state.waypoints) > 1
            else waypoints
        )
        direction = None
        if state.direction is not None:  # the arrow from one class's mean latent to the other's, projected
            names = tuple(models.bundle.class_names[c] for c in state.direction)
            direction = (models.plane.project(state.direction_ends), names)
        self.background = render.compose_background(
            self.scatter, self.layout, state.view, self.legend, self.fonts, pins, state.marker, captions,
            (waypoints, route), direction,
        )  # fmt: skip

    def _refresh_strip(self, state: ViewState, models: Models) -> None:
        if len(state.pins) != 2:
            self.strip_images, self.strip_pins = None, None
        elif self.strip_pins is not state.pins:
            a, b = state.pins
            self.strip_images = self._decode(state, models, segment(a, b, render.STRIP_COUNT))  # one batched call
            self.strip_pins = state.pins
        self.strip = render.strip_surface(self.layout, self.strip_images, state.t, state.focus == Focus.SLIDER)

    def _refresh_traversal(self, state: ViewState, models: Models) -> None:
        """The traversal grid through the current point: every row and column in one batched decode."""
        if not state.show_traversal:
            self.traversal = None
            return
        if self.directions is None:
            self.directions = traversal_directions(models.bundle.z, models.plane)
        rows = min(len(self.directions.names), TRAVERSAL_ROWS)
        steps = TRAVERSAL_STEPS
        latents = traversal(state.z[0], self.directions.vectors[:rows], self.directions.spread[:rows], steps)
        images = self._decode(state, models, latents)  # (rows * steps, C, H, W)
        columns = [sigma_label(v) for v in np.linspace(-REACH, REACH, steps)]
        rect, cell = self.layout.traversal_grid(rows)
        self.traversal = render.traversal_surface(images, self.directions.names[:rows], columns, rect.size, cell,
                                                  self.fonts)  # fmt: skip

    def _refresh_walk(self, state: ViewState, models: Models) -> None:
        """Every frame of the walk in one batched decode; playing it then costs no decode at all."""
        self.walk_images = None if state.walk_path is None else self._decode(state, models, state.walk_path)

    def _refresh_latent(self, state: ViewState, models: Models, stats: FrameStats) -> None:
        """The one decode a frame, and what depends on the point: the neighbours, or the drawing's panel."""
        started = time.perf_counter_ns()
        hover_from_grid = models.grid is not None and state.focus == Focus.HOVER and not state.direction_steps
        if state.focus == Focus.WALK and self.walk_images is not None:
            image = self.walk_images[state.walk_frame]  # (C, H, W), decoded when the walk started
        elif hover_from_grid:
            image = models.grid(state.uv)
        else:
            image = self._decode(state, models, state.z)[0]
        stats.decoded((time.perf_counter_ns() - started) / 1000)
        if encodes_canvas(state):
            seen = state.canvas if self.seen is None else self.seen
            state.canvas_error = float(np.mean((image - seen) ** 2)) if np.isfinite(image).all() else None
            self.digit = self.canvas_tile.update(state.canvas)
            if not state.canvas.any():  # nothing drawn yet: a blank encodes to some point, which would mislead
                state.canvas_error = None
                hint = ["draw here, on the big tile", "with the mouse button held", "", "C clears", "D leaves"]
                self.side = render.hint_surface(self.layout.side.size, hint, self.fonts["small"])
            elif self.seen is not None:  # two halves: what the encoder took, and what the decoder made of it
                self.side = render.seen_surface(self.layout.side.size, self.seen, image, self.fonts)
            else:
                self.side = render.image_surface(image, (self.layout.side.width, self.layout.side.width))
            self.side_for = None
        elif state.color_by_error:
            self.digit = self.tile.update(image)
            self._refresh_worst(state, models)
        else:
            self.digit = self.tile.update(image)
            if models.index is not None:  # many points: the grid gives the same answer, looking at a few hundred
                near = models.index.nearest(state.z[0], NEIGHBOURS, self.visible)
            else:
                near = nearest(models.bundle.z, state.z[0], NEIGHBOURS, self.visible)
            if self.side_for != tuple(near):  # neighbours change far less often than the cursor moves
                self.side = render.neighbours_surface(self.layout, near, self.thumbnails)
                self.side_for = tuple(near)

    def _refresh_worst(self, state: ViewState, models: Models) -> None:
        """The anomaly view's side panel: the worst-reconstructed visible test images, beside what the model
        makes of them; rebuilt only when the list changes (a class hidden or shown)."""
        scale = models.error_scale()
        worst = scale.worst(self.visible)
        if self.side_for == ("worst", *worst):
            return
        images = models.bundle.images_chw[worst].astype(np.float32) / 255.0  # (K, C, H, W)
        try:
            rebuilt = models.decoder(models.encoder(images))
        except ModelRunError as exc:
            notify(state, str(exc))
            rebuilt = np.full_like(images, np.nan)
        names = models.bundle.class_names
        captions = [f"{scale.errors[i]:.4f} #{i} {names[models.bundle.labels[i]]}" for i in worst]  # clipped
        self.side = render.worst_surface(self.layout, images, rebuilt, captions, self.fonts["small"])
        self.side_for = ("worst", *worst)
        show_worst(state, worst)

    def _decode(self, state: ViewState, models: Models, latents: np.ndarray) -> np.ndarray:
        """Decode, or NaN images (drawn crossed out) and a notice when the model fails at run time."""
        try:
            return models.decoder(latents)
        except ModelRunError as exc:
            notify(state, str(exc))
            return np.full((len(latents), *models.bundle.chw), np.nan, dtype=np.float32)

    def mark_position(self, state: ViewState) -> tuple[int, int] | None:
        """The screen point of the decoded latent when the crosshair doesn't show it: on the slider, a prior
        sample, a walk, a jump to a listed image, a feature-direction offset. Drawings and pictures have a ring."""
        shifted = state.direction_ends is not None and state.direction_steps != 0
        if encodes_canvas(state) or (state.focus == Focus.HOVER and state.cursor is not None and not shifted):
            return None
        x, y = self.layout.to_screen(self.plane.project(state.z), state.view)[0]
        return (int(x), int(y)) if self.layout.plot.collidepoint(int(x), int(y)) else None

    def draw(self, screen: pygame.Surface, state: ViewState, hud: list) -> list[pygame.Rect]:
        """Draw this frame's changes (everything, after a change of view or the help); returns the dirty rects."""
        layout = self.layout
        panels = [(self.digit, layout.digit), (self.side, layout.side), (self.strip, layout.strip)]
        if state.show_traversal and self.traversal is not None:
            panels.append((self.traversal, layout.traversal_grid(len(self.directions.names[:TRAVERSAL_ROWS]))[0]))
        full = state.full_redraw or state.show_help
        mark = self.mark_position(state)
        dirty = render.frame(
            screen, layout, self.background, panels, state.cursor, hud, self.text, self.last_cursor, full,
            mark, self.last_mark,
        )  # fmt: skip
        self.last_mark = render.mark_rect(mark) if mark is not None else None
        if state.show_help:
            self.help = self.help or render.help_overlay(layout.size, self.fonts)
            screen.blit(self.help, (0, 0))
        state.full_redraw = state.show_help  # the overlay must be wiped when it closes
        self.last_cursor = render.cursor_rect(state.cursor) if state.cursor is not None else None
        state.needs_redraw = False
        return dirty


KIND_NAMES = {
    "ae": "autoencoder",
    "vae": "variational autoencoder",
    "conv-ae": "convolutional autoencoder",
    "conv-vae": "convolutional VAE",
    "pca": "PCA",
}
KEY_STRIPS = (  # the longest that fits the window is shown; the last fits the smallest window (test_key_strips)
    "H: all controls · wheel: zoom · drag: pan · R: reset · click twice: pin A, B · G: map · D: draw · "
    "drop a picture to encode it · F: direction · W: walk · T: traversals · A: anomalies · P: prior sample · "
    "S: screenshot · Q: quit",
    "H: all controls · wheel/drag: zoom/pan · R: reset · click: pin A, B · G: map · D: draw · drop a picture · "
    "F: direction · W: walk · T: traversals · A: anomalies · Q: quit",
    "H: all controls · wheel/drag: zoom/pan · R: reset · click: pin A, B · G: map · D: draw · F: direction · "
    "W: walk · T: traversals · A: anomalies · Q: quit",
    "H: all controls · wheel/drag: zoom/pan · click: pin · G: map · D: draw · F: direction · W: walk · "
    "T: traversals · Q: quit",
    "H: all controls · wheel/drag: zoom/pan · click: pin · G: map · D: draw · F: direction · Q: quit",
)


def sees_like_mnist(bundle: Bundle) -> bool:
    """A grey model trained on MNIST-like digits: drawings and pictures are normalised as MNIST's digits were
    (viewer/normalise.py) before the encoder sees them."""
    return bundle.chw[0] == 1 and "mnist" in bundle.dataset.lower()


def sigma_label(value: float) -> str:
    """A traversal column's offset: "-2σ", "-0.5σ", "0", "+1σ"."""
    return "0" if abs(value) < 1e-9 else f"{value:+g}σ"


def plot_words(models: Models) -> render.PlotText:
    """Title and axis labels that say what the plot shows: the latent itself, or a projection of it."""
    bundle, dim = models.bundle, models.plane.dim
    model = f"{dim}-D {KIND_NAMES.get(bundle.kind, bundle.kind)}"
    if dim > 2:
        title = f"latent space of {bundle.name} · {model} · {bundle.dataset} · projected on PC1, PC2"
        return render.PlotText(title, "PC1 of z (a projection)", "PC2 of z", KEY_STRIPS)
    title = f"latent space of {bundle.name} · {model} · trained on {bundle.dataset}"
    y_label = "z2" if dim == 2 else "(not a latent direction: z is 1-D)"
    return render.PlotText(title, "z1", y_label, KEY_STRIPS)


def panel_captions(state: ViewState, bundle: Bundle, pictures: bool = False) -> tuple[str, str, str]:
    """The big tile's caption, the side panel's, and the legend's heading (`pictures`: the scatter shows images)."""
    tile, side = _panel_captions(state, bundle)
    if state.direction_steps and state.focus in (Focus.HOVER, Focus.SLIDER):  # moved along a feature direction
        where = "cursor" if state.focus == Focus.HOVER else "slider"
        tile = f"{where} {direction_amount(state):+.2f} × direction (F)"  # short: the HUD names the classes
    return tile, side, legend_heading(state, pictures)


def direction_words(state: ViewState, bundle: Bundle) -> str:
    """ "7 from 1": the class a feature direction goes towards, then the one it comes from."""
    start, end = (bundle.class_names[c] for c in state.direction)
    return f"{end} from {start}"


def direction_lines(state: ViewState, bundle: Bundle) -> list[tuple[str, tuple]]:
    """While F picks: which class to press next. With a direction: how far along it the point is."""
    if state.picking is not None:
        if not state.picking:
            return [
                ("F: press the class to go from", render.PIN),
                ("0-9 or click the legend · Esc cancels", render.PIN),
            ]
        name = bundle.class_names[state.picking[0]]
        return [("F: now press the class to go towards", render.PIN), (f"from {name} · Esc cancels", render.PIN)]
    if state.direction is None:
        return []
    where, keys = (
        f"towards {direction_words(state, bundle)}: {direction_amount(state):+.2f}",
        "(, . move, F again clears)",
    )
    if len(where) + len(keys) < HUD_CHARS:
        return [(f"{where} {keys}", render.PIN)]
    return [(where, render.PIN), (keys, render.PIN)]


def legend_heading(state: ViewState, pictures: bool = False) -> str:
    what = "test images, framed" if pictures else "dots: test images, coloured"
    if state.color_by_error:
        return f"{what} by reconstruction error"
    return f"{what} by class (click: hide)"


def _panel_captions(state: ViewState, bundle: Bundle) -> tuple[str, str]:
    """What the big tile and the side panel show, by what drives the decode."""
    rebuilt = "the model sees" if sees_like_mnist(bundle) else "reconstruction"  # render.seen_surface's halves
    if state.focus == Focus.DRAW:
        return "your drawing", rebuilt
    if state.focus == Focus.PICTURE:
        return f"your picture: {state.picture_name}"[:40], rebuilt
    if state.focus == Focus.SLIDER:
        return "decoded on the A->B slider", "worst errors" if state.color_by_error else "nearest test images"
    if state.focus == Focus.SAMPLE:
        return "a sample from the prior N(0, I)", "nearest test images"
    if state.focus == Focus.WALK:
        return f"walk through {len(state.waypoints)} waypoints", "nearest test images"  # the HUD says how
    if state.color_by_error:
        return "decoded at the cursor", "worst (click one)"
    return "decoded at the cursor", "nearest digits" if bundle.dataset.endswith("mnist") else "nearest test images"


def offset_lines(state: ViewState, plane) -> list[tuple[str, tuple]]:
    """For a latent above 2-D: every offset off the PC1-PC2 plane, so a decode off it never surprises."""
    if plane.dim <= 2:
        return []
    moved = [f"pc{i + 3} {v:+.2f}σ" for i, v in enumerate(state.offsets) if v]
    if not moved:
        return [(f"on the PC1-PC2 plane · + - move along pc{state.component + 3}, [ ] picks", render.TEXT)]
    lines = [", ".join(moved[i : i + 4]) for i in range(0, len(moved), 4)]
    lines[0] = f"off the plane: {lines[0]}"
    lines[-1] += f" · [ ] pc{state.component + 3} · R resets"
    return [(line, render.PIN) for line in lines]


def readout_decimals(view: np.ndarray, least: int) -> int:
    """Decimals that make the readout change from one pixel to the next at this zoom (about 1 / 1,000 of the
    view's width), at least `least`, at most 7 (float32 holds about that many)."""
    width = float(np.ptp(view[0]))
    return int(np.clip(np.ceil(-np.log10(max(width, 1e-30) / 1000)), least, 7))


def hud_lines(state: ViewState, models: Models, stats: FrameStats) -> list[tuple[str, tuple]]:
    """The HUD's text: where z is, decode time and frame rate, what drives the decode, the bundle."""
    bundle, plane, z = models.bundle, models.plane, state.z[0]
    decimals = readout_decimals(state.view, 3 if plane.dim <= 2 else 2)
    if plane.dim <= 2:
        where = "z = (" + ", ".join(f"{v:+.{decimals}f}" for v in z) + ")"
    else:
        shown = ", ".join(f"{v:+.{decimals}f}" for v in z[:4])
        where = f"z = [{shown}{', …' if plane.dim > 4 else ''}]  ({plane.dim}-D)"
    focus = {
        Focus.HOVER: "hover",
        Focus.SLIDER: f"slider t = {state.t:.2f} on A->B",
        Focus.DRAW: "drawing",
        Focus.PICTURE: "picture",
        Focus.SAMPLE: "prior sample (P)",
        Focus.WALK: f"walk frame {state.walk_frame + 1}/{0 if state.walk_path is None else len(state.walk_path)}"
        + (" on great circles" if state.slerp else ""),
    }[state.focus]
    mse = bundle.test_mse if bundle.test_mse is not None else float("nan")
    lines = [(where, render.TEXT), *offset_lines(state, plane), *direction_lines(state, bundle)]
    image_bytes, latent_bytes = int(np.prod(bundle.chw)), 4 * bundle.latent_dim  # uint8 pixels; float32 latents
    lines += [
        (f"{focus} · decode {stats.last_decode_us:.0f} µs · {stats.fps():.0f} fps", render.TEXT),
        (f"{models.decoder.provider.removesuffix('ExecutionProvider')} · {models.mode}", render.DIM_TEXT),
        (
            f"test MSE {mse:.4f} · {image_bytes:,} B -> {latent_bytes} B ({image_bytes / latent_bytes:.0f}x)",
            render.DIM_TEXT,
        ),
    ]
    if encodes_canvas(state) and state.canvas_error is not None and state.canvas.any():
        share = models.error_scale().share_below(state.canvas_error)
        lines.append((f"its error {state.canvas_error:.4f}: more unusual than", render.PIN))
        lines.append((f"{share:.0%} of the test images", render.PIN))
    notices = models.notices + ([state.notice] if state.notice and time.monotonic() < state.notice_until else [])
    return lines + [(line, render.WARN) for notice in notices for line in wrap(notice, NOTICE_WIDTH)]


NOTICE_WIDTH = 48  # characters of a HUD line at the default panel width: a longer notice wraps


def wrap(text: str, width: int) -> list[str]:
    """Words into lines of at most width characters (a longer word, a path say, keeps its own line)."""
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return lines + [line]
