"""Your own PyTorch encoder and decoder -> a model bundle: `from_torch`, one call from a notebook or script.

    from export.from_torch import from_torch
    from_torch(my_encoder, my_decoder, test_images, test_labels, "bundles/mine", class_names=["cat", "dog"])

Both modules go through the same ONNX export and parity check against torch as a training run's
(export/torch_to_onnx.py), then the same measuring and writing as an ONNX pair's (export/onnx_pair.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from export.onnx_pair import build_bundle
from export.torch_to_onnx import ExportError, torch_to_onnx
from latent_common.data import Split
from viewer.bundle import MAX_IMAGE_SIDE, MIN_IMAGE_SIDE, BundleMeta, check_replaceable


class LatentOf(nn.Module):
    """The encoder as the contract wants it: image -> z. A tuple's first element is taken (a VAE's mean)."""

    def __init__(self, encoder: nn.Module):
        super().__init__()
        self.encoder = encoder

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        out = self.encoder(image)
        return out[0] if isinstance(out, (tuple, list)) else out


def as_uint8_images(images: Any) -> np.ndarray:
    """The test images as uint8 (M, C, H, W): uint8 as they are, floats in [0, 1] rounded to 0-255."""
    array = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    if (
        array.ndim != 4
        or array.shape[1] not in (1, 3)
        or not all(MIN_IMAGE_SIDE <= n <= MAX_IMAGE_SIDE for n in array.shape[2:])
    ):
        raise ExportError(
            f"images: expected (M, C, H, W) with C 1 or 3 and H, W from {MIN_IMAGE_SIDE} to {MAX_IMAGE_SIDE}, "
            f"got {list(array.shape)}"
        )
    if array.dtype == np.uint8:
        return array
    if not np.isfinite(array).all() or array.min() < 0 or array.max() > 1:
        raise ExportError("images: floats must lie in [0, 1] (or pass uint8 0-255)")
    return np.rint(array * 255).astype(np.uint8)


def from_torch(
    encoder: nn.Module,
    decoder: nn.Module,
    images: Any,
    labels: Any,
    out: str | Path,
    *,
    class_names: list[str] | None = None,
    kind: str = "ae",
    name: str | None = None,
    dataset: str = "custom",
    preprocess: dict[str, Any] | None = None,
    notice: str | None = None,
    force: bool = False,
) -> BundleMeta:
    """Export a PyTorch encoder/decoder pair with its test images to a bundle the viewer opens.

    encoder: image (N, C, H, W) float32 in [0, 1] -> z (N, D); a module returning a tuple (a VAE's
        (mean, logvar)) gives its first element. decoder: z (N, D) -> image (N, C, H, W) in [0, 1].
        Both are put in eval mode and exported on the CPU.
    images: the test images, uint8 (M, C, H, W) or floats in [0, 1]; labels: (M,) class indices.
    class_names: one per class (default "0", "1", ...); kind: "ae", or "vae" for a decoder trained on
        a N(0, I) prior (the viewer's P key samples it). preprocess and notice go into bundle.json as they are.
    Returns bundle.json's record; raises ExportError (nothing written) when onnxruntime and torch disagree.
    """
    out = Path(out)
    check_replaceable(out, force)
    if kind not in ("ae", "vae"):
        raise ExportError(f"kind {kind!r}: expected 'ae' or 'vae'")
    test = as_split(images, labels, class_names, preprocess, notice)
    inputs = torch.from_numpy(test.images).float().div_(255.0)  # (M, C, H, W) in [0, 1]
    graphs = torch_to_onnx(LatentOf(encoder.cpu().eval()).eval(), decoder.cpu().eval(), inputs)
    return build_bundle(
        graphs.encoder,
        graphs.decoder,
        test,
        out,
        force=force,
        dataset=dataset,
        name=name,
        model_config={"kind": kind},
        parity_max_abs_diff=graphs.parity,
        versions={"torch": torch.__version__},
    )


def as_split(
    images: Any, labels: Any, class_names: list[str] | None, preprocess: dict[str, Any] | None, notice: str | None
) -> Split:
    """The caller's test images and labels as a Split, checked: uint8 (M, C, H, W) images, a name for each class."""
    pixels = as_uint8_images(images)
    labels = np.asarray(labels)
    if labels.shape != (len(pixels),) or labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() > 255:
        raise ExportError(
            f"labels: expected {len(pixels)} class indices from 0 to 255, got {labels.dtype} {list(labels.shape)}"
        )
    names = list(class_names or [str(i) for i in range(int(labels.max()) + 1)])
    if labels.max() >= len(names):
        raise ExportError(f"labels: class {labels.max()} has no name ({len(names)} class_names)")
    return Split(images=pixels, labels=labels.astype(np.uint8), class_names=names, preprocess=preprocess, notice=notice)
