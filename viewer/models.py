"""Everything opened from the bundle that the update step and the panels read: the bundle, the models, and the
plot's projection with each test image's place in it.

A latent above 2-D with a map (python -m export.map) has two projections: the map, shown first, and the PCA
plane; `use` switches between them when the state's view asks for the other (M).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from viewer.anomaly import ErrorScale, error_scale, scale_for
from viewer.bundle import Bundle
from viewer.explore import Plane
from viewer.inference import GridDecoder, OnnxModel
from viewer.leaves import LeafIndex
from viewer.mapping import MapProjection
from viewer.spatial import GridIndex

HOVER_GAP = 16.0  # dot spacings past which a hover's distance to the map's dots is "far" (its fade has long bottomed)
PLANE, MAP, PCA = "plane", "map", "pca"  # the projections' names: the plane alone, or the map and the PCA plane


@dataclass
class Models:
    bundle: Bundle
    plane: Plane | MapProjection  # the plot's projection: project (N, D) -> (N, 2), lift back, extra_dims
    points: np.ndarray  # (M, 2) where each test image sits in the plot: plane.project(bundle.z)
    decoder: OnnxModel
    encoder: OnnxModel  # for the drawing, on the CPU
    grid: GridDecoder | None  # --precompute: hover answered from a decoded lattice
    map_grid: int  # the manifold map's tiles per side
    mode: str  # "live decode", or the precompute grid, for the HUD
    notices: list[str]  # warnings the HUD keeps showing
    index: GridIndex | LeafIndex | None = None  # neighbours of a large embedding (spatial.index_for); None: full scan
    errors: ErrorScale | None = None  # each test image's reconstruction error, computed on first use
    shown: tuple = field(default=(None, None))  # (hidden classes, their mask): the last `visible` answer
    listed: tuple = field(default=(None, ()))  # (hidden classes, the worst images among the rest): `worst`'s last
    measured: tuple = field(default=(None, 0.0))  # (the map point and projection, its gap): `gap`'s last
    # name -> (projection, its points): "plane" alone, or "map" and "pca" for a latent above 2-D with a map
    projections: dict[str, tuple] = field(default_factory=dict)
    projection: str = PLANE  # the one in plane and points now
    hashing: Any = None  # bundle.verify.Check: a large embedding's hash, checked after the first frames
    timeline: Any = None  # snapshots.SnapshotModels when the bundle has a timeline: the moment shown

    @property
    def pca(self) -> Plane:
        """The linear projection (the latent itself up to 2-D): what traversals and the neighbour index use."""
        return next(plane for plane, _ in self.projections.values() if isinstance(plane, Plane))

    def use(self, name: str) -> bool:
        """Show the plot on projection `name` (one of `projections`); whether that changed it."""
        if name == self.projection:
            return False
        self.plane, self.points = self.projections[name]
        self.projection = name
        return True

    @property
    def errors_ready(self) -> bool:
        """The errors are at hand without computing them: read, or stored in the bundle."""
        return self.errors is not None or self.bundle.errors is not None

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

    def gap(self, uv: np.ndarray) -> float:
        """On a map, how far uv is from the nearest dot in dot spacings, to 0.1 (0 on a plane); kept for the last
        point, so a still mouse costs no search each frame."""
        key = (uv.tobytes(), self.projection)
        if self.measured[0] != key:
            on_map = isinstance(self.plane, MapProjection)
            far = self.plane.distance_to_data(uv[None], beyond=HOVER_GAP)[0] if on_map else 0.0
            self.measured = (key, round(float(far), 1))
        return self.measured[1]

    def worst(self, hidden: frozenset[int]) -> tuple[int, ...]:
        """The anomaly view's list: the worst-reconstructed test images of the shown classes; kept for the last set."""
        if self.listed[0] != hidden:
            self.listed = (hidden, tuple(int(i) for i in self.error_scale().worst(self.visible(hidden))))
        return self.listed[1]
