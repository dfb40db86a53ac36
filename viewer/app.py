"""The viewer: command line, start-up (bundle, sessions, cached surfaces), and the frame loop."""

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

from viewer.atomic import WriteError, atomic_write, write_json
from viewer.bundle import DECODER, ENCODER, Bundle, BundleError, load_bundle
from viewer.inference import CPU, PROVIDERS, OnnxModel, choose_providers

DEFAULT_BUNDLE = Path("models") / "mnist-ae"
HUD_REFRESH_S = 0.5  # the FPS figure changes this often; a still mouse redraws nothing in between
MOTION_EVENTS_PER_FRAME = 4  # the scripted mouse posts several moves a frame, as a fast real mouse does
TIMING_WINDOW = 100_000  # an open-ended session reports percentiles over its last this-many frames
MEMORY_BASELINE_FRAME = 1000  # resident memory is sampled here and at the end (the soak test's figures)


class ViewerError(Exception):
    """A problem the user can fix that is not about the bundle, such as a provider that can't be had."""


def default_bundle() -> Path:
    """models/mnist-ae under the current folder, else the one shipped beside this package."""
    if DEFAULT_BUNDLE.is_dir():
        return DEFAULT_BUNDLE
    return Path(__file__).resolve().parent.parent / DEFAULT_BUNDLE


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m viewer",
        description="Explore an autoencoder's latent space: hover the scatter of encoded digits to decode the point under the mouse.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("bundle", nargs="?", type=Path, default=None, help=f"model bundle folder (default: {DEFAULT_BUNDLE})")
    parser.add_argument("--provider", choices=["auto", *PROVIDERS], default="auto", help="onnxruntime execution provider; a missing one falls back to CPU")
    parser.add_argument("--strict-provider", action="store_true", help="fail instead of falling back to CPU when --provider can't be used")
    parser.add_argument("--strict", action="store_true", help="refuse a bundle whose file hashes differ from bundle.json (default: warn)")
    parser.add_argument("--fps", type=int, default=60, help="frame-rate cap; 0 for uncapped")
    parser.add_argument("--headless", action="store_true", help="no window: move a scripted mouse over the scatter (SDL dummy driver)")
    parser.add_argument("--mouse", choices=["path", "still"], default="path", help="headless mouse: a scripted path over the scatter, or no motion")
    parser.add_argument("--frames", type=int, default=0, help="stop after this many frames (0: run until closed; headless default 600)")
    parser.add_argument("--screenshot", type=Path, help="save the last frame to this PNG")
    parser.add_argument("--stats", type=Path, help="write frame and decode timings to this JSON file")
    parser.add_argument("--raw-timings", action="store_true", help="include every frame time in --stats (for plots)")
    return parser


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


def hud_lines(bundle: Bundle, z: np.ndarray, decode_us: float, fps: float, provider: str, notices: list[str]):
    from viewer.render import DIM_TEXT, TEXT, WARN

    coords = ", ".join(f"{value:+.3f}" for value in z[0, :2])
    more = f"  (+{bundle.latent_dim - 2} dims at their mean)" if bundle.latent_dim > 2 else ""
    lines = [
        (f"z = ({coords}){more}", TEXT),
        (f"decode {decode_us:6.0f} µs    {fps:5.1f} fps", TEXT),
        (f"provider {provider.removesuffix('ExecutionProvider')}", TEXT),
        (f"{bundle.name}  ·  test MSE {bundle.meta.get('test_mse', float('nan')):.4f}  ·  Esc quits", DIM_TEXT),
    ]
    return lines + [(notice, WARN) for notice in notices]


def open_models(bundle: Bundle, args: argparse.Namespace) -> tuple[OnnxModel, list[str]]:
    """The decoder on the chosen provider (and the encoder, checked), plus notices for the HUD."""
    providers, notice = choose_providers(args.provider)
    decoder = OnnxModel(bundle.path / DECODER, "decoder", bundle.latent_dim, bundle.image_shape, providers)
    # The encoder is checked at start so a broken bundle fails before the window opens.
    OnnxModel(bundle.path / ENCODER, "encoder", bundle.latent_dim, bundle.image_shape, [CPU])
    if notice is None and args.provider not in ("auto", "cpu") and decoder.provider != PROVIDERS[args.provider]:
        notice = f"{PROVIDERS[args.provider]} failed to start; using {decoder.provider}"
    if notice and args.strict_provider:
        raise ViewerError(f"--provider {args.provider}: {notice.split(';')[0]} (--strict-provider)")
    notices = [f"{Path(line.split(': ', 1)[0]).name}: hash differs from bundle.json" for line in bundle.warnings]
    for line in bundle.warnings + ([notice] if notice else []):
        print(f"warning: {line}", file=sys.stderr)
    return decoder, notices + ([notice] if notice else [])


@dataclass
class Scene:
    """Everything that depends only on the window size: rebuilt on resize, drawn from every frame."""

    layout: object
    background: object  # scatter, axes, legend and panel frame, drawn once
    digit: object  # the DigitTile the hover decode is drawn into


