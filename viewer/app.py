"""The viewer: open the bundle and the window, then run the frame loop. The command line is in cli.py.

Each frame reads input into the state (events.py), lets the scene rebuild what is stale, decoding at most
once (scene.py), draws from cached surfaces, and then carries out one-off requests (screenshots, exports).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from latent_common.atomic import save_png
from latent_common.errors import UserError
from viewer.bundle import DECODER, ENCODER, load_bundle
from viewer.explore import equal_scales, make_plane, plane_bounds
from viewer.gif import frames_from_images, write_gif
from viewer.inference import CPU, PROVIDERS, GridDecoder, ModelRunError, OnnxModel, choose_providers
from viewer.picture import PictureError, load_picture
from viewer.scene import Models, Scene, hud_lines
from viewer.session_file import Session, load_session, save_session, write_embedding_csv
from viewer.spatial import index_for
from viewer.state import (
    WALK_FPS,
    Request,
    ViewState,
    accept_jump,
    accept_picture,
    accept_sample,
    adopt_layout,
    advance_walk,
    frame_done,
    initial_state,
    notify,
    restore_session,
    session_of,
    toggle_traversal,
)
from viewer.stats import FrameStats
from viewer.walk import class_means, path

HUD_REFRESH_S = 0.5  # the FPS figure changes this often; a still mouse redraws nothing in between
MOTION_EVENTS_PER_FRAME = 4  # the scripted mouse posts several moves a frame, as a fast real mouse does
HEADLESS_FRAMES = 600  # a headless run with no --frames stops here
GIF_SCALE = 4  # a walk GIF's pixels per image pixel: a 28x28 digit becomes 112x112, crisp

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


def open_sessions(bundle, args: argparse.Namespace) -> tuple[OnnxModel, OnnxModel, list[str]]:
    """The decoder on the chosen provider, the encoder (for drawing) on the CPU, and notices for the HUD."""
    providers, notice = choose_providers(args.provider)
    decoder = OnnxModel(bundle.path / DECODER, "decoder", bundle.latent_dim, bundle.image_shape, providers)
    encoder = OnnxModel(bundle.path / ENCODER, "encoder", bundle.latent_dim, bundle.image_shape, [CPU])
    if notice is None and args.provider not in ("auto", "cpu") and decoder.provider != PROVIDERS[args.provider]:
        notice = f"{PROVIDERS[args.provider]} failed to start; using {decoder.provider}"
    if notice and args.strict_provider:
        raise ViewerError(f"--provider {args.provider}: {notice.split(';')[0]} (--strict-provider)")
    notices = [f"{Path(line.split(': ', 1)[0]).name}: hash differs from bundle.json" for line in bundle.warnings]
    for line in bundle.warnings + ([notice] if notice else []):
        print(f"warning: {line}", file=sys.stderr)
    return decoder, encoder, notices + ([notice] if notice else [])


def open_models(args: argparse.Namespace) -> tuple[Models, np.ndarray]:
    """Load and check the bundle, open its sessions and warm the decoder; returns the models and the home view."""
    bundle = load_bundle(args.bundle, strict=args.strict)
    decoder, encoder, notices = open_sessions(bundle, args)
    plane = make_plane(bundle.z)
    home = plane_bounds(plane, bundle.z, bundle.bounds)
    if args.axes == "equal":
        home = equal_scales(home)
    decoder.warm_up(plane.lift(home.mean(axis=1), np.zeros(plane.extra_dims)))
    grid = GridDecoder(decoder, args.precompute) if args.precompute else None
    n = args.precompute
    mode = f"precomputed {n}×{n} grid, interpolated" if grid else "live decode"
    points = plane.project(bundle.z)
    index = index_for(bundle.z, plane, points)  # built once: every hover asks it for the neighbours
    models = Models(bundle, plane, points, decoder, encoder, grid, args.map_grid, mode, notices, index)
    return models, home


def read_session(models: Models, args: argparse.Namespace) -> Session | None:
    """The saved session of `--session FILE`, None on its first run; a file it can't use is a SessionError."""
    if args.session is None:
        return None
    bundle = models.bundle
    return load_session(args.session, bundle.latent_dim, len(bundle.class_names), True, bundle.name)


