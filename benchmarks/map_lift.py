"""`python -m benchmarks.map_lift [BUNDLE]`: how long the map's lift takes per hover, at the bundle's size and
at a million points (its map tiled 100 times, each copy shifted by a few dot spacings and its latents jittered,
so the density stays a real map's).

Prints the projection's build time, one lift and one distance_to_data per hover (median of 500 hovers near
dots), and a 32 x 32 lattice lifted in one call (the manifold map's tiles).
"""

from __future__ import annotations

import sys
import time

import numpy as np

from viewer.api import open_bundle
from viewer.mapping import MapProjection

HOVERS = 500
COPIES = 100  # 10,000 test latents -> a million


def per_call_ms(function, points: np.ndarray) -> float:
    times = []
    for point in points:
        started = time.perf_counter()
        function(point[None])
        times.append(time.perf_counter() - started)
    return float(np.median(times)) * 1e3


def measure(label: str, z: np.ndarray, xy: np.ndarray) -> None:
    started = time.perf_counter()
    projection = MapProjection(z, xy)
    build = time.perf_counter() - started
    rng = np.random.default_rng(0)
    hovers = xy[rng.choice(len(xy), HOVERS)] + rng.normal(scale=projection.spacing, size=(HOVERS, 2))
    low, high = np.percentile(xy, [1, 99], axis=0)
    lattice = np.stack(np.meshgrid(np.linspace(low[0], high[0], 32), np.linspace(low[1], high[1], 32)), -1)
    started = time.perf_counter()
    projection.lift(lattice.reshape(-1, 2))
    batch = time.perf_counter() - started
    print(
        f"{label}: {len(z):,} points, build {build:.2f} s, lift {per_call_ms(projection.lift, hovers):.3f} ms a hover, "
        f"distance_to_data {per_call_ms(projection.distance_to_data, hovers):.3f} ms, "
        f"32x32 lattice {batch * 1e3:.1f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    opened = open_bundle(argv[0] if argv else "mnist-ae-8d")
    if not opened.has_map:
        print(f"error: {opened.bundle.path} has no map (python -m export.map {opened.bundle.path})", file=sys.stderr)
        return 2
    z, xy = opened.bundle.z, opened.map_xy
    measure(opened.bundle.name, z, xy)
    rng = np.random.default_rng(1)
    shift = np.ptp(xy, axis=0) * 1.1  # copies side by side on a 10 x 10 board, each its own map
    offsets = np.stack(np.meshgrid(np.arange(10), np.arange(10)), -1).reshape(-1, 2)[:COPIES] * shift
    big_xy = (xy[None] + offsets[:, None]).reshape(-1, 2)
    big_z = np.tile(z, (COPIES, 1)) + rng.normal(scale=0.01, size=(COPIES * len(z), z.shape[1])).astype(np.float32)
    measure(f"{opened.bundle.name} x {COPIES}", big_z, big_xy)
    return 0


if __name__ == "__main__":
    sys.exit(main())
