"""Every word the window says: titles, captions, the HUD, key strips, legend headings and notices.

Functions here only compose text from the state and the bundle; panels draw it, fitted to their boxes (text.py).
Focus values are compared by their string value, so this module needs nothing from the state package.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from latent_common.style import DIM_TEXT, PIN, TEXT, WARN

WINDOW_TITLE = "latent-explorer · {name}"
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
HUD_CHARS = 52  # a HUD line longer than this is split where its meaning breaks, before the HUD wraps it
NEAREST = "nearest test images"  # the side panel's one name, whatever the dataset
NEAREST_ON = {"map": "nearest on the map", "pca": "nearest on the plane"}  # N, above 2-D: on the plot
SAME_NEAREST = "N shows the nearest on the plot instead of in z: the same here, where the plot is the latent"
STRIP_PINNED = "A -> B:  Left/Right or hover to slide,  E export,  X clear"
STRIP_PINNED_MAP = "A -> B, straight in z (not along the map):  Left/Right or hover,  E export,  X clear"
STRIP_EMPTY = "click the scatter to pin A, then B"
DRAW_HINT = "draw here, on the big tile, with the mouse button held · C clears · D leaves"
RECONSTRUCTION = "reconstruction"
TIMELINE_LINES = (  # the bar's words at a snapshot, longest first: the longest that fits beside a key hint
    "step {step:,} · epoch {epoch:.2f} · test MSE {mse:.4f}",
    "step {step:,} · test MSE {mse:.4f}",
    "step {step:,}",
)
TIMELINE_BETWEEN = (  # dragged between two snapshots: the dots slide between them, the nearer one's model decodes
    "dots between steps {low:,} and {high:,} · decoded by step {step:,} (test MSE {mse:.4f})",
    "dots between steps {low:,} and {high:,} · decoder: step {step:,}",
    "dots between {low:,} and {high:,} · decoder: step {step:,}",
    "dots {low:,}-{high:,} · decoder: step {step:,}",
)
TIMELINE_KEYS = (  # the bar's key hint, longest first; the last fits the smallest window beside the shortest words
    "Up: earlier · Down: later · Space: {play} · R: frame · drag the bar",
    "Up: earlier · Down: later · Space: {play} · R: frame",
    "Up/Down: earlier/later · Space: {play} · R: frame",
    "Up/Down · Space · R: frame",
)
FOLLOW_WAITING = "waiting for {index} (the run's first snapshot; up to {seconds:.0f} s)…"
FOLLOW_NO_DIR = "{run}: no such run directory after {seconds:.0f} s (--follow takes python -m training's --run-dir)"
FOLLOW_NO_SNAPSHOT = "{index}: no snapshot appeared in {seconds:.0f} s (is the run training, without --no-snapshots?)"
SNAPSHOT_GONE = "{reason} (the run's folder deleted?): staying at step {step:,}"
SNAPSHOT_REFUSED = "{reason}: staying at step {step:,}"  # a snapshot's values found damaged as it is first shown
NO_TIMELINE = "none (train with snapshots, the default, then export: docs/training.md#snapshots)"  # --info
HUD_MOMENT_Z = "step {step:,}'s {where}"  # the timeline at an earlier snapshot: its own z, its model's input
HUD_PLOT_AT = "plot {axes} = ({coords})"  # the plot's axes, aligned onto the last snapshot's: other numbers
HUD_MOMENT_MSE = "test MSE {mse:.4f} (final {final:.4f})"  # the shown snapshot's, and the bundle's
HELP_TITLE = "latent-explorer: controls"
HELP_CLOSE = "H, ? or Esc closes this"
ERROR_BAR_NOTE = "per-image MSE after encode -> decode (log scale)"

# Notices: a key that did nothing says why, a file written says where.
NO_DISPLAY = (
    "no display to open a window on (DISPLAY and WAYLAND_DISPLAY are unset): run with --headless, or where a desktop is"
)
ZOOMED_IN = "zoomed in as far as it goes (R resets the view)"
ZOOMED_OUT = "zoomed out as far as it goes (R resets the view)"
SLIDER_WAITS = "the slider waits until you leave draw mode (D)"
SLIDER_NEEDS_PINS = "Left/Right slide along A->B: click the scatter twice to pin A and B first"
DRAW_IS_GREY = "drawing is for grey models; drop a picture file on the window to encode it"
NO_COMPONENTS = "[ ] and + - move along further components: this latent has no more than the two shown"
NO_COMPONENTS_ON_MAP = "[ ] and + - move off the PCA plane; the map has no further components: M for the PCA plane"
OFF_MAP_PICK = "off the map ({gap:.0f}× dot spacing from data): every point here decodes the mean; pick nearer the dots"
COMPARE_HINT = "hover either plot: both tiles decode · the ring is the same test image in both · Esc or Q quits"
COMPARE_KEYS = "side by side, only hover and Esc/Q act: open one bundle for the other keys"
NO_MAP_INFO = "none (python -m export.map BUNDLE makes a UMAP map; the window shows the PCA plane)"
NO_MAP = "M switches to a map of the latent: this bundle has none yet (python -m export.map BUNDLE)"
NO_MAP_NEEDED = "M switches between a map and the PCA plane of a latent above 2-D; this one is shown as it is"
WALK_WAITS = "the walk waits until you leave draw mode (D)"
WALK_NEEDS_WAYPOINTS = "W plays a walk: Shift+click the scatter to add two waypoints or more"
SLERP_IS_VARIATIONAL = "great circles (slerp) are for a variational model's round prior; this one walks straight"
SLERP_ON = "walks follow great circles (slerp)"
SLERP_OFF = "walks follow straight lines"
DIRECTION_CLEARED = "direction cleared; F picks another"
DIRECTION_NO_MEANS = "F needs the classes' mean latents, which this view does not have"
DIRECTION_EMPTY_CLASS = "class {index} has no test images, so it has no mean latent: pick another"
DIRECTION_SAME_CLASS = "F: pick a different class to go towards"
DIRECTION_CANCELLED = "direction picking cancelled"
DIRECTION_NEEDS_ONE = ", and . move along a direction: press F, then two classes (0-9 or the legend), first"
DIRECTION_REACH = "the direction reaches from -1 to +2 class-to-class distances"
DIRECTION_MOVES = "the direction moves the point under the cursor or on the A->B slider"
INVERTED = "inverted: the picture is dark ink on light paper, MNIST is light on dark"
MAP_OFF = "map off: {error}"
NOT_VARIATIONAL = "P samples a VAE's prior; {name} is a plain {kind}"
WALK_EXPORT_NEEDS = "Shift+W exports the walk: Shift+click the scatter to add two waypoints or more"
STRIP_EXPORT_NEEDS = "E exports the A->B strip: click the scatter twice to pin A and B first"
SAVED = "saved {name} in {folder}"
SAVED_WALK = "saved {name} ({count} frames) in {folder}"


@dataclass(frozen=True)
class PlotText:
    """The words around the plot: what it shows, its axes, and the keys."""

    title: str
    x_label: str
    y_label: str
    keys: tuple[str, ...]  # the key strip, longest first: the first that fits is drawn


MAP_NAMES = {"umap": "UMAP", "tsne": "t-SNE", "pca": "PCA"}


def map_place(gap: float) -> str | None:
    """The tile's caption word on a map, by the cursor's distance to the nearest dot in typical dot spacings:
    None near the data, a warning past a few spacings, where the decode is a blend of far dots or the mean."""
    if gap < 3:
        return None
    if gap >= 1000:
        return "off the map: far from any image"
    return f"off the map: {gap:.0f} dot gaps away"


def plot_words(models) -> PlotText:
    """Title and axis labels that say what the plot shows: the latent itself, or a projection of it."""
    bundle, dim = models.bundle, models.plane.dim
    model = f"{dim}-D {KIND_NAMES.get(bundle.kind, bundle.kind)}"
    info = getattr(models.plane, "info", None)  # a map's: how it was made
    if info is not None:
        name = MAP_NAMES.get(info.method, info.method)
        title = f"latent space of {bundle.name} · {model} · {bundle.dataset} · {name} map (M: PCA plane)"
        return PlotText(title, f"{name} 1 (a map of z: no units)", f"{name} 2", KEY_STRIPS)
    if dim > 2:
        title = f"latent space of {bundle.name} · {model} · {bundle.dataset} · projected on PC1, PC2"
        return PlotText(title, "PC1 of z (a projection)", "PC2 of z", KEY_STRIPS)
    title = f"latent space of {bundle.name} · {model} · trained on {bundle.dataset}"
    y_label = "z2" if dim == 2 else "(not a latent direction: z is 1-D)"
    return PlotText(title, "z1", y_label, KEY_STRIPS)


def sigma_label(value: float) -> str:
    """A traversal column's offset: "-2σ", "-0.5σ", "0", "+1σ"."""
    return "0" if abs(value) < 1e-9 else f"{value:+g}σ"