def start_state(
    models: Models, home: np.ndarray, args: argparse.Namespace, session: Session | None = None
) -> ViewState:
    from viewer.layout import window_size

    bundle, plane = models.bundle, models.plane
    count = len(bundle.class_names)
    means = class_means(bundle.z, bundle.labels, count)  # (K, D): F's directions join two of them
    state = initial_state(plane, home, window_size(), bundle.chw, class_count=count, class_means=means)
    state.show_map = args.map
    state.color_by_error = args.color_by == "error"
    if args.traversal:
        toggle_traversal(state)
    state.walk_frames, state.slerp, state.variational = args.walk_frames, args.slerp, bundle.variational
    if session is not None:
        restore_session(state, session, plane, str(args.session))
    if args.waypoints:
        state.waypoints = list(plane.lift(np.reshape(args.waypoints, (-1, 2)), state.offsets))
    if args.pins:
        state.pins = [plane.lift(args.pins[:2], state.offsets)[0], plane.lift(args.pins[2:], state.offsets)[0]]
    if args.encode:
        accept_picture(state, load_picture(args.encode, bundle.chw, bundle.background), args.encode.name)
    state.scatter_changed = state.strip_changed = True
    return state


def fit_window(scene: Scene | None, state: ViewState, fonts: dict, models: Models) -> Scene:
    """A new scene (and every cached surface with it) when the window size changed; else the same one."""
    import pygame

    from viewer.layout import make_layout

    if scene is not None and state.window_size == scene.layout.size:
        return scene
    from viewer.render import legend_cell, legend_font

    names = models.bundle.class_names
    font = legend_font(names, fonts)
    layout = make_layout(state.window_size, legend_cell(names, font), font.get_linesize() + 6)  # never too small
    if pygame.display.get_surface() is None or pygame.display.get_surface().get_size() != layout.size:
        pygame.display.set_mode(layout.size, pygame.RESIZABLE)
    adopt_layout(state, layout.size)
    return Scene(layout, fonts, models)


def stamp(folder: Path, prefix: str, suffix: str = ".png") -> Path:
    return folder / f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}-{int(time.time() * 1000) % 1000:03d}{suffix}"


def walk_gif(decoder, waypoints: list[np.ndarray], frames_per_leg: int, spherical: bool, out: Path) -> int:
    """Decode the walk through the waypoints (one batched call) and write it as an animated GIF, each image
    GIF_SCALE times its size; returns the frame count."""
    images = decoder(path(np.stack(waypoints), frames_per_leg, spherical))  # (T, C, H, W) in [0, 1]
    write_gif(out, frames_from_images(images, GIF_SCALE))
    return len(images)


def go_to_test_image(state: ViewState, models: Models, index: int) -> None:
    """Hover exactly at test image `index`: its plane point and, above 2-D, its offsets off the plane."""
    plane, z = models.plane, models.bundle.z[index].astype(np.float64)
    uv = plane.project(z[None])[0]
    offsets = ((z - plane.origin) @ plane.extra) / np.where(plane.extra_std > 0, plane.extra_std, 1.0)
    accept_jump(state, uv, offsets, plane)


def carry_out_requests(state: ViewState, scene: Scene, models: Models, args, rng: np.random.Generator) -> None:
    """The one-off actions asked for this frame: a prior sample, a screenshot, a strip export."""
    import pygame

    from viewer import render

    if Request.SAMPLE in state.requests:
        if models.bundle.variational:
            z = rng.standard_normal((1, models.bundle.latent_dim)).astype(np.float32)  # z ~ N(0, I), the VAE's prior
            accept_sample(state, z, models.plane)
        else:
            notify(state, f"P samples a VAE's prior; {models.bundle.name} is a plain {models.bundle.kind}")
    if Request.ENCODE_FILE in state.requests and state.dropped:
        try:
            bundle = models.bundle
            accept_picture(
                state, load_picture(Path(state.dropped), bundle.chw, bundle.background), Path(state.dropped).name
            )
        except PictureError as exc:
            notify(state, str(exc)[-90:])
    if Request.JUMP in state.requests and state.jump_index is not None:
        go_to_test_image(state, models, state.jump_index)
    if Request.EXPORT_WALK in state.requests:
        if len(state.waypoints) < 2:
            notify(state, "Shift+W exports the walk: Shift+click the scatter to add two waypoints or more")
        else:
            out = stamp(args.shots_dir, "walk", ".gif")
            try:
                count = walk_gif(models.decoder, state.waypoints, state.walk_frames, state.slerp, out)
            except (ModelRunError, UserError) as exc:
                notify(state, str(exc)[-90:])
            else:
                notify(state, f"saved {out.name} ({count} frames) in {out.parent}")
                print(f"saved {out}", file=sys.stderr)
    if Request.SCREENSHOT in state.requests:
        saved(state, stamp(args.shots_dir, "latent-explorer"), pygame.display.get_surface())
    if Request.EXPORT_STRIP in state.requests:
        if scene.strip_images is None:
            notify(state, "E exports the A->B strip: click the scatter twice to pin A and B first")
        else:
            strip = render.tile_images(scene.strip_images, 1, len(scene.strip_images))  # (C, H, K * W): A left, B right
            saved(
                state,
                stamp(args.shots_dir, "strip"),
                render.image_surface(strip, (strip.shape[2] * 4, strip.shape[1] * 4)),
            )
    frame_done(state)


