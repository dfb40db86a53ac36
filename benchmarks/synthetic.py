"""MNIST-shaped data of any size, made from the shipped bundle's 10,000 real test digits (numpy only).

The scale benchmark needs a million digits and the GPU check a training set on a machine that may have
no MNIST and no network; both tile the real digits, each copy shifted by up to a pixel so that no two
neighbouring copies are identical, and both work in chunks so a million images cost their 784 MB once.
"""

from __future__ import annotations

import numpy as np

CHUNK = 65_536  # digits shifted per step: ~51 MB of uint8 at 28×28
SHIFTS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
LATENT_JITTER = 0.05  # of each dimension's spread: copies of a digit stay inside its cluster


def tiled_digits(images: np.ndarray, count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`count` digits drawn from `images` (M, H, W) or (M, C, H, W) uint8, each shifted by -1..1 pixels on
    each axis. Returns the digits in the same layout, and which source digit each copies (count,) int64.
    """
    rng = np.random.default_rng(seed)
    source = rng.integers(0, len(images), size=count)
    shift = rng.integers(0, len(SHIFTS), size=count)
    out = np.empty((count, *images.shape[1:]), dtype=np.uint8)
    for start in range(0, count, CHUNK):
        stop = min(start + CHUNK, count)
        block = images[source[start:stop]]  # (chunk, ..., H, W), a copy
        for index, (dy, dx) in enumerate(SHIFTS):
            rows = np.flatnonzero(shift[start:stop] == index)
            if len(rows) and (dy or dx):
                block[rows] = np.roll(
                    block[rows], (dy, dx), axis=(-2, -1)
                )  # the border is background: a roll is a shift
        out[start:stop] = block
    return out, source


def jittered_latents(z: np.ndarray, source: np.ndarray, seed: int = 0) -> np.ndarray:
    """Latents for tiled digits: each source digit's latent z[source] (N, D) plus a little Gaussian noise."""
    rng = np.random.default_rng(seed + 1)
    spread = z.std(axis=0)  # (D,)
    noise = rng.standard_normal((len(source), z.shape[1]), dtype=np.float32) * (LATENT_JITTER * spread)
    return (z[source] + noise).astype(np.float32)