def neighbour_caption(class_name: str, index: int) -> str:
    """Under a thumbnail; fitted with tail " #", so a long class name shortens and the index stays."""
    return f"{class_name} #{index}"


def worst_caption(index: int, class_name: str, error: float) -> str:
    return f"#{index} class {class_name} · MSE {error:.4f}"


def hidden_classes(names: list[str]) -> str:
    return f"hidden: {', '.join(names)} (their keys show them)"


def legend_heading(state, pictures: bool = False) -> str:
    what = "test images, framed" if pictures else "dots: test images, coloured"
    if state.anomaly.on:
        return f"{what} by reconstruction error"
    return f"{what} by class (click: hide)"


def legend_more(count: int) -> str:
    return f"+{count} more"


def legend_name(index: int, name: str) -> str:
    """A legend entry: the class key that hides it, then the name (a digit's name is its key)."""
    return name if name == str(index) or index > 9 else f"{index} {name}"


def direction_amount(state) -> float:
    """How far the point is moved along the direction, in class-to-class distances: steps / 10."""
    return state.direction.steps / 10


def panel_captions(state, bundle, pictures: bool = False) -> tuple[str, str, str]:
    """The big tile's caption, the side panel's, and the legend's heading (`pictures`: the scatter shows images)."""
    tile, side = _panel_captions(state, bundle)
    if state.direction.steps and state.focus.value in ("hover", "slider"):  # moved along a feature direction
        where = "cursor" if state.focus.value == "hover" else "slider"
        tile = f"{where} {direction_amount(state):+.2f} × direction (F)"  # short: the HUD names the classes
    return tile, side, legend_heading(state, pictures)


