"""What the viewer is showing: a plain record, grouped by concern. Changed only by the actions in this package
and by the event handler (events.py); the scene (scene.py) reads it and keeps no flags in it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from viewer.explore import Plane

WALK_FRAMES = 16  # frames per leg between two waypoints: smooth at a GIF's 80 ms a frame, a leg in 1.3 s


class Focus(str, Enum):
    """What sets the latent point being decoded."""

    HOVER = "hover"  # the cursor over the scatter
    SLIDER = "slider"  # the slider on the A-B strip
    DRAW = "draw"  # the drawing on the canvas, through the encoder
    PICTURE = "picture"  # a picture file (--encode, or dropped on the window), through the encoder
    SAMPLE = "sample"  # a sample from a VAE's prior
    WALK = "walk"  # the walk through the waypoints, playing


class Request(str, Enum):
    """One-off actions the frame loop carries out after drawing (they need the screen or a decoder)."""

    SCREENSHOT = "screenshot"
    EXPORT_STRIP = "export_strip"
    SAMPLE = "sample"
    ENCODE_FILE = "encode_file"  # the file in state.canvas.dropped
    EXPORT_WALK = "export_walk"
    JUMP = "jump"  # to the test image state.anomaly.jump (a click on the anomaly view's list)


@dataclass
class View:
    """Which part of the latent plane the plot shows, and how."""

    bounds: np.ndarray  # (2, 2) plane window [[x0, x1], [y0, y1]]
    home: np.ndarray  # (2, 2) the view R goes back to
    offsets: np.ndarray  # (D - 2,) position along the further principal components, in std units
    component: int = 0  # which further component the offset keys move
    hidden: frozenset[int] = frozenset()
    show_map: bool = False
    projection: str = "plane"  # what the plot shows: "plane" (the only one), or "map" or "pca" (M switches)
    near_on_plot: bool = False  # N: the side panel's nearest images on the plot, not in the latent (above 2-D)
    homes: dict[str, np.ndarray] = field(default_factory=dict)  # each projection's home view


@dataclass
class Pointer:
    """The mouse over the window."""

    uv: np.ndarray  # (2,) plane point under the cursor, or last under it
    cursor: tuple[int, int] | None = None  # mouse position inside the plot; None once it left
    press: tuple[int, int] | None = None  # where the left button went down on the plot
    press_view: np.ndarray | None = None  # the view bounds when it went down
    panning: bool = False
    drawing: tuple[float, float] | None = None  # last canvas pixel while the button is held in draw mode
    gap: float = 0.0  # on a map: how far uv is from the nearest dot, in typical dot spacings (0 elsewhere)


@dataclass
class Route:
    """The A-B pins with their slider, and the walk through waypoints."""

    pins: list[np.ndarray] = field(default_factory=list)  # up to two (D,) latents: A, then B
    t: float = 0.5  # slider position along A -> B
    waypoints: list[np.ndarray] = field(default_factory=list)  # (D,) latents a walk goes through, in order
    places: list = field(default_factory=list)  # each waypoint's (2,) point on the map it was put on, or None
    walk_frames: int = WALK_FRAMES  # per leg
    slerp: bool = False  # walk legs along great circles rather than straight lines
    variational: bool = False  # the model has a prior N(0, I): great circles make sense
    path: np.ndarray | None = None  # (T, D) float32 latents of the walk playing
    along: np.ndarray | None = None  # (T, 2) its path on the map, when it goes along the map (lifted into path)
    frame: int = 0  # which of them is shown
    tick: int = 0  # loop iterations since the walk last advanced


@dataclass
class Canvas:
    """The drawing or picture the encoder takes, and what the update step made of it."""

    image: np.ndarray  # (C, H, W) float32 in [0, 1]
    marker: np.ndarray | None = None  # (2,) plane point where the encoded image lands, None for none
    seen: np.ndarray | None = None  # (C, H, W) the image as the encoder took it, when normalised like MNIST
    rebuilt: np.ndarray | None = None  # (C, H, W) the decoder's answer for its latent
    error: float | None = None  # its reconstruction error
    source: np.ndarray | None = None  # the image the encoding above was made from; None: none made
    picture: str | None = None  # the file the picture came from
    anchor: tuple[int, int] | None = None  # where the mouse was when it arrived (see hover)
    dropped: str | None = None  # a file dropped on the window, to encode


@dataclass
class Direction:
    """A feature direction between two classes' mean latents (F)."""

    means: np.ndarray | None = None  # (K, D) float64: each class's mean latent (NaN rows: no test images)
    picking: tuple[int, ...] | None = None  # the classes picked so far; None when not picking
    classes: tuple[int, int] | None = None  # the classes it goes from and towards
    ends: np.ndarray | None = None  # (2, D) float64: their mean latents
    steps: int = 0  # how far the current point is moved along it, in tenths of the class-to-class distance