def saved(state: ViewState, path: Path, surface) -> None:
    """Save a PNG and say where, on the terminal and on screen (a failed write is a notice, not a crash)."""
    try:
        save_png(surface, path)
    except UserError as exc:
        notify(state, str(exc)[-90:])
        print(f"warning: {exc}", file=sys.stderr)
        return
    notify(state, f"saved {path.name} in {path.parent}")
    print(f"saved {path}", file=sys.stderr)


def export_csv(args: argparse.Namespace) -> str:
    """`--export-csv FILE`: the test embedding with its plot positions, written without opening a window."""
    bundle = load_bundle(args.bundle, strict=args.strict)
    write_embedding_csv(
        args.export_csv, bundle.z, bundle.labels, bundle.class_names, make_plane(bundle.z).project(bundle.z)
    )
    return f"saved {args.export_csv}: {len(bundle.z):,} test images, {bundle.latent_dim}-D latents"


def export_walk(args: argparse.Namespace) -> str:
    """`--waypoints ... --export-walk FILE.gif`: decode the walk and write it, without a window or pygame."""
    bundle = load_bundle(args.bundle, strict=args.strict)
    plane = make_plane(bundle.z)
    providers, _ = choose_providers(args.provider)
    decoder = OnnxModel(bundle.path / DECODER, "decoder", bundle.latent_dim, bundle.image_shape, providers)
    waypoints = list(plane.lift(np.reshape(args.waypoints, (-1, 2)), np.zeros(plane.extra_dims)))
    count = walk_gif(decoder, waypoints, args.walk_frames, args.slerp, args.export_walk)
    how = "great circles" if args.slerp else "straight lines"
    return f"saved {args.export_walk}: {count} frames through {len(waypoints)} waypoints along {how}"


def open_window(headless: bool) -> dict:
    """Start pygame's display and fonts; returns the fonts."""
    if headless:
        os.environ["SDL_VIDEODRIVER"] = "dummy"  # read when the display starts, below
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # read when pygame is first imported
    import pygame

    pygame.display.init()
    pygame.font.init()
    return {"text": pygame.font.Font(None, 20), "small": pygame.font.Font(None, 17)}


def run(args: argparse.Namespace, script: Script | None = None) -> dict:
    """Open the bundle, then the window, and run frames until closed or `args.frames` is reached."""
    models, home = open_models(args)
    session = read_session(models, args)  # before the window: a file it can't use is one line, exit 2
    if args.headless and args.mouse == "path":
        script = script or (lambda frame, layout: scripted_mouse(frame, layout.plot))
    fonts = open_window(args.headless)
    import pygame

    from viewer.events import handle

    try:
        state = start_state(models, home, args, session)
        scene = fit_window(None, state, fonts, models)
        pygame.display.set_caption(f"latent-explorer · {models.bundle.name}")
        frames = args.frames or (HEADLESS_FRAMES if args.headless else 0)
        walk_every = max(1, round(args.fps / WALK_FPS)) if args.fps else 1  # loop iterations per walk frame
        stats, clock, rng, hud_due = FrameStats(frames), pygame.time.Clock(), np.random.default_rng(), 0.0
        while state.running and (frames == 0 or stats.frames < frames):
            started = time.perf_counter()
            # read input
            if script is not None:
                for event in script(stats.frames, scene.layout):
                    pygame.event.post(event)
            for event in pygame.event.get():
                state = handle(event, state, scene.layout, models.plane)
            advance_walk(state, walk_every)
            # rebuild what is stale: the layout, the cached surfaces, the one decode
            scene = fit_window(scene, state, fonts, models)
            scene.refresh(state, models, stats)
            # draw
            if started >= hud_due:
                hud_due, state.needs_redraw = started + HUD_REFRESH_S, True
            if state.needs_redraw or state.show_help:
                screen = pygame.display.get_surface()
                pygame.display.update(scene.draw(screen, state, hud_lines(state, models, stats)))
                stats.drawn(started)
                if args.record:
                    save_png(screen, args.record / f"frame-{stats.frame_ms.count:06d}.png")
            # one-off requests, then wait for the next frame
            carry_out_requests(state, scene, models, args, rng)
            stats.frame_done()
            clock.tick(args.fps)
        stats.finish()
        if args.session is not None:
            save_session(args.session, session_of(state), models.bundle.latent_dim, models.bundle.name)
        if args.screenshot:
            save_png(pygame.display.get_surface(), args.screenshot)
    finally:
        pygame.quit()
    summary = stats.summary(models.decoder.provider, models.mode)
    if args.stats:
        stats.write(args.stats, summary, args.raw_timings)
    return summary
