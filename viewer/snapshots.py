"""The timeline in the window: the plot, its dots and the decoder of any moment of training (numpy, onnxruntime).

`SnapshotModels.show(models, position)` points the window's models at a position on the timeline (a float:
snapshot 3.5 is halfway from the fourth snapshot to the fifth): the dots slide in a straight line between the
two snapshots' aligned places, and the plot's projection and decoder are the nearer snapshot's, so the image
under the cursor is decoded by the model of that moment. The last snapshot is the bundle itself: there the
models are the ones the window opened with.

A snapshot of a 2-D latent is shown on a Plane: its aligned place xy = (z - own_mean) @ R + plot_mean is
(z - origin) @ R with origin = own_mean - plot_mean @ R.T (R is orthogonal), so Plane(origin, R) projects and
lifts it exactly, as the bundle's own plane does. A larger latent's snapshot is lifted through its own dots
(mapping.MapProjection over its PCA plane, aligned).
"""

from __future__ import annotations

import threading

import numpy as np

from viewer.bundle import BundleError
from viewer.bundle.timeline import Timeline
from viewer.explore import Plane
from viewer.inference import OnnxModel
from viewer.mapping import MapProjection


class SnapshotModels:
    """Each snapshot's projection and decoder, made on first use, and the bundle's own for the last."""

    def __init__(self, timeline: Timeline, models):
        self.timeline = timeline
        self.final = (models.plane, models.points, models.decoder)  # the bundle itself: the last snapshot
        self.projection = models.projection
        self.planes: dict[int, Plane | MapProjection] = {}
        self.decoders: dict[int, OnnxModel] = {}
        self.shown: float | None = None
        self.rows: dict[int, np.ndarray] = {}  # each snapshot's plot points as (2, M) columns, made on first use
        self.moving = False  # the last update showed another position: the timeline is playing or being dragged
        self.providers = [models.decoder.provider]
        self.dim = models.bundle.latent_dim
        self.preparing: threading.Thread | None = None
        self.stopping = threading.Event()

    def __len__(self) -> int:
        return len(self.timeline)

    def plane(self, index: int) -> Plane | MapProjection:
        if index not in self.planes:
            found = self.timeline
            if found.info.plot == "latent":
                dim = self.dim
                rotation = found.rotation[index]
                origin = (found.own_mean[index] - found.plot_mean[index] @ rotation.T)[:dim]
                self.planes[index] = Plane(origin, rotation[:dim], np.zeros((dim, 0)), np.zeros(0))
            else:
                self.planes[index] = MapProjection(*found.at(index))
        return self.planes[index]

    def decoder(self, index: int, bundle) -> OnnxModel:
        if index not in self.decoders:
            file = self.timeline.decoders[index]
            self.decoders[index] = OnnxModel(file, "decoder", bundle.latent_dim, bundle.chw, self.providers)
        return self.decoders[index]

    def prepare(self, bundle) -> threading.Thread:
        """Make every earlier snapshot ready on a daemon thread: its dots' columns (checked) and its decoder, so
        that showing it for the first time costs a frame no more than showing it again (at a million points,
        ~4 ms each). numpy and onnxruntime do the work outside the GIL, on the core the frame loop leaves free;
        one that fails is left to `show` to report."""

        def work() -> None:
            for index in range(len(self) - 1):
                if self.stopping.is_set():
                    return
                try:
                    self.columns(index)
                    self.timeline.latents(index)
                    self.decoder(index, bundle)
                except BundleError:
                    continue

        self.preparing = threading.Thread(target=work, name="timeline-prepare", daemon=True)
        self.preparing.start()
        return self.preparing

    def stop(self) -> None:
        """End `prepare` between two snapshots and wait for it: a process that exits while the thread is inside
        onnxruntime (opening a session) aborts instead of exiting with its own status."""
        self.stopping.set()
        if self.preparing is not None:
            self.preparing.join()

    def earlier(self) -> int | None:
        """The index of the snapshot whose model decodes now; None at the last (the bundle itself)."""
        if self.shown is None or int(round(self.shown)) == len(self) - 1:
            return None
        return int(round(self.shown))

    def latents(self) -> np.ndarray | None:
        """(M, D) the test latents of the snapshot whose model decodes now; None at the last (the bundle's own)."""
        index = self.earlier()
        return None if index is None else self.timeline.latents(index)

    def moment(self) -> dict | None:
        """The snapshot whose model decodes now (step, epoch, test_mse), None at the last (the bundle itself)."""
        index = self.earlier()
        return None if index is None else self.timeline.info.snapshots[index]

    def dots(self, models) -> np.ndarray | None:
        """(N, 2) the dots shown, for R to frame; None at the last snapshot (the bundle's home view frames it)."""
        return None if self.shown is None or self.shown >= len(self) - 1 else models.points

    def show(self, models, position: float) -> bool:
        """Point models at `position` (0 to len - 1); whether anything changed. A snapshot whose decoder can't be
        opened (a followed run deleted) raises BundleError and changes nothing: `shown` stays the last good one."""
        self.moving = position != self.shown
        if not self.moving:
            return False
        last = len(self) - 1
        index = int(round(position))
        low = min(int(np.floor(position)), last)
        t = position - low
        # what can fail first (a decoder's file gone, a snapshot's values refused or cut short: BundleError), leaving
        # the models as they were
        here = self.columns(low)
        there = self.columns(min(low + 1, last)) if t else here
        if index != last:
            self.timeline.latents(index)  # its neighbours are looked for among them
        if index == last:
            models.plane, models.points, models.decoder = self.final
        else:
            decoder = self.decoder(index, models.bundle)
            models.plane, models.decoder = self.plane(index), decoder
        self.shown = position
        if t or index != last:  # (2, M) columns in float32: a million points move in ~1.5 ms a frame
            if t:  # a new array each frame: the scatter's caches go by identity
                moved = np.subtract(there, here)
                moved *= np.float32(t)
                here = np.add(moved, here, out=moved)
            models.points = here.T
        return True

    def columns(self, index: int) -> np.ndarray:
        """(2, M) snapshot index's plot points as two contiguous rows, as the scatter reads them: made on first use."""
        if index not in self.rows:
            self.rows[index] = np.ascontiguousarray(self.timeline.places(index).T)
        return self.rows[index]