def build_scene(size, bundle: Bundle, fonts) -> Scene:
    from viewer import render
    from viewer.layout import make_layout

    view = bundle.bounds[:2] if bundle.latent_dim >= 2 else np.vstack([bundle.bounds, [[-1.0, 1.0]]])
    layout = make_layout(size, view)
    background = render.scatter_surface(layout, bundle.z[:, :2], bundle.labels, fonts["small"])
    legend = render.legend_surface(layout, bundle.class_names, fonts["text"])
    render.static_panel(background, layout, legend, fonts["text"].render("decoded at the cursor", True, render.DIM_TEXT))
    return Scene(layout=layout, background=background, digit=render.DigitTile(bundle.image_shape, layout.digit.size))


Script = Callable[[int, object], list]  # (frame, layout) -> events to post before the frame's input


def run(args: argparse.Namespace, script: Script | None = None) -> dict:
    """Open the bundle, then the window, and run frames until closed or `args.frames` is reached."""
    bundle = load_bundle(args.bundle or default_bundle(), strict=args.strict)
    decoder, notices = open_models(bundle, args)
    mean = bundle.z.mean(axis=0)
    decoder.warm_up(mean[None].astype(np.float32))

    if args.headless:
        os.environ["SDL_VIDEODRIVER"] = "dummy"
        if args.mouse == "path":
            script = script or (lambda frame, layout: scripted_mouse(frame, layout.plot))
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame  # after SDL_VIDEODRIVER is set

    from viewer import render
    from viewer.layout import MIN_WINDOW, window_size
    from viewer.state import handle, initial_state

    pygame.display.init()
    pygame.font.init()
    try:
        state = initial_state(mean, window_size())
        screen = pygame.display.set_mode(state.window_size, pygame.RESIZABLE)
        pygame.display.set_caption(f"latent-explorer · {bundle.name}")
        fonts = {"text": pygame.font.Font(None, 20), "small": pygame.font.Font(None, 17)}
        scene = build_scene(state.window_size, bundle, fonts)
        text = render.TextCache(fonts["text"])
        digit, last_cursor = None, None
        frames = args.frames or (600 if args.headless else 0)
        timings = Timings(capacity=frames or TIMING_WINDOW)
        clock = pygame.time.Clock()
        recent: deque[float] = deque(maxlen=120)
        hud_due, decode_us, frame, first_frame_at = 0.0, 0.0, 0, 0.0
        cpu_started = time.process_time()
        while state.running and (frames == 0 or frame < frames):
            started = time.perf_counter()
            if script is not None:
                for event in script(frame, scene.layout):
                    pygame.event.post(event)
            for event in pygame.event.get():
                state = handle(event, state, scene.layout)
            if state.window_size != scene.layout.size:
                state.window_size = (max(state.window_size[0], MIN_WINDOW[0]), max(state.window_size[1], MIN_WINDOW[1]))
                if pygame.display.get_surface().get_size() != state.window_size:
                    screen = pygame.display.set_mode(state.window_size, pygame.RESIZABLE)
                screen = pygame.display.get_surface()
                scene = build_scene(state.window_size, bundle, fonts)
                digit, last_cursor = None, None
            if state.z_changed or digit is None:
                t0 = time.perf_counter_ns()
                image = decoder(state.z)[0]  # (H, W) in [0, 1]
                decode_us = (time.perf_counter_ns() - t0) / 1000
                timings.decode_us.append(decode_us)
                digit = scene.digit.update(image)
                state.z_changed, state.needs_redraw = False, True
            if started >= hud_due:
                hud_due = started + HUD_REFRESH_S
                state.needs_redraw = True
            if state.needs_redraw:
                fps = (len(recent) - 1) / (recent[-1] - recent[0]) if len(recent) > 1 and recent[-1] > recent[0] else 0.0
                lines = hud_lines(bundle, state.z, decode_us, fps, decoder.provider, notices)
                dirty = render.frame(screen, scene.layout, scene.background, digit, state.cursor, lines, text, last_cursor, state.full_redraw)
                pygame.display.update(dirty)
                last_cursor = render.cursor_rect(state.cursor) if state.cursor is not None else None
                state.needs_redraw = state.full_redraw = False
                timings.frame_ms.append((time.perf_counter() - started) * 1000)
                first_frame_at = first_frame_at or time.time()
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
    stats = timings.summary(decoder.provider, frame, cpu_s, first_frame_at)
    if args.stats:
        write_json(args.stats, stats | {"frame_ms": timings.frame_ms.kept().round(4).tolist()} if args.raw_timings else stats)
    return stats


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.frames < 0 or args.fps < 0:
        print("error: --frames and --fps must be 0 or more", file=sys.stderr)
        return 2
    try:
        stats = run(args)
    except (BundleError, ViewerError, WriteError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    if args.headless:
        print(
            f"{stats['frames']} frames: frame p50 {stats['frame_ms_p50']} ms, p99 {stats['frame_ms_p99']} ms; "
            f"decode p50 {stats['decode_us_p50']} µs, p99 {stats['decode_us_p99']} µs on {stats['provider']}"
        )
    return 0
