"""The viewer: start-up (bundle, sessions, cached surfaces) and the frame loop. The command line is in cli.py."""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from latent_common.atomic import atomic_write, write_json
from latent_common.errors import UserError
from viewer.bundle import DECODER, ENCODER, Bundle, load_bundle
from viewer.explore import grid_centres, make_plane, nearest, plane_bounds, segment
from viewer.inference import CPU, PROVIDERS, GridDecoder, OnnxModel, choose_providers

HUD_REFRESH_S = 0.5  # the FPS figure changes this often; a still mouse redraws nothing in between
MOTION_EVENTS_PER_FRAME = 4  # the scripted mouse posts several moves a frame, as a fast real mouse does
TIMING_WINDOW = 100_000  # an open-ended session reports percentiles over its last this-many frames
MEMORY_BASELINE_FRAME = 1000  # resident memory is sampled here and at the end (the soak test's figures)
NEIGHBOURS = 4


class ViewerError(UserError):
    """A problem the user can fix that is not about the bundle, such as a provider that can't be had."""


def resident_mb() -> float:
    """Current resident memory of this process (Linux /proc; peak RSS elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


class Samples:
    """A fixed-size ring of float64 timings: its memory is taken once, so a long session doesn't grow."""

    def __init__(self, capacity: int):
        self.values = np.full(capacity, np.nan)  # filled now, so every page is resident from the start
        self.count = 0

    def append(self, value: float) -> None:
        self.values[self.count % len(self.values)] = value
        self.count += 1

    def kept(self) -> np.ndarray:
        return self.values[: min(self.count, len(self.values))]

    def percentile(self, q: float) -> float | None:
        kept = self.kept()
        return round(float(np.percentile(kept, q)), 3) if len(kept) else None


class Timings:
    def __init__(self, capacity: int):
        self.frame_ms = Samples(capacity)
        self.decode_us = Samples(capacity)
        self.rss_mb: dict[str, float] = {}

    def summary(self, provider: str, frames: int, cpu_s: float, first_frame_at: float) -> dict:
        return {
            "frames": frames,
            "cpu_ms_per_frame": round(cpu_s * 1000 / max(frames, 1), 4),
            "first_frame_at": first_frame_at,  # wall clock (time.time()) when the first frame was shown
            "frames_drawn": self.frame_ms.count,
            "decodes": self.decode_us.count,
            "frame_ms_p50": self.frame_ms.percentile(50),
            "frame_ms_p99": self.frame_ms.percentile(99),
            "frame_ms_max": self.frame_ms.percentile(100),
            "decode_us_p50": self.decode_us.percentile(50),
            "decode_us_p99": self.decode_us.percentile(99),
            "provider": provider,
            "rss_mb": {key: round(value, 2) for key, value in self.rss_mb.items()},
        }


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


def open_models(bundle: Bundle, args: argparse.Namespace) -> tuple[OnnxModel, OnnxModel, list[str]]:
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


def hud_lines(bundle: Bundle, state, plane, decode_us: float, fps: float, provider: str, mode: str, notices: list[str]):
    from viewer.render import DIM_TEXT, TEXT, WARN

    z = state.z[0]
    if plane.dim == 2:
        where = f"z = ({z[0]:+.3f}, {z[1]:+.3f})"
    else:
        shown = ", ".join(f"{v:+.2f}" for v in z[:4])
        where = f"z = [{shown}, … {plane.dim} dims]  pc{state.component + 3} {state.offsets[state.component]:+.2f}σ"
    focus = {
        "hover": "hover",
        "slider": f"slider t = {state.t:.2f} on A->B",
        "draw": "drawing",
        "sample": "prior sample (P)",
    }[state.focus]
    lines = [
        (where, TEXT),
        (f"decode {decode_us:6.0f} µs   {fps:5.1f} fps   {focus}", TEXT),
        (f"{provider.removesuffix('ExecutionProvider')} · {mode}", TEXT),
        (
            f"{bundle.name} · test MSE {bundle.test_mse if bundle.test_mse is not None else float('nan'):.4f} · H: help",
            DIM_TEXT,
        ),
    ]
    return lines + [(notice, WARN) for notice in notices]


@dataclass
class Scene:
    """Cached surfaces, each rebuilt only when what it shows changes."""

    layout: object
    scatter: object = None  # axes, map and dots: rebuilt on view, class filter, map or offset changes
    legend: object = None  # rebuilt with the scatter (hidden classes show dimmed)
    background: object = None  # scatter + captions, pins, marker: rebuilt when those change
    tile: object = None  # DigitTile for the hover decode
    canvas_tile: object = None  # DigitTile for the drawing
    digit: object = None  # the surface shown in the digit rect this frame
    side: object = None
    side_for: tuple | None = None  # the neighbour indices `side` shows
    thumbnails: object = None  # render.Thumbnails of the test digits at this layout's size
    strip: object = None
    strip_images: np.ndarray | None = None
    strip_pins: list | None = None  # the pins strip_images were decoded for
    marker: np.ndarray | None = None  # plane point of the encoded drawing
    visible: np.ndarray | None = None  # (M,) bool mask of the shown classes, None when all are shown
    help: object = None  # the help overlay, drawn once per layout


