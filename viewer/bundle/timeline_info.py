"""bundle.json's `timeline` key: the snapshots of training a bundle carries (read by viewer/bundle/timeline.py).

An optional folder of one decoder per snapshot and the snapshots' latents, which export writes from a run's
snapshots (export/timeline.py).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from viewer.bundle.kinds import DECODER, JSON_KINDS, BundleError, is_kind

TIMELINE = "timeline"
TIMELINE_LATENTS = f"{TIMELINE}/latents.npz"
TIMELINE_DECODER = re.compile(rf"{TIMELINE}/step-[0-9]{{6}}\.onnx")  # a snapshot's decoder; the last is DECODER
TIMELINE_PLOTS = ("latent", "pca")  # what a timeline's xy are: the 2-D latent itself, or each snapshot's PCA plane
MAX_SNAPSHOTS = 1000


def _number(value: Any) -> bool:
    return is_kind(value, float)


@dataclass(frozen=True)
class TimelineInfo:
    """The latent space as it formed in training: bundle.json's `timeline` key (its files' hashes sit in `files`).

    Each snapshot is {"step", "epoch", "test_mse", "decoder"}, by step; the last is the bundle itself (its decoder
    is decoder.onnx, its latents embedding.npz's). timeline/latents.npz holds, per snapshot, the test latents z
    (S, M, D) and where the plot shows them, xy (S, M, 2): aligned onto the last snapshot's plot by an orthogonal
    Procrustes fit (rotation (S, 2, 2), own_mean and plot_mean (S, 2): xy = (own - own_mean) @ rotation +
    plot_mean, where `own` is the snapshot's latent itself or its PCA plane), so the picture neither spins nor
    flips from one snapshot to the next.
    """

    snapshots: list[dict[str, Any]]
    steps_per_epoch: int
    plot: str  # one of TIMELINE_PLOTS
    weights: str  # "float32" or "float16": the snapshot decoders' stored weights (computed in float32)
    parameters: dict[str, Any] = field(default_factory=dict)  # how export chose them: the run's count, the cap, ...

    @classmethod
    def from_dict(cls, value: Any, file: Path) -> TimelineInfo:
        """bundle.json's `timeline` object, checked; a BundleError naming the key otherwise."""
        if not isinstance(value, dict):
            raise BundleError(f"{file}: 'timeline' should be an object")
        kinds = {"snapshots": list, "steps_per_epoch": int, "plot": str, "weights": str}
        for name, kind in kinds.items():
            if not is_kind(value.get(name), kind):
                raise BundleError(f"{file}: 'timeline.{name}' should be {JSON_KINDS[kind]}")
        snapshots = value["snapshots"]
        if not 1 <= len(snapshots) <= MAX_SNAPSHOTS or value["steps_per_epoch"] < 1:
            raise BundleError(f"{file}: 'timeline' needs 1 to {MAX_SNAPSHOTS} snapshots and steps_per_epoch >= 1")
        if value["plot"] not in TIMELINE_PLOTS or value["weights"] not in ("float32", "float16"):
            raise BundleError(f"{file}: 'timeline.plot' must be latent or pca, 'timeline.weights' float32 or float16")
        for i, snap in enumerate(snapshots):
            if not _snapshot_ok(snap, last=i == len(snapshots) - 1):
                raise BundleError(
                    f"{file}: 'timeline.snapshots[{i}]' must hold step (an integer), epoch and test_mse (numbers) and "
                    f"decoder ({TIMELINE}/step-NNNNNN.onnx; the last: {DECODER})"
                )
        steps = [snap["step"] for snap in snapshots]
        if steps != sorted(set(steps)) or steps[0] < 0:
            raise BundleError(f"{file}: 'timeline.snapshots' must be in order of step, each step once")
        parameters = value.get("parameters", {})
        if not isinstance(parameters, dict):
            raise BundleError(f"{file}: 'timeline.parameters' should be an object")
        return cls(snapshots, value["steps_per_epoch"], value["plot"], value["weights"], parameters)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def files(self) -> list[str]:
        """The timeline's own files: the latents, and each snapshot's decoder but the last (the bundle's own)."""
        return [TIMELINE_LATENTS, *(snap["decoder"] for snap in self.snapshots[:-1])]


def _snapshot_ok(snap: Any, last: bool) -> bool:
    if not isinstance(snap, dict) or not is_kind(snap.get("step"), int) or not is_kind(snap.get("decoder"), str):
        return False
    if not (_number(snap.get("epoch")) and _number(snap.get("test_mse"))):
        return False
    return snap["decoder"] == DECODER if last else bool(TIMELINE_DECODER.fullmatch(snap["decoder"]))
