"""A training run's snapshots -> the bundle's timeline: chosen, aligned, and their decoders made smaller.

    python -m export RUN_DIR --out BUNDLE [--timeline N] [--timeline-weights float16|float32]

The run directory's snapshots/ (training/snapshots.py) hold a decoder and the test latents at up to ~40 moments
of training. The bundle carries at most N of them (default TIMELINE_SNAPSHOTS), chosen evenly in log(step), so
the fast early moments and the slow late ones are both there; the last is the bundle itself.

Alignment (viewer/align.py, which --follow shares): each snapshot's plot is turned or mirrored onto the last's by
an orthogonal Procrustes fit; the fit is stored, so a reader undoes it before decoding.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from latent_common.data import Split
from latent_common.errors import UserError, reason
from latent_common.snapshots import INDEX, SNAPSHOTS, TEST
from training.checkpoint import read_json
from viewer.align import align
from viewer.bundle import DECODER, TIMELINE, TIMELINE_LATENTS, TimelineInfo

TIMELINE_SNAPSHOTS = 12  # two shipped MNIST bundles at ~1 MB a float16 decoder stay near 25 MB of timelines
FLOAT16_MIN_SIZE = 1024  # weights with fewer values stay float32: a Cast node would cost more than it saves


def select(steps: list[int], count: int) -> list[int]:
    """Indices into steps (ascending) of at most count of them, the first and last always, the rest each the
    farthest in log(1 + step) from those already chosen: even on a log scale, as the snapshots were taken."""
    if len(steps) <= count:
        return list(range(len(steps)))
    where = np.log1p(np.asarray(steps, dtype=np.float64))
    chosen = [0, len(steps) - 1]
    while len(chosen) < count:
        gaps = np.min(np.abs(where[:, None] - where[chosen][None]), axis=1)
        chosen.append(int(np.argmax(gaps)))
    return sorted(chosen)


def float16_weights(model: bytes) -> bytes:
    """The same decoder with its large float32 weights stored as float16 and cast back to float32 when it runs:
    half the bytes, and it still computes in float32 (each weight rounded to 11 significant bits)."""
    proto = onnx.load_from_string(model)
    graph, casts = proto.graph, []
    for init in list(graph.initializer):
        if init.data_type != TensorProto.FLOAT or int(np.prod(init.dims)) < FLOAT16_MIN_SIZE:
            continue
        half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), f"{init.name}.f16")
        graph.initializer.remove(init)
        graph.initializer.append(half)
        casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT))
    for node in reversed(casts):
        graph.node.insert(0, node)
    onnx.checker.check_model(proto)
    return proto.SerializeToString()


def read_snapshots(run_dir: Path, final_step: int, test: Split) -> list[dict] | None:
    """The run's snapshots before its checkpoint's step, each with its latents; None (and one line on stderr)
    when there are none, or when they are of other test images than the export's."""
    folder = run_dir / SNAPSHOTS
    if not (folder / INDEX).is_file():
        return None
    try:
        index = read_json(folder / INDEX)
        with np.load(folder / TEST, allow_pickle=False) as stored:
            same = np.array_equal(stored["labels"], test.labels) and np.array_equal(stored["images"], test.images)
        snapshots = [dict(snap) for snap in index["snapshots"] if snap["step"] < final_step]
        for snap in snapshots:
            with np.load(folder / snap["latents"], allow_pickle=False) as latents:
                snap["z"] = latents["z"].astype(np.float32)
            snap["onnx"] = (folder / snap["decoder"]).read_bytes()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        advice = "export with --timeline 0 to leave them out"
        raise UserError(f"{folder}: unreadable snapshots ({reason(exc)}); {advice}") from None
    if not same:
        print(f"{folder}: snapshots of other test images than these; the bundle has no timeline", file=sys.stderr)
        return None
    return snapshots or None


def timeline_builder(
    run_dir: Path, epochs_done: int, test: Split, count: int, weights: str
) -> Callable[[np.ndarray, float], tuple[dict[str, bytes], TimelineInfo]] | None:
    """What build_bundle calls with the final latents and test MSE to get the timeline's files and record; None
    when the run has no snapshots (or count is 0). epochs_done: the checkpoint's epochs (the bundle's model)."""
    index = run_dir / SNAPSHOTS / INDEX
    if count <= 0 or not index.is_file():
        return None
    try:
        steps_per_epoch = int(read_json(index)["steps_per_epoch"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        advice = "export with --timeline 0 to leave the snapshots out"
        raise UserError(f"{index}: unreadable ({reason(exc)}); {advice}") from None
    final_step = epochs_done * steps_per_epoch
    snapshots = read_snapshots(run_dir, final_step, test)
    if snapshots is None:
        return None

    def build(final_z: np.ndarray, final_mse: float) -> tuple[dict[str, bytes], TimelineInfo]:
        final = {"step": final_step, "test_mse": final_mse, "z": final_z, "decoder": DECODER}
        everyone = [*snapshots, final]
        kept = [everyone[i] for i in select([snap["step"] for snap in everyone], count)]
        return timeline_files(kept, steps_per_epoch, weights, len(everyone))

    return build


def timeline_files(
    kept: list[dict], steps_per_epoch: int, weights: str, taken: int
) -> tuple[dict[str, bytes], TimelineInfo]:
    """The timeline's files (its latents and each snapshot's decoder but the last) and its bundle.json record."""
    dim = kept[-1]["z"].shape[1]
    files, listed = {}, []
    for snap in kept:
        decoder = snap["decoder"] if snap is kept[-1] else f"{TIMELINE}/step-{snap['step']:06d}.onnx"
        if snap is not kept[-1]:
            files[decoder] = float16_weights(snap["onnx"]) if weights == "float16" else snap["onnx"]
        epoch = round(snap["step"] / steps_per_epoch, 4)
        listed.append({"step": snap["step"], "epoch": epoch, "test_mse": float(snap["test_mse"]), "decoder": decoder})
    files[TIMELINE_LATENTS] = npz_bytes(align([snap["z"] for snap in kept]))
    info = TimelineInfo(
        snapshots=listed,
        steps_per_epoch=steps_per_epoch,
        plot="latent" if dim <= 2 else "pca",
        weights=weights,
        parameters={"taken": taken, "kept": len(kept), "alignment": "orthogonal procrustes onto the last"},
    )
    return files, info


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    import io

    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()
