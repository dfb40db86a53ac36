"""Snapshots of the latent space while it forms: the untrained model, then steps spread so the fast early
part is well covered (1, 2, 4, 8, ... steps, and the end of every epoch).

Each snapshot is what a torch-free reader needs to show that moment, written into RUN_DIR/snapshots/:

    step-000128.onnx   the decoder then (the weight average, as every epoch's test MSE measures), the
                       bundle's decoder contract: z float32 [N, D] -> image float32 [N, C, H, W] in [0, 1]
    step-000128.npz    z float32 [M, D]: the test images' latents then (a VAE's posterior means)
    test.npz           once: the test images uint8 [M, C, H, W] and labels uint8 [M], in the same order
    encoder.onnx       the latest snapshot's encoder (image -> z), replaced at each
    index.json         written last, atomically, after each snapshot's files: what there is, with each
                       snapshot's step, epoch (fractional: step / steps per epoch) and test MSE

So a reader that lists index.json never sees half a snapshot (`python -m viewer --follow RUN_DIR`), and export
carries them into the bundle's timeline. Only the main process writes (rank 0 under torchrun); a resumed run
drops the snapshots past its checkpoint and takes them again (same seed: the same weights).

Cost: a snapshot runs the test split through the model once (at an epoch's end, the pass that measures the
epoch's test MSE) and writes ~2 MB (the dense MNIST decoder); the first
exports the decoder graph once (0.1 s), later ones copy the weights into it. Measured in docs/training.md.
"""

from __future__ import annotations

import io
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from latent_common.atomic import atomic_write, write_json
from latent_common.snapshots import ENCODER, INDEX, INDEX_VERSION, SNAPSHOTS, TEST, decoder_name, latents_name
from training.checkpoint import read_json
from training.evaluate import measure
from training.onnx_graph import DecoderOnly, EncoderOnly, GraphTemplate


def schedule(steps_per_epoch: int, epochs: int) -> list[int]:
    """The optimiser steps after which a snapshot is taken: 0 (untrained), powers of two, each epoch's end."""
    total = steps_per_epoch * epochs
    powers = {1 << k for k in range(total.bit_length()) if 1 << k <= total}
    return sorted({0} | powers | {steps_per_epoch * epoch for epoch in range(1, epochs + 1)})


def npz_bytes(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


@dataclass
class SnapshotWriter:
    """Takes the snapshots of one run: `due(step)` says whether one is due, `take(...)` writes it."""

    folder: Path
    steps: list[int]
    steps_per_epoch: int
    index: dict
    templates: dict[str, GraphTemplate] | None = None  # the decoder's and the encoder's, made at the first snapshot
    seconds: float = 0.0  # time spent taking snapshots, for the cost line

    def __post_init__(self):
        done = {s["step"] for s in self.index["snapshots"]}
        self.pending = set(self.steps) - done

    @classmethod
    def start(
        cls, run_path: Path, steps_per_epoch: int, epochs: int, resumed: tuple[int, str | None] | None, about: dict
    ) -> SnapshotWriter:
        """The writer for a fresh run (resumed None), or for one that continues after resumed = (step, the
        checkpoint's snapshots id); about: what index.json says of the run besides its snapshots.

        Every run has an id, in index.json and in each checkpoint: a resumed run keeps the snapshots up to its
        checkpoint only when the ids agree (an --overwrite that was stopped before its first epoch ended leaves
        the earlier checkpoint beside the new run's snapshots: those are not the earlier run's).
        """
        folder = run_path / SNAPSHOTS
        resumed_step, run_id = resumed if resumed is not None else (0, None)
        kept = None
        if resumed is not None and run_id is not None and (folder / INDEX).is_file():
            try:
                index = read_json(folder / INDEX)
                if index["run_id"] == run_id:
                    kept = [snap for snap in index["snapshots"] if snap["step"] <= resumed_step]
            except (OSError, ValueError, KeyError, TypeError):
                kept = None  # an unreadable index: start the list afresh, the files are rewritten as they come
        if kept is None:
            run_id = uuid.uuid4().hex
            stale_files = [folder / INDEX, folder / TEST, folder / ENCODER]
            for stale in [*folder.glob("step-*.onnx"), *folder.glob("step-*.npz"), *stale_files]:
                stale.unlink(missing_ok=True)  # an earlier run's (--overwrite), or the unmatched ones
        index = {"version": INDEX_VERSION, "run_id": run_id, **about}
        index |= {"steps_per_epoch": steps_per_epoch, "epochs": epochs, "snapshots": kept or []}
        steps = [step for step in schedule(steps_per_epoch, epochs) if step > resumed_step or resumed is None]
        writer = cls(folder, steps, steps_per_epoch, index)
        if kept is not None:
            write_json(folder / INDEX, index)  # the dropped snapshots leave the list now, not at the next one
        return writer

    def due(self, step: int) -> bool:
        return step in self.pending

    def write_test(self, images: np.ndarray, labels: np.ndarray) -> None:
        """test.npz, once per run: the images and labels the snapshots' latents belong to, in their order."""
        if not (self.folder / TEST).is_file():  # a resumed run keeps its own; start() removed any other
            data = npz_bytes(images=images.astype(np.uint8), labels=labels.astype(np.uint8))
            atomic_write(self.folder / TEST, lambda handle: handle.write(data))

    def graphs(self, model: nn.Module, test: torch.Tensor, latent_dim: int) -> tuple[bytes, bytes]:
        """The model's decoder and encoder as ONNX, through templates exported at the first snapshot."""
        decoder, encoder = DecoderOnly(model.decoder), EncoderOnly(model.encoder, latent_dim)
        if self.templates is None:
            example = torch.zeros(2, latent_dim, device=test.device)
            self.templates = {
                "decoder": GraphTemplate(decoder, example, "decoder"),
                "encoder": GraphTemplate(encoder, test[:2], "encoder"),
            }
        return self.templates["decoder"].onnx_bytes(decoder), self.templates["encoder"].onnx_bytes(encoder)

    def take(
        self, model: nn.Module, test: torch.Tensor, step: int, measured: tuple[np.ndarray, float] | None = None
    ) -> None:
        """Write the snapshot of model (the evaluated one) after `step` optimiser steps; test: (M, C, H, W) in [0, 1];
        measured: evaluate.measure's latents and test MSE when the caller has them (an epoch's end).

        The model's train/eval mode is restored afterwards: a mid-epoch snapshot must not change training.
        """
        started = time.perf_counter()
        was_training = model.training
        try:
            z, test_mse = measured if measured is not None else measure(model, test)  # (M, D) float32, MSE
            decoder, encoder = self.graphs(model, test, z.shape[1])
        finally:
            model.train(was_training)
        atomic_write(self.folder / decoder_name(step), lambda handle: handle.write(decoder))
        atomic_write(self.folder / ENCODER, lambda handle: handle.write(encoder))  # only the latest is kept
        latents = npz_bytes(z=z.astype(np.float32))
        atomic_write(self.folder / latents_name(step), lambda handle: handle.write(latents))
        entry = {
            "step": step,
            "epoch": round(step / self.steps_per_epoch, 4),
            "test_mse": float(test_mse),
            "decoder": decoder_name(step),
            "latents": latents_name(step),
        }
        self.index["snapshots"] = sorted([*self.index["snapshots"], entry], key=lambda s: s["step"])
        write_json(self.folder / INDEX, self.index)  # last: the files it names are whole by now
        self.pending.discard(step)
        self.seconds += time.perf_counter() - started
