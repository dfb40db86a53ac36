"""`python -m viewer --follow RUN_DIR`: a run still training, shown as it learns (numpy, onnxruntime; no torch).

The trainer writes what this reads (training/snapshots.py; names in latent_common/snapshots.py): per snapshot
a decoder in ONNX and the test latents, the test images once, the latest encoder, and index.json last, so a
listed snapshot is whole. Each poll (about once a second) that finds index.json changed reads the snapshots not
yet read, aligns them all onto the newest (viewer/align.py) and hands back a bundle and timeline to show: the
newest snapshot is the bundle itself. An index.json that can't be read (being replaced on a file system that
isn't atomic) or that names a file not there yet is skipped until the next poll; a run that stops simply stops
bringing new snapshots.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from latent_common.errors import UserError
from latent_common.files import read_json
from latent_common.npz import read_arrays
from latent_common.snapshots import ENCODER, INDEX, SNAPSHOTS, TEST
from viewer import words
from viewer.align import align
from viewer.bundle import MAX_EMBEDDING_BYTES, MAX_METADATA_BYTES, Bundle, BundleMeta, TimelineInfo, view_bounds
from viewer.bundle.timeline import Timeline

POLL_S = 1.0  # how often index.json is looked at
WAIT_S = 60.0  # how long --follow waits for a run's first snapshot before it gives up


@dataclass
class Followed:
    """What a poll found: the bundle to show (the newest snapshot), its timeline, and its two graphs."""

    bundle: Bundle
    timeline: Timeline | None  # None while there is one snapshot only
    decoder: Path
    encoder: Path


class RunFollower:
    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.folder = self.run_dir / SNAPSHOTS
        self.stamp: tuple | None = None  # index.json's (mtime, size) when last read
        self.latents: dict[int, np.ndarray] = {}  # by step
        self.test: tuple[np.ndarray, np.ndarray] | None = None  # images, labels
        self.count = 0

    def wait_first(self, timeout: float | None = None) -> Followed:
        """The run as it is now; waits up to `timeout` seconds (WAIT_S) for its folder and first snapshot: a run
        started in the same breath as the viewer may not have made its folder yet."""
        timeout = WAIT_S if timeout is None else timeout
        if self.run_dir.exists() and not self.run_dir.is_dir():
            raise UserError(f"{self.run_dir}: not a directory (--follow takes python -m training's --run-dir)")
        deadline = time.monotonic() + timeout
        told = False
        while True:
            found = self.poll()
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise UserError(self._never_came(timeout))
            if not told:
                print(words.FOLLOW_WAITING.format(index=self.folder / INDEX, seconds=timeout), file=sys.stderr)
                told = True
            time.sleep(POLL_S / 4)

    def _never_came(self, timeout: float) -> str:
        if not self.run_dir.is_dir():
            return words.FOLLOW_NO_DIR.format(run=self.run_dir, seconds=timeout)
        return words.FOLLOW_NO_SNAPSHOT.format(index=self.folder / INDEX, seconds=timeout)

    def poll(self) -> Followed | None:
        """What is new since the last poll, or None (nothing new, or not readable yet)."""
        try:
            stat = (self.folder / INDEX).stat()
        except OSError:
            return None
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self.stamp:
            return None
        try:  # through the bounded readers: a FIFO, /dev/zero or a truncated archive is "not ready", never a hang
            index = read_json(self.folder / INDEX, MAX_METADATA_BYTES)
            found = self._read(index)
        except (UserError, OSError, ValueError, KeyError, TypeError, IndexError):
            return None  # half there: the next poll tries again
        self.stamp = stamp
        return found

    def _read(self, index: dict) -> Followed | None:
        snapshots = index["snapshots"]
        if not snapshots or len(snapshots) < self.count:  # a run started afresh over it: begin again
            self.latents.clear()
            if not snapshots:
                return None
        if self.test is None or len(snapshots) < self.count:
            test = read_arrays(self.folder / TEST, ("images", "labels"), MAX_EMBEDDING_BYTES, UserError)
            self.test = (test["images"], test["labels"])
        for snap in snapshots:
            if snap["step"] not in self.latents:
                latents = read_arrays(self.folder / snap["latents"], ("z",), MAX_EMBEDDING_BYTES, UserError)
                self.latents[snap["step"]] = np.asarray(latents["z"], dtype=np.float32)
        for name in (ENCODER, *(snap["decoder"] for snap in snapshots)):
            if not (self.folder / name).is_file():
                raise OSError(f"{name} is not there yet")
        self.count = len(snapshots)
        return self._followed(index, snapshots)

    def _followed(self, index: dict, snapshots: list[dict]) -> Followed:
        images, labels = self.test
        arrays = align([self.latents[snap["step"]] for snap in snapshots])
        z = arrays["z"][-1]
        meta = BundleMeta(
            name=f"{self.run_dir.name} (following)",
            dataset=index["dataset"],
            class_names=index["class_names"],
            latent_dim=int(index["latent_dim"]),
            image_shape=list(index["image_shape"]),
            latent_bounds=view_bounds(z),
            test_mse=snapshots[-1]["test_mse"],
            model_config={"kind": index["kind"]},
        )
        bundle = Bundle(self.folder, meta, z, labels, images, warnings=[])
        timeline = None
        if len(snapshots) > 1:
            keys = ("step", "epoch", "test_mse", "decoder")
            listed = [{key: snap[key] for key in keys} for snap in snapshots]
            plot = "latent" if meta.latent_dim <= 2 else "pca"
            info = TimelineInfo(listed, int(index["steps_per_epoch"]), plot, "float32")
            wide = {name: arrays[name].astype(np.float64) for name in ("xy", "rotation", "own_mean", "plot_mean")}
            decoders = [self.folder / snap["decoder"] for snap in snapshots]
            timeline = Timeline(info, arrays["z"], **wide, decoders=decoders)
        return Followed(bundle, timeline, self.folder / snapshots[-1]["decoder"], self.folder / ENCODER)
