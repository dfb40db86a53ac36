"""The viewer: open the bundle and the window, then run the frame loop. The command line is in cli.py.

Each frame reads input into the state (events.py), brings derived state up to date (update.py: an encoded
drawing, the anomaly list), lets the scene rebuild the panels whose keys changed (scene.py, at most one decode),
draws, and then carries out one-off requests (screenshots, exports).
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from latent_common.atomic import save_png
from latent_common.errors import UserError
from viewer import words
from viewer.bundle import DECODER, ENCODER, load_bundle
from viewer.bundle.timeline import read_timeline
from viewer.bundle.verify import check_later
from viewer.explore import Plane, equal_scales, make_plane, plane_bounds
from viewer.exports import check_on_map, export_walk_gif, stamp, strip_surface
from viewer.follow import POLL_S, Followed, RunFollower
from viewer.inference import CPU, PROVIDERS, GridDecoder, OnnxModel, choose_providers
from viewer.mapping import MapProjection, read_map
from viewer.models import MAP, PCA, PLANE, Models
from viewer.picture import PictureError, load_picture
from viewer.scene import Scene
from viewer.session_file import Session, load_session, save_session
from viewer.snapshots import SnapshotModels
from viewer.spatial import INDEX_MIN_POINTS, index_for
from viewer.state import (
    WALK_FPS,
    Focus,
    Request,
    ViewState,
    accept_jump,
    accept_picture,
    accept_sample,
    adopt_layout,
    advance_timeline,
    advance_walk,
    configure_timeline,
    configure_walks,
    follow_run,
    frame_done,
    initial_state,
    map_failed,
    notify,
    restore_projection,
    restore_session,
    session_of,
    set_pins,
    set_waypoints,
    start_options,
    toggle_traversal,
)
from viewer.stats import FrameStats
from viewer.update import update
from viewer.walk import class_means

HUD_REFRESH_S = 0.5  # the HUD's frame rate changes this often; a still mouse redraws nothing in between
MOTION_EVENTS_PER_FRAME = 4  # the scripted mouse posts several moves a frame, as a fast real mouse does
HEADLESS_FRAMES = 600  # a headless run with no --frames stops here

Script = Callable[[int, object], list]  # (frame, layout) -> events to post before the frame's input


class ViewerError(UserError):
    """A problem the user can fix that is not about the bundle, such as a provider that can't be had."""


def scripted_mouse(frame: int, plot) -> list:
    """Motion events along a Lissajous path over the plot, a few per frame, covering it every ~300 frames."""
    import pygame

    events = []
    for k in range(MOTION_EVENTS_PER_FRAME):
        t = 2 * math.pi * (frame + (k + 1) / MOTION_EVENTS_PER_FRAME) / 300
        x = plot.centerx + 0.45 * plot.width * math.sin(3 * t + 0.5)
        y = plot.centery + 0.45 * plot.height * math.sin(2 * t)
        events.append(pygame.event.Event(pygame.MOUSEMOTION, pos=(int(x), int(y)), rel=(0, 0), buttons=(0, 0, 0)))
    return events


def open_sessions(
    bundle, args: argparse.Namespace, graphs: tuple[Path, Path] | None = None
) -> tuple[OnnxModel, OnnxModel, list[str]]:
    """The decoder on the chosen provider, the encoder (for drawing) on the CPU, and notices for the HUD.
    graphs: the decoder and encoder files when not the bundle's own (--follow: the newest snapshot's)."""
    providers, notice = choose_providers(args.provider)
    decoder_file, encoder_file = graphs or (bundle.path / DECODER, bundle.path / ENCODER)
    decoder = OnnxModel(decoder_file, "decoder", bundle.latent_dim, bundle.image_shape, providers)
    encoder = OnnxModel(encoder_file, "encoder", bundle.latent_dim, bundle.image_shape, [CPU])
    if notice is None and args.provider not in ("auto", "cpu") and decoder.provider != PROVIDERS[args.provider]:
        notice = f"{PROVIDERS[args.provider]} failed to start; using {decoder.provider}"
    if notice and args.strict_provider:
        raise ViewerError(f"--provider {args.provider}: {notice.split(';')[0]} (--strict-provider)")
    notices = [f"{Path(line.split(': ', 1)[0]).name}: hash differs from bundle.json" for line in bundle.warnings]
    for line in bundle.warnings + ([notice] if notice else []):
        print(f"warning: {line}", file=sys.stderr)
    return decoder, encoder, notices + ([notice] if notice else [])