@dataclass
class Anomaly:
    """The anomaly view (A): dots by reconstruction error, the worst test images listed beside."""

    on: bool = False
    worst: tuple[int, ...] = ()  # the test images listed, top to bottom
    jump: int | None = None  # the listed image clicked, to go to


@dataclass
class Timeline:
    """Which moment of training the plot shows (a bundle with a timeline), and whether it plays."""

    count: int = 0  # snapshots; 0: the bundle has no timeline
    position: float = 0.0  # 0 (untrained) to count - 1 (the bundle itself); between two, the dots slide
    playing: bool = False
    dragging: bool = False  # the mouse holds the timeline bar
    frame: np.ndarray | None = None  # (2, 2) the view R goes to: the shown snapshot's dots; None: view.home


@dataclass
class ViewState:
    z: np.ndarray  # (1, D) float32: the latent point being decoded
    window_size: tuple[int, int]
    view: View
    pointer: Pointer
    canvas: Canvas
    route: Route = field(default_factory=Route)
    direction: Direction = field(default_factory=Direction)
    anomaly: Anomaly = field(default_factory=Anomaly)
    timeline: Timeline = field(default_factory=Timeline)
    focus: Focus = Focus.HOVER
    class_count: int = 10
    show_help: bool = False
    show_traversal: bool = False  # the grid of decodes along each direction through z, over the plot
    notice: str | None = None  # a short message for the HUD: where a file went, why a key did nothing
    notice_until: float = 0.0  # time.monotonic() when it goes
    exposed: int = 0  # bumped when the window must be drawn whole again (shown, restored)
    requests: set[Request] = field(default_factory=set)
    running: bool = True


def initial_state(
    plane: Plane,
    home_view: np.ndarray,
    window_size: tuple[int, int],
    image_shape,
    class_count: int = 10,
    class_means: np.ndarray | None = None,
    homes: dict[str, np.ndarray] | None = None,
) -> ViewState:
    """Start at the plane's origin (the embedding's mean for D > 2), framed by the home view.

    image_shape is (C, H, W); an (H, W) one gets its channel axis (the canvas is always (C, H, W)). class_means
    (walk.class_means) lets F pick a direction between two classes. homes: each projection's home view, the
    first the one shown (a latent above 2-D with a map: "map", then "pca"); home_view's alone when None.
    """
    homes = homes or {"plane": home_view}
    image_shape = tuple(image_shape) if len(image_shape) == 3 else (1, *image_shape)
    uv = home_view.mean(axis=1)
    offsets = np.zeros(plane.extra_dims)
    return ViewState(
        z=plane.lift(uv, offsets),
        window_size=window_size,
        view=View(home_view.copy(), home_view.copy(), offsets, projection=next(iter(homes)), homes=homes),
        pointer=Pointer(uv),
        canvas=Canvas(np.zeros(image_shape, dtype=np.float32)),
        direction=Direction(means=class_means),
        class_count=class_count,
    )