def _panel_captions(state, bundle) -> tuple[str, str]:
    """What the big tile and the side panel show, by what drives the decode."""
    rebuilt = "the model sees" if sees_like_mnist(bundle) else RECONSTRUCTION
    near = NEAREST_ON.get(state.view.projection, NEAREST) if state.view.near_on_plot else NEAREST
    side = "worst errors (click one)" if state.anomaly.on else near
    focus = state.focus.value
    if focus == "draw":
        return "your drawing", rebuilt
    if focus == "picture":
        return f"your picture: {state.canvas.picture}", rebuilt
    if focus == "slider":
        return "decoded on the A->B slider", side
    if focus == "sample":
        return "a sample from the prior N(0, I)", side
    if focus == "walk":
        return f"walk through {len(state.route.waypoints)} waypoints", side  # the HUD says how
    if state.anomaly.jump is not None and state.pointer.cursor is None:
        index = state.anomaly.jump
        return f"test image #{index} ({bundle.class_names[bundle.labels[index]]}): its reconstruction", side
    return map_place(state.pointer.gap) or "decoded at the cursor", side


def sees_like_mnist(bundle) -> bool:
    """A grey model trained on MNIST-like images: drawings and pictures are normalised as MNIST's were
    (viewer/normalise.py) before the encoder sees them."""
    return bundle.chw[0] == 1 and "mnist" in bundle.dataset.lower()


def direction_words(state, bundle) -> str:
    """ "7 from 1": the class a feature direction goes towards, then the one it comes from."""
    start, end = (bundle.class_names[c] for c in state.direction.classes)
    return f"{end} from {start}"


def direction_lines(state, bundle) -> list[tuple[str, tuple]]:
    """While F picks: which class to press next. With a direction: how far along it the point is."""
    picking = state.direction.picking
    if picking is not None:
        if not picking:
            return [("F: press the class to go from", PIN), ("0-9 or click the legend · Esc cancels", PIN)]
        name = bundle.class_names[picking[0]]
        return [("F: now press the class to go towards", PIN), (f"from {name} · Esc cancels", PIN)]
    if state.direction.classes is None:
        return []
    where, keys = (
        f"towards {direction_words(state, bundle)}: {direction_amount(state):+.2f}",
        "(keys , . move; F clears)",
    )
    if len(where) + len(keys) < HUD_CHARS:
        return [(f"{where} {keys}", PIN)]
    return [(where, PIN), (keys, PIN)]


def offset_lines(state, plane) -> list[tuple[str, tuple]]:
    """For a latent above 2-D: every offset off the PC1-PC2 plane, so a decode off it never surprises."""
    if plane.dim <= 2:
        return []
    if state.view.projection == "map":
        return [("on the map: M for the PCA plane and its further components", TEXT)]
    component = state.view.component
    moved = [f"pc{i + 3} {v:+.2f}σ" for i, v in enumerate(state.view.offsets) if v]
    if not moved:
        return [(f"on the PC1-PC2 plane · + - move along pc{component + 3}, [ ] picks", TEXT)]
    lines = [", ".join(moved[i : i + 4]) for i in range(0, len(moved), 4)]
    lines[0] = f"off the plane: {lines[0]}"
    lines[-1] += f" · [ ] pc{component + 3} · R resets"
    return [(line, PIN) for line in lines]


def readout_decimals(view: np.ndarray, least: int) -> int:
    """Decimals that make the readout change from one pixel to the next at this zoom (about 1 / 1,000 of the
    view's width), at least `least`, at most 7 (float32 holds about that many)."""
    width = float(np.ptp(view[0]))
    return int(np.clip(np.ceil(-np.log10(max(width, 1e-30) / 1000)), least, 7))