def projections_of(bundle, args: argparse.Namespace) -> dict:
    """The plot's projections, the one shown first first: the latent's plane, or above 2-D its map (when the
    bundle has one, and --projection doesn't ask for the PCA plane first) and its PCA plane."""
    pca = make_plane(bundle.z)
    found = read_map(bundle, args.strict) if bundle.latent_dim > 2 else None  # a stale map: a warning, None
    if found is None:
        return {PLANE: pca}
    projections = {MAP: MapProjection(bundle.z, *found), PCA: pca}
    return projections if args.projection == MAP else {PCA: pca, MAP: projections[MAP]}


def home_view(plane, points: np.ndarray, bundle, axes: str) -> np.ndarray:
    home = plane_bounds(plane, points, bundle.bounds)
    return equal_scales(home) if axes == "equal" else home


def open_models(args: argparse.Namespace, followed: Followed | None = None) -> tuple[Models, dict[str, np.ndarray]]:
    """Load and check the bundle, open its sessions and warm the decoder; returns the models and the home view
    of each projection (the one shown first, first). followed: --follow's run as it is now, in place of a bundle."""
    bundle = load_bundle(args.bundle, strict=args.strict, defer_hash=True) if followed is None else followed.bundle
    projections = projections_of(bundle, args)
    graphs = None if followed is None else (followed.decoder, followed.encoder)
    decoder, encoder, notices = open_sessions(bundle, args, graphs)
    placed = {name: (plane, plane.project(bundle.z)) for name, plane in projections.items()}  # a map: its dots
    homes = {name: home_view(plane, points, bundle, args.axes) for name, (plane, points) in placed.items()}
    shown = next(iter(projections))
    plane = projections[shown]
    decoder.warm_up(plane.lift(homes[shown].mean(axis=1), np.zeros(plane.extra_dims)))
    grid = GridDecoder(decoder, args.precompute) if args.precompute else None
    n = args.precompute
    mode = f"precomputed {n}×{n} grid, interpolated" if grid else "live decode"
    pca, pca_points = next(item for item in placed.values() if isinstance(item[0], Plane))
    index = index_for(bundle.z, pca, pca_points)  # built once: exact neighbours in the latent for every hover
    models = Models(bundle, plane, placed[shown][1], decoder, encoder, grid, args.map_grid, mode, notices, index)
    models.projections, models.projection = placed, shown
    found = read_timeline(bundle, args.strict, defer_hash=True) if followed is None else followed.timeline
    models.timeline = SnapshotModels(found, models) if found is not None and len(found) > 1 else None
    if models.timeline is not None and len(bundle.z) > INDEX_MIN_POINTS:
        models.timeline.prepare(bundle)  # a large timeline's snapshots, made ready beside the frame loop
    if bundle.unhashed:  # a large embedding's and timeline's hashes, checked on a thread
        models.hashing = check_later(bundle, models.notices)
    return models, homes


def adopt_snapshot(state: ViewState, models: Models, args: argparse.Namespace, found: Followed) -> None:
    """--follow found new snapshots: the models become the run's as it is now (in place: the scene keeps them)."""
    fresh, homes = open_models(args, found)
    if models.timeline is not None:
        models.timeline.stop()
    vars(models).update(vars(fresh))
    follow_run(state, len(fresh.timeline) if fresh.timeline is not None else 0, homes)


def read_session(models: Models, args: argparse.Namespace) -> Session | None:
    """The saved session of `--session FILE`, None on its first run; a file it can't use is a SessionError."""
    if args.session is None:
        return None
    bundle = models.bundle
    return load_session(args.session, bundle.latent_dim, len(bundle.class_names), True, bundle.name)


def start_state(
    models: Models, homes: dict[str, np.ndarray], args: argparse.Namespace, session: Session | None = None
) -> ViewState:
    from viewer.layout import window_size

    bundle, plane = models.bundle, models.plane
    count = len(bundle.class_names)
    means = class_means(bundle.z, bundle.labels, count)  # (K, D): F's directions join two of them
    home = homes[models.projection]
    state = initial_state(plane, home, window_size(), bundle.chw, count, means, homes)
    start_options(state, args.map, args.color_by == "error")
    if args.traversal:
        toggle_traversal(state)
    configure_walks(state, args.walk_frames, args.slerp, bundle.variational)
    configure_timeline(state, len(models.timeline) if models.timeline is not None else 0)
    if session is not None:
        models.use(restore_projection(state, session, str(args.session)))
        plane = models.plane
        restore_session(state, session, plane, str(args.session))
    offsets, on_map = state.view.offsets, models.projection == "map"
    for flag, places in (("--waypoints", args.waypoints), ("--pins", args.pins)):
        if places:  # points on the plot shown: on a map, a walk can follow it
            check_on_map(plane, places := np.reshape(places, (-1, 2)), flag)
            if flag == "--waypoints":
                set_waypoints(state, list(plane.lift(places, offsets)), list(places) if on_map else None)
            else:
                set_pins(state, *plane.lift(places, offsets))
    if args.encode:
        accept_picture(state, load_picture(args.encode, bundle.chw, bundle.background), args.encode.name)
    return state


