"""Everything opened from the bundle that the update step and the panels read: the bundle, the models, and the
plot's projection with each test image's place in it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from viewer.anomaly import ErrorScale, error_scale, scale_for
from viewer.bundle import Bundle
from viewer.explore import Plane
from viewer.inference import GridDecoder, OnnxModel
from viewer.spatial import GridIndex


@dataclass
class Models:
    bundle: Bundle
    plane: Plane  # the plot's projection: project (N, D) -> (N, 2), lift back, extra_dims; chosen at start
    points: np.ndarray  # (M, 2) where each test image sits in the plot: plane.project(bundle.z)
    decoder: OnnxModel
    encoder: OnnxModel  # for the drawing, on the CPU
    grid: GridDecoder | None  # --precompute: hover answered from a decoded lattice
    map_grid: int  # the manifold map's tiles per side
    mode: str  # "live decode", or the precompute grid, for the HUD
    notices: list[str]  # warnings the HUD keeps showing
    index: GridIndex | None = None  # neighbours of a large embedding (spatial.index_for); None: the full scan
    errors: ErrorScale | None = None  # each test image's reconstruction error, computed on first use
    shown: tuple = field(default=(None, None))  # (hidden classes, their mask): the last `visible` answer
    listed: tuple = field(default=(None, ()))  # (hidden classes, the worst images among the rest): `worst`'s last

    def error_scale(self) -> ErrorScale:
        """The anomaly view's errors: read once, on first use (about 0.2 s for 10,000 MNIST images)."""
        if self.errors is None:
            stored = self.bundle.errors  # export stores them; an older bundle's are computed here
            self.errors = (
                error_scale(stored)
                if stored is not None
                else scale_for(self.decoder, self.encoder, self.bundle.images_chw)
            )
        return self.errors

    def visible(self, hidden: frozenset[int]) -> np.ndarray | None:
        """(M,) bool mask of the test images in shown classes, None when all are shown; kept for the last set."""
        if not hidden:
            return None
        if self.shown[0] != hidden:
            self.shown = (hidden, ~np.isin(self.bundle.labels, list(hidden)))
        return self.shown[1]

    def worst(self, hidden: frozenset[int]) -> tuple[int, ...]:
        """The anomaly view's list: the worst-reconstructed test images of the shown classes; kept for the last set."""
        if self.listed[0] != hidden:
            self.listed = (hidden, tuple(int(i) for i in self.error_scale().worst(self.visible(hidden))))
        return self.listed[1]
