"""The viewer: command line, start-up (bundle, sessions, cached surfaces), and the frame loop."""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from viewer.atomic import atomic_write, write_json
from viewer.bundle import DECODER, ENCODER, Bundle, BundleError, load_bundle
from viewer.inference import PROVIDERS, OnnxModel, choose_providers

DEFAULT_BUNDLE = Path("models") / "mnist-ae"
HUD_REFRESH_S = 0.5  # the FPS figure changes this often; a still mouse redraws nothing in between
MOTION_EVENTS_PER_FRAME = 4  # the scripted mouse posts several moves a frame, as a fast real mouse does


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
    parser.add_argument("--strict", action="store_true", help="refuse a bundle whose file hashes differ from bundle.json (default: warn)")
    parser.add_argument("--fps", type=int, default=60, help="frame-rate cap; 0 for uncapped")
    parser.add_argument("--headless", action="store_true", help="no window: move a scripted mouse over the scatter (SDL dummy driver)")
    parser.add_argument("--frames", type=int, default=0, help="stop after this many frames (0: run until closed; headless default 600)")
    parser.add_argument("--screenshot", type=Path, help="save the last frame to this PNG")
    parser.add_argument("--stats", type=Path, help="write frame and decode timings to this JSON file")
    return parser


@dataclass
class Timings:
    frame_ms: list[float] = field(default_factory=list)
    decode_us: list[float] = field(default_factory=list)

    def summary(self, provider: str, frames: int) -> dict:
        def pct(values, q):
            return round(float(np.percentile(values, q)), 3) if values else None

        return {
            "frames": frames,
            "frames_drawn": len(self.frame_ms),
            "decodes": len(self.decode_us),
            "frame_ms_p50": pct(self.frame_ms, 50),
            "frame_ms_p99": pct(self.frame_ms, 99),
            "frame_ms_max": pct(self.frame_ms, 100),
            "decode_us_p50": pct(self.decode_us, 50),
            "decode_us_p99": pct(self.decode_us, 99),
            "provider": provider,
        }


def scripted_positions(plot, frame: int, frames: int) -> list[tuple[int, int]]:
    """A Lissajous path over the plot, a few points per frame, covering it every ~300 frames."""
    points = []
    for k in range(MOTION_EVENTS_PER_FRAME):
        t = 2 * math.pi * (frame + (k + 1) / MOTION_EVENTS_PER_FRAME) / 300
        x = plot.centerx + 0.45 * plot.width * math.sin(3 * t + 0.5)
        y = plot.centery + 0.45 * plot.height * math.sin(2 * t)
        points.append((int(x), int(y)))
    return points


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


def run(args: argparse.Namespace) -> dict:
    bundle = load_bundle(args.bundle or default_bundle(), strict=args.strict)
    providers, notice = choose_providers(args.provider)
    decoder = OnnxModel(bundle.path / DECODER, "decoder", bundle.latent_dim, bundle.image_shape, providers)
    # The encoder is checked at start so a broken bundle fails before the window opens.
    OnnxModel(bundle.path / ENCODER, "encoder", bundle.latent_dim, bundle.image_shape, [PROVIDERS["cpu"]])
    notices = [line.split(": ", 1)[0].split("/")[-1] + ": hash differs from bundle.json" for line in bundle.warnings]
    if notice:
        notices.append(notice)
    if args.provider not in ("auto", "cpu") and decoder.provider != PROVIDERS[args.provider] and not notice:
        notices.append(f"{PROVIDERS[args.provider]} failed to start; using {decoder.provider}")
    for line in bundle.warnings + ([notice] if notice else []):
        print(f"warning: {line}", file=sys.stderr)
    mean = bundle.z.mean(axis=0)
    decoder.warm_up(mean[None].astype(np.float32))

    if args.headless:
        os.environ["SDL_VIDEODRIVER"] = "dummy"
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame  # after SDL_VIDEODRIVER is set

    from viewer import render
    from viewer.layout import make_layout, window_size
    from viewer.state import handle, initial_state

    pygame.display.init()
    pygame.font.init()
    try:
        size = window_size()
        screen = pygame.display.set_mode(size)
        pygame.display.set_caption(f"latent-explorer · {bundle.name}")
        layout = make_layout(size, bundle.bounds[:2] if bundle.latent_dim >= 2 else np.vstack([bundle.bounds, [[-1, 1]]]))
        font = pygame.font.Font(None, 20)
        small = pygame.font.Font(None, 17)
        background = render.scatter_surface(layout, bundle.z[:, :2], bundle.labels, small)
        legend = render.legend_surface(layout, bundle.class_names, font)
        title = font.render("decoded at the cursor", True, render.DIM_TEXT)
        state = initial_state(mean)
        digit = None
        timings = Timings()
        frames = args.frames or (600 if args.headless else 0)
        clock = pygame.time.Clock()
        recent: deque[float] = deque(maxlen=120)
        hud_due = 0.0
        decode_us = 0.0
        frame = 0
        while state.running and (frames == 0 or frame < frames):
            started = time.perf_counter()
            if args.headless:
                for pos in scripted_positions(layout.plot, frame, frames):
                    pygame.event.post(pygame.event.Event(pygame.MOUSEMOTION, pos=pos, rel=(0, 0), buttons=(0, 0, 0)))
            redraw = False
            for event in pygame.event.get():
                state = handle(event, state, layout)
                redraw |= event.type in (pygame.WINDOWEXPOSED, pygame.WINDOWRESTORED)
            if state.z_changed:
                t0 = time.perf_counter_ns()
                image = decoder(state.z)[0]  # (H, W) in [0, 1]
                decode_us = (time.perf_counter_ns() - t0) / 1000
                timings.decode_us.append(decode_us)
                digit = render.digit_surface(image, layout.digit.size)
                state.z_changed = False
                redraw = True
            if started >= hud_due:
                hud_due = started + HUD_REFRESH_S
                redraw = True
            if redraw:
                fps = (len(recent) - 1) / (recent[-1] - recent[0]) if len(recent) > 1 and recent[-1] > recent[0] else 0.0
                lines = hud_lines(bundle, state.z, decode_us, fps, decoder.provider, notices)
                render.frame(screen, layout, background, digit, legend, state.cursor, lines, font, title)
                pygame.display.flip()
                timings.frame_ms.append((time.perf_counter() - started) * 1000)
            recent.append(time.perf_counter())
            frame += 1
            clock.tick(args.fps)
        if args.screenshot:
            save_output(args.screenshot, lambda: atomic_write(args.screenshot, lambda h: pygame.image.save(screen, h, "png"), ".png"))
    finally:
        pygame.quit()
    stats = timings.summary(decoder.provider, frame)
    if args.stats:
        save_output(args.stats, lambda: write_json(args.stats, stats))
    return stats


class OutputError(Exception):
    """A screenshot or stats file that could not be written."""


def save_output(path: Path, write) -> None:
    try:
        write()
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.frames < 0 or args.fps < 0:
        print("error: --frames and --fps must be 0 or more", file=sys.stderr)
        return 2
    try:
        stats = run(args)
    except (BundleError, OutputError) as exc:
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
