"""The viewer's command line: `latent-explorer` and `python -m viewer`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from latent_common.cli import ArgumentParser, UsageError, command, finite_float, int_in
from latent_common.errors import UserError, printable
from latent_common.files import is_dir
from viewer import catalog
from viewer.catalog import default_bundle  # benchmarks/run.py opens the same default
from viewer.inference import PROVIDERS
from viewer.session_file import check_savable
from viewer.state import WALK_FRAMES


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="latent-explorer",
        description="Explore an autoencoder's latent space: hover the scatter of encoded images to decode the point "
        "under the mouse. Press H in the window for every control.",
    )
    _add_bundle_arguments(parser)
    _add_view_arguments(parser)
    _add_output_arguments(parser)
    _add_walk_arguments(parser)
    _add_headless_arguments(parser)
    return parser


def _add_walk_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("walks", "a path through waypoints, played with W or written as a GIF")
    group.add_argument(
        "--waypoints",
        type=finite_float,
        nargs="+",
        metavar="X Y",
        help="start with waypoints at these plane points (X1 Y1 X2 Y2 ...: two or more points)",
    )
    group.add_argument(
        "--export-walk",
        type=Path,
        metavar="FILE.gif",
        help="decode the walk through --waypoints, write it as an animated GIF and exit (no window)",
    )
    group.add_argument(
        "--walk-frames",
        type=int_in(1, 500),
        default=WALK_FRAMES,
        metavar="N",
        help="frames from one waypoint to the next, 1-500",
    )
    group.add_argument(
        "--slerp",
        action="store_true",
        help="walk along great circles about the origin (a VAE's round prior) instead of straight lines",
    )


def _add_bundle_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "bundle",
        nargs="?",
        type=catalog.find,
        default=None,
        help=f"a model bundle folder, or a shipped bundle's name (see --list; default: {catalog.DEFAULT_NAME})",
    )
    parser.add_argument(
        "other",
        nargs="?",
        type=catalog.find,
        default=None,
        help="a second bundle of the same test images: both side by side, each hover decoded in its own model",
    )
    parser.add_argument(
        "--follow",
        type=Path,
        metavar="RUN_DIR",
        help="show a run still training (python -m training's --run-dir), moving on to each new snapshot",
    )
    parser.add_argument("--version", action="store_true", help="print the version, where it runs from, and exit")
    parser.add_argument("--list", action="store_true", help="list the shipped bundles and exit")
    parser.add_argument(
        "--info",
        action="store_true",
        help="check the bundle and print its card: exit 0, or 2 if the viewer would refuse it",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="refuse a bundle whose file hashes differ from bundle.json (default: warn)",
    )
    parser.add_argument(
        "--provider",
        choices=["auto", *PROVIDERS],
        default="auto",
        help="onnxruntime execution provider; a missing one falls back to CPU",
    )
    parser.add_argument(
        "--strict-provider",
        action="store_true",
        help="fail instead of falling back to CPU when --provider can't be used",
    )


def _add_view_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fps", type=int_in(0, 1000), default=60, help="frame-rate cap, 0-1000; 0 for uncapped")
    parser.add_argument(
        "--precompute",
        type=int_in(0, 512),
        default=0,
        metavar="N",
        help="decode an N×N grid of the view once and interpolate on hover (weak machines), N 2-512; 0: decode live",
    )
    parser.add_argument(
        "--map-grid",
        type=int_in(1, 64),
        default=16,
        metavar="N",
        help="the manifold map (G) tiles the view with N×N decodes, 1-64",
    )
    parser.add_argument("--map", action="store_true", help="start with the manifold map on")
    parser.add_argument("--traversal", action="store_true", help="start with the traversal grid (T) shown")
    parser.add_argument(
        "--color-by",
        choices=["class", "error"],
        default="class",
        help="colour the dots by their class, or by their reconstruction error (the anomaly view, key A)",
    )
    parser.add_argument(
        "--axes",
        choices=["equal", "fit"],
        default="equal",
        help="equal: a latent unit is as long on both axes (distances look as they are); fit: each axis fills the plot",
    )
    parser.add_argument(
        "--projection",
        choices=["map", "pca"],
        default="map",
        help="a latent above 2-D: start on its map (python -m export.map made it; the PCA plane when it has none) "
        "or on its PCA plane; M switches",
    )
    parser.add_argument(
        "--pins",
        type=finite_float,
        nargs=4,
        metavar=("AX", "AY", "BX", "BY"),
        help="start with A and B pinned at these plane points",
    )
    parser.add_argument(
        "--encode",
        type=Path,
        metavar="FILE",
        help="start with this picture encoded (converted as the training images were), marked in the scatter",
    )


def _add_output_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--shots-dir", type=Path, default=Path("."), help="where S (screenshot) and E (strip export) write PNGs"
    )
    parser.add_argument(
        "--record", type=Path, metavar="DIR", help="save every drawn frame as DIR/frame-NNNNNN.png (for a GIF)"
    )
    parser.add_argument("--screenshot", type=Path, help="save the last frame to this PNG")
    parser.add_argument(
        "--session",
        type=Path,
        metavar="FILE",
        help="carry on where you stopped: restore the view, pins, waypoints, hidden classes, offsets and a feature "
        "direction from FILE (if it exists; saved with this bundle) and save them there on quit",
    )
    parser.add_argument(
        "--export-csv",
        type=Path,
        metavar="FILE",
        help="write the test embedding (index, label, class, plane x/y, z_1..z_D) as CSV and exit",
    )
    parser.add_argument(
        "--export-timeline",
        type=Path,
        metavar="FILE",
        help="write the bundle's timeline (the latent space as it trained) as an animated GIF and exit",
    )
    parser.add_argument(
        "--timeline-point",
        type=float,
        nargs=2,
        metavar=("X", "Y"),
        help="--export-timeline: the plot point decoded in every frame (default: the middle of the last dots)",
    )
    parser.add_argument(
        "--tween",
        type=int_in(0, 30),
        default=3,
        help="--export-timeline: frames moving the dots between two snapshots (0: one frame a snapshot)",
    )
    parser.add_argument("--stats", type=Path, help="write frame and decode timings to this JSON file")
    parser.add_argument("--raw-timings", action="store_true", help="include every frame time in --stats (for plots)")


def _add_headless_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--headless", action="store_true", help="no window: move a scripted mouse over the scatter (SDL dummy driver)"
    )
    parser.add_argument(
        "--mouse",
        choices=["path", "still"],
        default="path",
        help="headless mouse: a scripted path over the scatter, or no motion",
    )
    parser.add_argument(
        "--frames",
        type=int_in(0, 10**9),
        default=0,
        help="stop after this many frames (0: run until closed; headless default 600)",
    )


def about(args: argparse.Namespace) -> list[str] | None:
    """The text of --version, --list or --info, when one was asked for."""
    if args.version:
        return catalog.version_lines()
    if args.list:
        return catalog.list_lines()
    if args.info:
        return catalog.info_lines(args.bundle, strict=args.strict)
    return None


def say(lines: list[str]) -> int:
    try:
        print("\n".join(printable(line) for line in lines), flush=True)  # a path the user named, escapes and all
    except BrokenPipeError:  # `--info | head`: the reader has gone, and Python would complain at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def main(argv: list[str] | None = None) -> int:
    return command(lambda: viewer_command(argv), "the viewer stopped; a file it was saving is as it was before")


def viewer_command(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    args.bundle = args.bundle or default_bundle()
    if args.precompute == 1:
        raise UsageError("--precompute 1: a grid needs at least 2×2 nodes (0 decodes live)")
    if not is_dir(args.bundle) and not (args.version or args.list or args.follow):
        raise UserError(catalog.missing(args.bundle))
    lines = about(args)
    if lines is not None:
        return say(lines)
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # before any viewer module imports pygame
    if args.waypoints is not None and (len(args.waypoints) < 4 or len(args.waypoints) % 2):
        raise UsageError(f"--waypoints takes X Y pairs, two or more; got {len(args.waypoints)} numbers")
    if args.export_walk:
        if not args.waypoints:
            raise UsageError("--export-walk needs --waypoints X1 Y1 X2 Y2 [...]")
        from viewer.exports import export_walk  # no window: the decoder is all it needs

        return say([export_walk(args)])
    if args.other is not None:
        from viewer.compare import compare  # two bundles side by side: a window of its own

        if args.session is not None:  # it keeps one bundle's view: said, not silently ignored
            raise UsageError("--session keeps one bundle's view and pins; side by side has none to keep")

        return say([compare(args)])
    if args.export_timeline:
        from viewer.timeline_gif import export_timeline  # no window: the bundle's timeline is all it needs

        return say([export_timeline(args)])
    if args.export_csv:
        from viewer.exports import export_csv  # no window: the bundle and the plane are all it needs

        return say([export_csv(args)])
    if args.session is not None:
        check_savable(args.session)  # now, not at quit, when the session's pins would be lost
    from viewer.app import run  # after parsing: --help needs no onnxruntime session

    stats = run(args)
    if args.headless:
        print(
            f"{stats['frames']} frames: frame p50 {stats['frame_ms_p50']} ms, p99 {stats['frame_ms_p99']} ms; "
            f"decode p50 {stats['decode_us_p50']} µs, p99 {stats['decode_us_p99']} µs on {stats['provider']}"
        )
    return 0