def focus_words(state) -> str:
    route = state.route
    focus = state.focus.value
    if focus == "walk":
        frames = 0 if route.path is None else len(route.path)
        if route.along is not None:  # put on the map: straight on the map, each frame lifted into z
            how = " along the map"  # across an empty stretch of it, straight in z (MapProjection.lift_path)
        elif state.view.projection == "map":  # the walk goes straight (or on great circles) in z, not along it
            how = " slerp in z" if route.slerp else " straight in z"
        else:
            how = " slerp" if route.slerp else ""
        return f"walk {route.frame + 1}/{frames}{how}"
    return {
        "hover": "hover",
        "slider": f"slider t = {route.t:.2f} on A->B",
        "draw": "drawing",
        "picture": "picture",
        "sample": "prior sample (P)",
    }[focus]


def where_lines(state, models, moment: dict | None) -> list[tuple[str, tuple]]:
    """Where z is. At an earlier snapshot of the timeline its own z (the decoder's input), which the plot's axes
    are not: they are aligned onto the last snapshot's, so a second line gives the plot's coordinates."""
    plane, z = models.plane, state.z[0]
    decimals = readout_decimals(state.view.bounds, 3 if plane.dim <= 2 else 2)
    if plane.dim <= 2:
        where = "z = (" + ", ".join(f"{v:+.{decimals}f}" for v in z) + ")"
    else:
        shown = ", ".join(f"{v:+.{decimals}f}" for v in z[:4])
        where = f"z = [{shown}{', …' if plane.dim > 4 else ''}]  ({plane.dim}-D)"
    if moment is None:
        return [(where, TEXT)]
    coords = ", ".join(f"{c:+.{decimals}f}" for c in plane.project(z[None].astype(np.float64))[0])
    plot = HUD_PLOT_AT.format(axes="z1, z2" if plane.dim <= 2 else "PC1, PC2", coords=coords)
    return [(HUD_MOMENT_Z.format(step=moment["step"], where=where), TEXT), (plot, DIM_TEXT)]


def hud_lines(state, models, readout: tuple[float, float], now: float) -> list[tuple[str, tuple]]:
    """The HUD's text: where z is, the last decode's time and the frame rate (readout), what drives the decode, the
    bundle, and the notices showing at time `now`."""
    bundle, plane = models.bundle, models.plane
    moment = models.timeline.moment() if models.timeline is not None else None  # an earlier snapshot decodes
    mse = bundle.test_mse if bundle.test_mse is not None else float("nan")
    lines = [*where_lines(state, models, moment), *offset_lines(state, plane), *direction_lines(state, bundle)]
    image_bytes, latent_bytes = int(np.prod(bundle.chw)), 4 * bundle.latent_dim  # uint8 pixels; float32 latents
    decode_us, fps = readout
    size = f"{image_bytes:,} B -> {latent_bytes} B ({image_bytes / latent_bytes:.0f}x)"
    lines += [
        (f"{focus_words(state)} · decode {decode_us:.0f} µs · {fps:.0f} fps", TEXT),
        (f"{models.decoder.provider.removesuffix('ExecutionProvider')} · {models.mode}", DIM_TEXT),
        (f"test MSE {mse:.4f} · {size}", DIM_TEXT)
        if moment is None
        else (HUD_MOMENT_MSE.format(mse=moment["test_mse"], final=mse), DIM_TEXT),
    ]
    canvas = state.canvas
    if state.focus.value in ("draw", "picture") and canvas.error is not None and canvas.image.any():
        if models.errors_ready:  # a bundle without stored errors computes them after the first frame (hud.py)
            share = models.error_scale().share_below(canvas.error)
            lines.append((f"its error {canvas.error:.4f}: more unusual than {share:.0%} of the test images", PIN))
        else:
            lines.append((f"its error {canvas.error:.4f}: ranking it among the test images…", PIN))
    notices = models.notices + ([state.notice] if state.notice and now < state.notice_until else [])
    return lines + [(notice, WARN) for notice in notices]


def timeline_lines(snapshots: list[dict], position: float) -> list[str]:
    """The timeline bar's words for a position, longest first: the snapshot there, or between two, which two the
    dots are between and whose model decodes (the nearer one's)."""
    index = int(round(position))
    snap = snapshots[index]
    fields = {"step": snap["step"], "epoch": snap["epoch"], "mse": snap["test_mse"]}
    if position == index:
        return [line.format(**fields) for line in TIMELINE_LINES]
    low = int(position)
    fields.update(low=snapshots[low]["step"], high=snapshots[low + 1]["step"])
    return [line.format(**fields) for line in TIMELINE_BETWEEN]
