"""Moving through a latent space on purpose: walks through waypoints, traversals along each direction, the
direction from one class to another, and how unusual an image is (its reconstruction error).

These are the uses of a latent space the viewer shows beside the map itself: generation along a path, features
as directions ("slight adjustments to a vector in latent space can result in changes to specific features in
the output"), and anomaly detection (an autoencoder reconstructs what it was trained on better than anything
else). numpy only; the models come in as callables (`viewer.inference.OnnxModel`), so every piece is testable
with a stand-in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from latent_common.errors import UserError
from viewer.explore import Plane, make_plane

TINY = 1e-12  # a norm below this is the origin: it has no direction
PARALLEL = 1e-6  # an angle (radians) this close to 0 or pi: the great circle between the two is unstable
REACH = 2.0  # traversals run from -REACH to +REACH standard deviations: most of the embedding lies inside


# Walks ----------------------------------------------------------------------------------------------------------


def path(waypoints: np.ndarray, frames_per_leg: int, spherical: bool = False) -> np.ndarray:
    """Latents through every waypoint in order: (K, D) -> ((K - 1) * frames_per_leg + 1, D) float32.

    Waypoint k is frame k * frames_per_leg. Legs are straight lines, or with spherical=True great circles about
    the origin with the norm changing linearly (see `slerp`), the better path for a VAE whose prior is round.
    """
    points = np.asarray(waypoints, dtype=np.float64)
    if points.ndim != 2 or len(points) == 0:
        raise ValueError(f"waypoints must be (K, D) with K >= 1, got {list(points.shape)}")
    if frames_per_leg < 1:
        raise ValueError(f"frames_per_leg must be at least 1, got {frames_per_leg}")
    t = np.arange(frames_per_leg) / frames_per_leg  # each leg's start, not its end: that is the next leg's start
    step = slerp if spherical else lerp
    legs = [step(a, b, t) for a, b in zip(points[:-1], points[1:])]
    return np.concatenate([*legs, points[-1:]]).astype(np.float32)


def lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Points on the straight line from a to b at fractions t: (D,), (D,), (T,) -> (T, D)."""
    t = np.asarray(t, dtype=np.float64)[:, None]
    return (1 - t) * a + t * b


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Points from a to b at fractions t whose direction moves along the great circle between a's and b's
    (White 2016, "Sampling generative networks") and whose norm moves linearly between theirs: (T, D).

    So the path keeps to the shell where a VAE's latents live instead of cutting through the middle, where a
    straight line between two far points passes near the origin. Degenerate cases, where there is no single
    great circle: an endpoint at the origin (the other's direction is used: the straight line), both directions
    the same (the straight line), and opposite directions (a half circle through a fixed perpendicular, the
    latent axis least aligned with a; a 1-D latent has none, so the line).
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    norm_a, norm_b = np.linalg.norm(a), np.linalg.norm(b)
    if norm_a < TINY or norm_b < TINY or len(a) == 1:
        return lerp(a, b, t)
    u, v = a / norm_a, b / norm_b
    angle = 2 * np.arctan2(np.linalg.norm(u - v), np.linalg.norm(u + v))  # stable near 0 and pi, unlike arccos
    if angle < PARALLEL:
        return lerp(a, b, t)
    if np.pi - angle < PARALLEL:
        v, angle = perpendicular(u), np.pi  # the half circle from u to -u through v
        directions = np.cos(t * angle)[:, None] * u + np.sin(t * angle)[:, None] * v
    else:
        directions = (np.sin((1 - t) * angle)[:, None] * u + np.sin(t * angle)[:, None] * v) / np.sin(angle)
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)  # unit already, up to rounding
    return ((1 - t) * norm_a + t * norm_b)[:, None] * directions


def perpendicular(u: np.ndarray) -> np.ndarray:
    """A unit vector perpendicular to unit u: the latent axis least aligned with u, less its part along u."""
    axis = np.zeros_like(u)
    axis[np.argmin(np.abs(u))] = 1.0
    w = axis - (axis @ u) * u
    return w / np.linalg.norm(w)


# Traversals -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Directions:
    """The directions a traversal grid moves along, one row each."""

    vectors: np.ndarray  # (R, D) unit vectors
    spread: np.ndarray  # (R,) the embedding's standard deviation along each (ddof 1)
    names: list[str]  # "z1", "z2" for the latent axes; "PC1", ... for principal components
    centre: np.ndarray  # (D,) the embedding's mean


def traversal_directions(z: np.ndarray, plane: Plane | None = None) -> Directions:
    """The latent axes for D <= 2, else the embedding's principal components (the plane's PC1 and PC2, then its
    extra directions), each with the embedding's spread along it. Pass the viewer's plane to skip the SVD."""
    z = np.asarray(z, dtype=np.float64)
    dim = z.shape[1]
    if dim <= 2:
        return Directions(np.eye(dim), z.std(axis=0, ddof=1), [f"z{i + 1}" for i in range(dim)], z.mean(axis=0))
    plane = plane if plane is not None else make_plane(z)
    # The plane's extra_std is singular value / sqrt(M - 1); the std of the projections (ddof 1) is the same
    # quantity for PC1 and PC2, since the plane's origin is the embedding's mean.
    spread = np.concatenate([plane.project(z).std(axis=0, ddof=1), plane.extra_std])
    vectors = np.concatenate([plane.basis.T, plane.extra.T])
    return Directions(vectors, spread, [f"PC{i + 1}" for i in range(dim)], z.mean(axis=0))


