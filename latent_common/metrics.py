"""How good a latent space is beside its reconstructions: leave-one-out k-NN accuracy of the test embedding.

numpy only: training measures its runs with it, and so does the torch-free ONNX-pair export.
"""

from __future__ import annotations

import numpy as np

from latent_common.errors import UserError

KNN_K = 5


class TooFewPoints(UserError):
    """A test split too small to measure the latent space on."""


def check_knn_points(count: int, where: str, k: int = KNN_K) -> None:
    """Leave-one-out k-NN needs k other points beside each one: refuse fewer than k + 1 up front."""
    if count < k + 1:
        raise TooFewPoints(
            f"{where}: the test split has {count} image(s); the latent {k}-NN accuracy needs at least {k + 1}"
        )


def knn_accuracy(z: np.ndarray, labels: np.ndarray, k: int = KNN_K, chunk: int = 1000) -> float:
    """Share of points whose k nearest other points (Euclidean, in latent space) vote for their own label."""
    check_knn_points(len(z), "k-NN accuracy", k)
    z = np.asarray(z, dtype=np.float32)
    squared = np.einsum("ij,ij->i", z, z)
    classes = int(labels.max()) + 1
    correct = 0
    for start in range(0, len(z), chunk):
        block = z[start : start + chunk]
        distances = squared[start : start + chunk, None] - 2 * block @ z.T + squared[None, :]  # (B, M)
        distances[np.arange(len(block)), np.arange(start, start + len(block))] = np.inf  # leave the point out
        neighbours = np.argpartition(distances, k, axis=1)[:, :k]
        votes = np.zeros((len(block), classes), dtype=np.int32)
        np.add.at(votes, (np.arange(len(block))[:, None], labels[neighbours]), 1)
        correct += int((votes.argmax(axis=1) == labels[start : start + chunk]).sum())
    return correct / len(z)
