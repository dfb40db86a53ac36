"""Aligning the snapshots of a timeline: each one's plot turned or mirrored onto the last one's (numpy only).

Export aligns a run's snapshots once for the bundle; `--follow` aligns a live run's as they come. A plain
autoencoder's latent space may turn or mirror from one snapshot to the next, which would make an animation spin:
each snapshot's plot (its 2-D latent, or the PCA plane of a larger one) is fitted onto the last snapshot's plot by
the rotation or reflection that moves its dots least (orthogonal Procrustes: Schoenemann, 1966), after centring
both. No scaling: the untrained model's latents sit in a small knot, and the animation shows them spread.
"""

from __future__ import annotations

import numpy as np

from viewer.explore import make_plane


def procrustes(own: np.ndarray, target: np.ndarray, flat: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The orthogonal R (2, 2) minimising |(own - own_mean) @ R - (target - target_mean)| over (M, 2) points;
    returns R, own_mean, target_mean. flat: a 1-D latent on the x axis, which may only mirror."""
    own_mean, target_mean = own.mean(axis=0), target.mean(axis=0)
    cross = (own - own_mean).T @ (target - target_mean)  # (2, 2)
    if flat:
        return np.diag([1.0 if cross[0, 0] >= 0 else -1.0, 1.0]), own_mean, target_mean
    u, _, vt = np.linalg.svd(cross)
    return u @ vt, own_mean, target_mean


def own_plot(z: np.ndarray) -> np.ndarray:
    """(M, D) latents -> (M, 2): the latent itself (D = 1 on the x axis, D = 2), else its PCA plane."""
    z = np.asarray(z, dtype=np.float64)
    if z.shape[1] == 1:
        return np.column_stack([z[:, 0], np.zeros(len(z))])
    return z if z.shape[1] == 2 else make_plane(z).project(z)


def align(latents: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Each snapshot's (M, D) latents aligned onto the last's plot: the timeline's arrays z (S, M, D), xy (S, M, 2),
    rotation (S, 2, 2), own_mean and plot_mean (S, 2), all float32 (timeline/latents.npz's)."""
    dim = latents[-1].shape[1]
    target = own_plot(latents[-1])
    arrays = {name: [] for name in ("z", "xy", "rotation", "own_mean", "plot_mean")}
    for z in latents:
        own = own_plot(z)
        rotation, own_mean, plot_mean = procrustes(own, target, flat=dim == 1)
        values = (z, (own - own_mean) @ rotation + plot_mean, rotation, own_mean, plot_mean)
        for name, value in zip(arrays, values):
            arrays[name].append(np.asarray(value, dtype=np.float32))
    return {name: np.stack(values) for name, values in arrays.items()}