def traversal(
    z: np.ndarray,
    directions: np.ndarray,
    spread: np.ndarray,
    steps: int = 9,
    centre: np.ndarray | None = None,
    reach: float = REACH,
) -> np.ndarray:
    """A grid of latents, one row per direction, steps columns from -reach to +reach spreads along it:
    (D,), (R, D) unit, (R,) -> (R * steps, D) float32, row by row.

    By default each row runs through z itself (with an odd steps the middle column is z): what changes if the
    current point moves along that direction. With centre (the embedding's mean, `Directions.centre`), each row
    instead spans the embedding's own range along its direction, centre +- reach spreads, z keeping its
    coordinates along every other direction: the figure of the beta-VAE papers (Higgins et al. 2017).
    """
    z = np.asarray(z, dtype=np.float64)
    vectors = np.atleast_2d(np.asarray(directions, dtype=np.float64))  # (R, D)
    spread = np.asarray(spread, dtype=np.float64).reshape(len(vectors))
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    offsets = np.linspace(-reach, reach, steps) if steps > 1 else np.zeros(1)  # (S,) in spreads
    start = np.zeros(len(vectors)) if centre is None else (np.asarray(centre, dtype=np.float64) - z) @ vectors.T
    amounts = start[:, None] + offsets[None, :] * spread[:, None]  # (R, S): how far along each direction
    grid = z + amounts[:, :, None] * vectors[:, None, :]  # (R, S, D)
    return grid.reshape(-1, len(z)).astype(np.float32)


# Feature directions ---------------------------------------------------------------------------------------------


def group_direction(points_a: np.ndarray, points_b: np.ndarray) -> tuple[np.ndarray, float]:
    """The unit (D,) vector from the mean of points_a (Na, D) to the mean of points_b (Nb, D), and the distance
    between the means: z + s * length * unit moves z by s times the step from group a to group b, the "add a
    smile vector" arithmetic (Larsen et al. 2016; White 2016)."""
    points_a, points_b = np.atleast_2d(points_a).astype(np.float64), np.atleast_2d(points_b).astype(np.float64)
    if len(points_a) == 0 or len(points_b) == 0:
        raise UserError("a direction needs at least one point in each group")
    step = points_b.mean(axis=0) - points_a.mean(axis=0)
    length = float(np.linalg.norm(step))
    if length < TINY:
        raise UserError("the two groups have the same mean latent, so there is no direction between them")
    return step / length, length


def class_direction(z: np.ndarray, labels: np.ndarray, a: int, b: int) -> tuple[np.ndarray, float]:
    """The unit vector from class a's mean latent to class b's, and the distance between the means."""
    for label in (a, b):
        if not np.any(labels == label):
            raise UserError(f"class {label} has no test images, so it has no mean latent")
    if a == b:
        raise UserError("pick two different classes: a direction needs a start and an end")
    return group_direction(z[labels == a], z[labels == b])


def class_means(z: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
    """Each class's mean latent: (M, D), (M,) in [0, count) -> (count, D) float64, NaN for a class without test
    images. The means `class_direction` takes, found once for every class: a direction is a difference of two."""
    z = np.asarray(z, dtype=np.float64)
    labels = np.asarray(labels).astype(np.int64)
    sizes = np.bincount(labels, minlength=count)[:count].astype(np.float64)  # (count,)
    sums = np.stack([np.bincount(labels, weights=z[:, d], minlength=count)[:count] for d in range(z.shape[1])], 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / sizes[:, None]


# Anomalies ------------------------------------------------------------------------------------------------------


Model = Callable[[np.ndarray], np.ndarray]


def reconstruction_errors(decoder: Model, encoder: Model, images: np.ndarray, batch: int = 1000) -> np.ndarray:
    """Each image's mean squared error (pixels in [0, 1]) after encoding and decoding: uint8 (M, C, H, W) ->
    float32 (M,). Their mean is the bundle's test MSE, as every image has the same number of pixels."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4:
        raise ValueError(f"images must be uint8 (M, C, H, W), got {images.dtype} {list(images.shape)}")
    errors = np.empty(len(images), dtype=np.float32)
    for start in range(0, len(images), batch):  # batches bound the memory of the (B, C, H, W) float copies
        pixels = images[start : start + batch].astype(np.float32) / 255.0
        drawn = decoder(encoder(pixels))
        errors[start : start + batch] = ((drawn.astype(np.float64) - pixels) ** 2).mean(axis=(1, 2, 3))
    return errors


def reconstruction_error(decoder: Model, encoder: Model, image: np.ndarray) -> float:
    """One float image (C, H, W) in [0, 1] (a drawing, a dropped picture): its mean squared error."""
    pixels = np.asarray(image, dtype=np.float32)[None]
    drawn = decoder(encoder(pixels))
    return float(((drawn.astype(np.float64) - pixels) ** 2).mean())


def percentile_of(error: float | np.ndarray, errors: np.ndarray) -> float | np.ndarray:
    """The share (0 to 1) of errors strictly below error: 0.97 reads "more unusual than 97% of the test set"."""
    errors = np.asarray(errors)
    if errors.size == 0:
        raise ValueError("no errors to compare with")
    if np.ndim(error) == 0:
        return float(np.count_nonzero(errors < error) / errors.size)
    return np.searchsorted(np.sort(errors), np.asarray(error), side="left") / errors.size


def worst(errors: np.ndarray, count: int) -> np.ndarray:
    """Indices of the count largest errors, largest first (ties by index, so the list is stable)."""
    order = np.argsort(-np.asarray(errors, dtype=np.float64), kind="stable")
    return order[: max(count, 0)]