def fit_window(scene: Scene | None, state: ViewState, fonts: dict, models: Models, stats: FrameStats) -> Scene:
    """A new scene (and every cached surface with it) when the window size changed; else the same one."""
    import pygame

    from viewer.layout import make_layout
    from viewer.panels.legend import legend_cell, legend_font

    has_bar = models.timeline is not None  # --follow: the bar comes with the run's second snapshot
    if scene is not None and state.window_size == scene.layout.size and (scene.layout.timeline is not None) == has_bar:
        return scene
    names = models.bundle.class_names
    font = legend_font(names, fonts)
    layout = make_layout(state.window_size, legend_cell(names, font), font.get_linesize() + 6, len(names), has_bar)
    if pygame.display.get_surface() is None or pygame.display.get_surface().get_size() != layout.size:
        pygame.display.set_mode(layout.size, pygame.RESIZABLE)
    adopt_layout(state, layout.size)
    return Scene(layout, fonts, models, stats)


def go_to_test_image(state: ViewState, models: Models, index: int) -> None:
    """Hover exactly at test image `index`: its plane point and, above 2-D, its offsets off the plane."""
    plane, z = models.plane, models.bundle.z[index].astype(np.float64)
    uv = plane.project(z[None])[0]
    offsets = ((z - plane.origin) @ plane.extra) / np.where(plane.extra_std > 0, plane.extra_std, 1.0)
    accept_jump(state, uv, offsets, plane)


def carry_out_requests(state: ViewState, scene: Scene, models: Models, args, rng: np.random.Generator) -> None:
    """The one-off actions asked for this frame: a prior sample, a picture, a jump, a screenshot, an export."""
    import pygame

    requests, bundle = state.requests, models.bundle
    if Request.SAMPLE in requests:
        if bundle.variational:
            z = rng.standard_normal((1, bundle.latent_dim)).astype(np.float32)  # z ~ N(0, I), the VAE's prior
            accept_sample(state, z, models.plane)
        else:
            notify(state, words.NOT_VARIATIONAL.format(name=bundle.name, kind=bundle.kind))
    if Request.ENCODE_FILE in requests and state.canvas.dropped:
        dropped = Path(state.canvas.dropped)
        try:
            accept_picture(state, load_picture(dropped, bundle.chw, bundle.background), dropped.name)
        except PictureError as exc:
            notify(state, str(exc))
    if Request.JUMP in requests and state.anomaly.jump is not None:
        go_to_test_image(state, models, state.anomaly.jump)
    if Request.EXPORT_WALK in requests:
        export_walk_gif(state, models, args)
    if Request.SCREENSHOT in requests:
        saved(state, stamp(args.shots_dir, "latent-explorer"), pygame.display.get_surface())
    if Request.EXPORT_STRIP in requests:
        images = scene.panel("strip").images
        if images is None:
            notify(state, words.STRIP_EXPORT_NEEDS)
        else:
            saved(state, stamp(args.shots_dir, "strip"), strip_surface(images))
    frame_done(state)


def saved(state: ViewState, path: Path, surface) -> None:
    """Save a PNG and say where, on the terminal and on screen (a failed write is a notice, not a crash)."""
    try:
        save_png(surface, path)
    except UserError as exc:
        notify(state, str(exc))
        print(f"warning: {exc}", file=sys.stderr)
        return
    notify(state, words.SAVED.format(name=path.name, folder=path.parent))
    print(f"saved {path}", file=sys.stderr)


def check_display(headless: bool) -> None:
    """A window needs a display: without one (no DISPLAY nor WAYLAND_DISPLAY on Linux, and no SDL driver
    chosen), say so at once instead of failing inside SDL."""
    if headless or not sys.platform.startswith("linux") or os.environ.get("SDL_VIDEODRIVER"):
        return
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise ViewerError(words.NO_DISPLAY)


def open_window(headless: bool) -> dict:
    """Start pygame's display and fonts; returns the fonts."""
    if headless:
        os.environ["SDL_VIDEODRIVER"] = "dummy"  # read when the display starts, below
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # read when pygame is first imported
    import pygame

    try:
        pygame.display.init()
    except pygame.error as exc:
        raise ViewerError(f"{words.NO_DISPLAY} ({exc})") from None
    pygame.font.init()
    return {"text": pygame.font.Font(None, 20), "small": pygame.font.Font(None, 17)}


