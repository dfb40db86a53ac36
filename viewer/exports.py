"""What the viewer writes to files: walk GIFs, strip PNGs, the embedding as CSV; also without a window."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from latent_common.cli import UsageError
from latent_common.errors import UserError
from viewer import words
from viewer.bundle import DECODER, load_bundle
from viewer.explore import make_plane
from viewer.gif import frames_from_images, write_gif
from viewer.inference import ModelRunError, OnnxModel, choose_providers
from viewer.mapping import REACH, MapProjection, read_map
from viewer.session_file import write_embedding_csv
from viewer.state import notify, walks_on_map
from viewer.walk import path

GIF_SCALE = 4  # a walk GIF's pixels per image pixel: a 28x28 image becomes 112x112, crisp
STRIP_SCALE = 4  # an exported strip's pixels per image pixel


def stamp(folder: Path, prefix: str, suffix: str = ".png") -> Path:
    return folder / f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}-{int(time.time() * 1000) % 1000:03d}{suffix}"


def walk_latents(plane, waypoints: list, places: list | None, frames_per_leg: int, spherical: bool) -> np.ndarray:
    """(T, D) the walk's latents: on a map, given where each waypoint was put (places), straight on the map and
    lifted through it; else straight lines (or great circles) in z."""
    if places is not None and not spherical and isinstance(plane, MapProjection):
        return plane.lift_path(path(np.stack(places), frames_per_leg))
    return path(np.stack(waypoints), frames_per_leg, spherical)


def walk_gif(decoder, latents: np.ndarray, out: Path) -> int:
    """Decode the walk's latents (T, D) (one batched call) and write them as an animated GIF, each image
    GIF_SCALE times its size; returns the frame count."""
    images = decoder(latents)  # (T, C, H, W) in [0, 1]
    write_gif(out, frames_from_images(images, GIF_SCALE))
    return len(images)


def strip_surface(images: np.ndarray):
    """The A -> B strip's decodes (K, C, H, W) side by side, A left, as one surface STRIP_SCALE times their size."""
    from viewer.panels.paint import image_surface, tile_images

    strip = tile_images(images, 1, len(images))  # (C, H, K * W)
    return image_surface(strip, (strip.shape[2] * STRIP_SCALE, strip.shape[1] * STRIP_SCALE))


def export_csv(args: argparse.Namespace) -> str:
    """`--export-csv FILE`: the test embedding with its plot positions, written without opening a window."""
    bundle = load_bundle(args.bundle, strict=args.strict)
    found = read_map(bundle, args.strict) if bundle.latent_dim > 2 else None
    map_xy = None if found is None else found[0]
    plane_xy = make_plane(bundle.z).project(bundle.z)
    write_embedding_csv(args.export_csv, bundle.z, bundle.labels, bundle.class_names, plane_xy, map_xy)
    return f"saved {args.export_csv}: {len(bundle.z):,} test images, {bundle.latent_dim}-D latents"


def check_on_map(plane, places: np.ndarray, flag: str) -> None:
    """On a map, points past its reach from every dot all lift to the mean latent: refuse them in one line."""
    if not isinstance(plane, MapProjection):
        return
    gaps = plane.distance_to_data(places)
    far = np.flatnonzero(gaps >= REACH)
    if len(far):
        x, y = places[far[0]]
        raise UsageError(f"{flag}: ({x:g}, {y:g}) is off the map ({gaps[far[0]]:.0f}× dot spacing from data), "
                         "where every point decodes the mean latent; pick points near the dots")  # fmt: skip


def export_walk(args: argparse.Namespace) -> str:
    """`--waypoints ... --export-walk FILE.gif`: decode the walk and write it, without a window or pygame."""
    bundle = load_bundle(args.bundle, strict=args.strict)
    found = read_map(bundle, args.strict) if bundle.latent_dim > 2 and args.projection == "map" else None
    plane = make_plane(bundle.z) if found is None else MapProjection(bundle.z, *found)  # what the window shows
    providers, _ = choose_providers(args.provider)
    decoder = OnnxModel(bundle.path / DECODER, "decoder", bundle.latent_dim, bundle.image_shape, providers)
    places = np.reshape(args.waypoints, (-1, 2))
    check_on_map(plane, places, "--waypoints")
    waypoints = list(plane.lift(places, np.zeros(plane.extra_dims)))
    latents = walk_latents(plane, waypoints, list(places), args.walk_frames, args.slerp)  # a map: along it
    count = walk_gif(decoder, latents, args.export_walk)
    how = "great circles" if args.slerp else "the map" if found is not None else "straight lines"
    return f"saved {args.export_walk}: {count} frames through {len(waypoints)} waypoints along {how}"


def export_walk_gif(state, models, args) -> None:
    """Shift+W: the walk through the waypoints as an animated GIF in --shots-dir."""
    route = state.route
    if len(route.waypoints) < 2:
        notify(state, words.WALK_EXPORT_NEEDS)
        return
    out = stamp(args.shots_dir, "walk", ".gif")
    try:
        places = route.places if walks_on_map(state) else None
        latents = walk_latents(models.plane, route.waypoints, places, route.walk_frames, route.slerp)
        count = walk_gif(models.decoder, latents, out)
    except (ModelRunError, UserError) as exc:
        notify(state, str(exc))
    else:
        notify(state, words.SAVED_WALK.format(name=out.name, count=count, folder=out.parent))
        print(f"saved {out}", file=sys.stderr)