Script = Callable[[int, object], list]  # (frame, layout) -> events to post before the frame's input


def stamp(folder: Path, prefix: str) -> Path:
    return folder / f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}-{int(time.time() * 1000) % 1000:03d}.png"


def run(args: argparse.Namespace, script: Script | None = None) -> dict:
    """Open the bundle, then the window, and run frames until closed or `args.frames` is reached."""
    bundle = load_bundle(args.bundle, strict=args.strict)
    decoder, encoder, notices = open_models(bundle, args)
    plane = make_plane(bundle.z)
    points = plane.project(bundle.z)  # (M, 2) where each test digit sits in the plot
    home = plane_bounds(plane, bundle.z, bundle.bounds)
    decoder.warm_up(plane.lift(home.mean(axis=1), np.zeros(plane.dim - 2)))
    grid = GridDecoder(decoder, args.precompute) if args.precompute else None
    mode = f"precomputed {args.precompute}×{args.precompute} grid, interpolated" if grid else "live decode"
    names = bundle.class_names
    variational = bundle.variational
    rng = np.random.default_rng()

    if args.headless:
        os.environ["SDL_VIDEODRIVER"] = "dummy"
        if args.mouse == "path":
            script = script or (lambda frame, layout: scripted_mouse(frame, layout.plot))
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame  # after SDL_VIDEODRIVER is set

    from viewer import render
    from viewer.layout import make_layout, window_size
    from viewer.state import handle, initial_state

    pygame.display.init()
    pygame.font.init()
    try:
        state = initial_state(plane, home, window_size(), bundle.image_shape)
        state.show_map = args.map
        if args.pins:
            state.pins = [plane.lift(args.pins[:2], state.offsets)[0], plane.lift(args.pins[2:], state.offsets)[0]]
        screen = pygame.display.set_mode(state.window_size, pygame.RESIZABLE)
        pygame.display.set_caption(f"latent-explorer · {bundle.name}")
        fonts = {"text": pygame.font.Font(None, 20), "small": pygame.font.Font(None, 17)}
        text = render.TextCache(fonts["text"])
        scene = Scene(layout=make_layout(state.window_size))
        state.scatter_changed = state.strip_changed = True
        last_cursor = None
        frames = args.frames or (600 if args.headless else 0)
        timings = Timings(capacity=frames or TIMING_WINDOW)
        clock = pygame.time.Clock()
        recent: deque[float] = deque(maxlen=120)
        hud_due, decode_us, frame, first_frame_at, recorded = 0.0, 0.0, 0, 0.0, 0
        cpu_started = time.process_time()
        while state.running and (frames == 0 or frame < frames):
            started = time.perf_counter()
            if script is not None:
                for event in script(frame, scene.layout):
                    pygame.event.post(event)
            for event in pygame.event.get():
                state = handle(event, state, scene.layout, plane, len(names), bundle.image_shape)
            layout = scene.layout
            if "sample" in state.requests and variational and state.focus != "draw":
                state.z = rng.standard_normal((1, bundle.latent_dim)).astype(np.float32)  # z ~ N(0, I), the VAE's prior
                state.focus, state.z_changed, state.needs_redraw = "sample", True, True
                state.uv = plane.project(state.z)[0]

            if state.window_size != layout.size:  # resized: new layout, and every cached surface with it
                layout = make_layout(state.window_size)
                state.window_size = layout.size
                if pygame.display.get_surface().get_size() != layout.size:
                    pygame.display.set_mode(layout.size, pygame.RESIZABLE)
                screen = pygame.display.get_surface()
                scene = Scene(layout=layout)
                state.scatter_changed = state.strip_changed = state.z_changed = state.full_redraw = True
                last_cursor = None
            if scene.tile is None:
                scene.thumbnails = render.Thumbnails(
                    bundle.images, [names[i] for i in bundle.labels], layout.side.width // 2 - 8, fonts["small"]
                )
                scene.tile = render.DigitTile(bundle.image_shape, layout.digit.size)
                scene.canvas_tile = render.DigitTile(bundle.image_shape, layout.digit.size)

            if state.scatter_changed:
                settled = not state.panning  # the map and the precomputed grid wait for the view to settle
                tiles = None
                if state.show_map and settled:
                    latents = plane.lift(grid_centres(state.view, args.map_grid), state.offsets)
                    tiles = render.map_surface(decoder(latents), args.map_grid, layout.plot.size)
                if grid is not None and settled:
                    grid.refresh(plane, state.view, state.offsets)
                    state.z_changed = True
                scene.scatter = render.scatter_surface(
                    layout, state.view, points, bundle.labels, state.hidden, fonts["small"], tiles
                )
                scene.legend = render.legend_surface(layout, names, state.hidden, fonts["text"])
                scene.visible = ~np.isin(bundle.labels, list(state.hidden)) if state.hidden else None
                state.scatter_changed, state.overlay_changed = False, True

            if state.canvas_changed:
                if state.focus == "draw":
                    drawn = encoder(state.canvas[None])  # (1, D)
                    state.z, state.z_changed = drawn.astype(np.float32), True
                    scene.marker = plane.project(drawn)[0] if state.canvas.any() else None
                else:
                    scene.marker = None
                state.canvas_changed, state.overlay_changed = False, True

            if state.overlay_changed:
                pins_plane = [plane.project(pin[None])[0] for pin in state.pins]
                scene.background = render.compose_background(scene.scatter, layout, state.view, scene.legend, fonts,
                                                              pins_plane, scene.marker, state.focus == "draw")  # fmt: skip
                state.overlay_changed, state.full_redraw = False, True

            if state.strip_changed:
                if len(state.pins) != 2:
                    scene.strip_images, scene.strip_pins = None, None
                elif scene.strip_pins is not state.pins:
                    scene.strip_images = decoder(
                        segment(state.pins[0], state.pins[1], render.STRIP_COUNT)
                    )  # one batched call
                    scene.strip_pins = state.pins
                scene.strip = render.strip_surface(layout, scene.strip_images, state.t, state.focus == "slider")
                state.strip_changed = False

            if state.z_changed:
                t0 = time.perf_counter_ns()
                image = grid(state.uv) if grid is not None and state.focus == "hover" else decoder(state.z)[0]  # (H, W)
                decode_us = (time.perf_counter_ns() - t0) / 1000
                timings.decode_us.append(decode_us)
                if state.focus == "draw":
                    scene.digit = scene.canvas_tile.update(state.canvas)
                    scene.side = render.image_surface(image, (layout.side.width, layout.side.width))
                    scene.side_for = None
                else:
                    scene.digit = scene.tile.update(image)
                    near = nearest(bundle.z, state.z[0], NEIGHBOURS, scene.visible)
                    if scene.side_for != tuple(near):  # neighbours change far less often than the cursor moves
                        scene.side = render.neighbours_surface(layout, near, scene.thumbnails)
                        scene.side_for = tuple(near)
                state.z_changed, state.needs_redraw = False, True

            if started >= hud_due:
                hud_due = started + HUD_REFRESH_S
                state.needs_redraw = True
            if state.needs_redraw or state.show_help:
                fps = (
                    (len(recent) - 1) / (recent[-1] - recent[0]) if len(recent) > 1 and recent[-1] > recent[0] else 0.0
                )
                lines = hud_lines(bundle, state, plane, decode_us, fps, decoder.provider, mode, notices)
                panels = [(scene.digit, layout.digit), (scene.side, layout.side), (scene.strip, layout.strip)]
                full = state.full_redraw or state.show_help
                dirty = render.frame(
                    screen, layout, scene.background, panels, state.cursor, lines, text, last_cursor, full
                )
                if state.show_help:
                    scene.help = scene.help or render.help_overlay(layout.size, fonts)
                    screen.blit(scene.help, (0, 0))
                    state.full_redraw = True  # the overlay must be wiped when it closes
                else:
                    state.full_redraw = False
                pygame.display.update(dirty)
                last_cursor = render.cursor_rect(state.cursor) if state.cursor is not None else None
                state.needs_redraw = False
                timings.frame_ms.append((time.perf_counter() - started) * 1000)
                first_frame_at = first_frame_at or time.time()
                if args.record:
                    recorded += 1
                    atomic_write(
                        args.record / f"frame-{recorded:06d}.png",
                        lambda h, s=screen: pygame.image.save(s, h, "png"),
                        suffix=".png",
                    )
            if "screenshot" in state.requests:
                path = stamp(args.shots_dir, "latent-explorer")
                atomic_write(path, lambda h, s=screen: pygame.image.save(s, h, "png"), suffix=".png")
                print(f"saved {path}", file=sys.stderr)
            if "export_strip" in state.requests and scene.strip_images is not None:
                path = stamp(args.shots_dir, "strip")
                strip = np.concatenate(list(scene.strip_images), axis=1)  # (H, K * W): A on the left, B on the right
                image = render.image_surface(strip, (strip.shape[1] * 4, strip.shape[0] * 4))
                atomic_write(path, lambda h, s=image: pygame.image.save(s, h, "png"), suffix=".png")
                print(f"saved {path}", file=sys.stderr)
            state.requests.clear()
            recent.append(time.perf_counter())
            frame += 1
            if frame == MEMORY_BASELINE_FRAME:
                timings.rss_mb["at_frame_1000"] = resident_mb()
            clock.tick(args.fps)
        cpu_s = time.process_time() - cpu_started
        timings.rss_mb["at_end"] = resident_mb()
        if args.screenshot:
            atomic_write(args.screenshot, lambda handle: pygame.image.save(screen, handle, "png"), suffix=".png")
    finally:
        pygame.quit()
    stats = timings.summary(decoder.provider, frame, cpu_s, first_frame_at) | {"mode": mode}
    if args.stats:
        write_json(
            args.stats, stats | {"frame_ms": timings.frame_ms.kept().round(4).tolist()} if args.raw_timings else stats
        )
    return stats