def encoded_picture(state: ViewState, stats: FrameStats) -> None:
    """--stats records where an encoded picture landed."""
    canvas = state.canvas
    if state.focus == Focus.PICTURE and canvas.rebuilt is not None:  # encoded; a blank picture has no marker
        plane = None if canvas.marker is None else canvas.marker.tolist()
        stats.encoded = {"file": canvas.picture, "z": state.z[0].tolist(), "plane": plane}


def run(args: argparse.Namespace, script: Script | None = None) -> dict:
    """Open the bundle, then the window, and run frames until closed or `args.frames` is reached."""
    check_display(args.headless)
    follower = RunFollower(args.follow) if args.follow else None
    models, homes = open_models(args) if follower is None else open_models(args, follower.wait_first())
    session = read_session(models, args)  # before the window: a file it can't use is one line, exit 2
    if args.headless and args.mouse == "path":
        script = script or (lambda frame, layout: scripted_mouse(frame, layout.plot))
    fonts = open_window(args.headless)
    import pygame

    try:
        state = start_state(models, homes, args, session)
        frames = args.frames or (HEADLESS_FRAMES if args.headless else 0)
        stats = FrameStats(frames)
        scene = fit_window(None, state, fonts, models, stats)
        pygame.display.set_caption(words.WINDOW_TITLE.format(name=models.bundle.name))
        # what start-up made lives as long as the window: the cycle collector need not walk it again every few
        # frames (with a moving timeline's 10,000 dots blitted a frame, its full passes were 8-12 ms frames)
        gc.collect()
        gc.freeze()
        frame_loop(state, scene, models, fonts, stats, args, script, frames, follower)
        stats.finish()
        if args.session is not None:
            save_session(args.session, session_of(state), models.bundle.latent_dim, models.bundle.name)
        if args.screenshot:
            save_png(pygame.display.get_surface(), args.screenshot)
    finally:
        pygame.quit()
        if models.timeline is not None:
            models.timeline.stop()
    if models.hashing is not None:
        models.hashing.finish()  # a short run still says whether the embedding changed
    summary = stats.summary(models.decoder.provider, models.mode)
    if args.stats:
        stats.write(args.stats, summary, args.raw_timings)
    return summary


def frame_loop(state, scene, models, fonts, stats, args, script, frames, follower=None) -> None:
    """Input -> update -> refresh -> draw, once a frame, until the window closes or `frames` have run."""
    import pygame

    from viewer.events import handle

    walk_every = max(1, round(args.fps / WALK_FPS)) if args.fps else 1  # loop iterations per walk frame
    clock, rng, fps_due, poll_due = pygame.time.Clock(), np.random.default_rng(), 0.0, 0.0
    while state.running and (frames == 0 or stats.frames < frames):
        started = time.perf_counter()
        # get input: events fold into the state
        if script is not None:
            for event in script(stats.frames, scene.layout):
                pygame.event.post(event)
        events = pygame.event.get()
        for event in events:
            state = handle(event, state, scene.layout, models.plane)
        if models.hashing is not None and (events or state.timeline.playing or state.route.path is not None):
            models.hashing.busy()  # the deferred hash check waits for a quiet moment
        advance_walk(state, walk_every)
        if follower is not None and started >= poll_due:  # --follow: a new snapshot of the run moves the plot on
            poll_due = started + POLL_S
            found = follower.poll()
            if found is not None:
                adopt_snapshot(state, models, args, found)
        advance_timeline(state, 1.0 / args.fps if args.fps else 1.0 / 60)  # a frame's worth of play
        # update: what inference derives from the input (an encoded drawing, the anomaly list)
        for notice in update(state, models):
            notify(state, notice)
        encoded_picture(state, stats)
        # refresh the panels whose keys changed: a new window size is a new scene
        scene = fit_window(scene, state, fonts, models, stats)
        if started >= fps_due:
            fps_due, scene.fps = started + HUD_REFRESH_S, stats.fps()
        for notice in scene.refresh(state, models):
            notify(state, notice)
        if scene.map_error is not None:
            map_failed(state, scene.map_error)
            scene.map_error = None
        # draw what changed
        screen = pygame.display.get_surface()
        dirty = scene.draw(screen, state)
        if dirty:
            pygame.display.update(dirty)
            stats.drawn(started)
            if args.record:
                save_png(screen, args.record / f"frame-{stats.frame_ms.count:06d}.png")
        # one-off requests, then wait for the next frame
        carry_out_requests(state, scene, models, args, rng)
        stats.frame_done()
        clock.tick(args.fps)
