"""PyTorch modules -> the bundle's two ONNX graphs, each held to torch on the same inputs before anything is written.

The one torch -> ONNX -> parity path: a training run's export (export.py) and `from_torch` (from_torch.py) both
come through `torch_to_onnx`, then go on to onnx_pair.build_bundle like any other ONNX pair.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from latent_common.errors import UserError
from training.onnx_graph import OPSET as OPSET
from training.onnx_graph import to_onnx
from viewer.bundle import DECODER, ENCODER, check_model_io, view_bounds

PARITY_SAMPLES = 1000  # test images through the encoder, and as many latents through the decoder
PARITY_ATOL = 1e-5


class ExportError(UserError):
    """A model that cannot be exported, or an export that fails its checks; nothing was written."""


@dataclass
class OnnxGraphs:
    encoder: bytes  # image (N, C, H, W) in [0, 1] -> z (N, D), serialized ModelProto
    decoder: bytes  # z (N, D) -> image (N, C, H, W) in [0, 1]
    parity: dict[str, float]  # role -> onnxruntime's largest absolute difference from torch


def torch_to_onnx(encoder: nn.Module, decoder: nn.Module, images: torch.Tensor) -> OnnxGraphs:
    """Export both modules (in eval mode, on the CPU) and check onnxruntime against torch: the encoder on the first
    PARITY_SAMPLES images (N, C, H, W) in [0, 1], the decoder on as many latents drawn across their view."""
    samples = images[:PARITY_SAMPLES]
    with torch.inference_mode():
        z = encoder(samples).float()  # (S, D)
    latent_dim, shape = z.shape[1], (z.shape[1], tuple(images.shape[1:]))
    encoder_onnx = to_onnx(encoder, images[:2], "image", "z")
    decoder_onnx = to_onnx(decoder, torch.zeros(2, latent_dim), "z", "image")
    low, high = np.asarray(view_bounds(z.numpy())).T
    rng = np.random.default_rng(0)
    latents = torch.from_numpy(rng.uniform(low, high, (PARITY_SAMPLES, latent_dim)).astype(np.float32))
    parity = {
        "decoder": check_parity(DECODER, decoder_onnx, decoder, latents, "decoder", shape),
        "encoder": check_parity(ENCODER, encoder_onnx, encoder, samples, "encoder", shape),
    }
    print(
        f"onnxruntime vs torch: max abs diff {parity['decoder']:.2e} (decoder), {parity['encoder']:.2e} (encoder)",
        file=sys.stderr,
    )
    return OnnxGraphs(encoder_onnx, decoder_onnx, parity)


def check_parity(name: str, onnx_bytes: bytes, module: nn.Module, inputs: torch.Tensor, role: str, shape) -> float:
    """Run the graph in onnxruntime and in torch on the same inputs; abort past the tolerance.

    Images lie in [0, 1], so the decoder is held to PARITY_ATOL. A plain autoencoder's latents can reach
    tens of units, where float32 itself only resolves ~4e-6, and a convolution summed in another order
    differs by a few of those steps; so the encoder's tolerance is PARITY_ATOL per unit of its largest
    latent (the same 1e-5 for latents within [-1, 1]).
    """
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    check_model_io(Path(name), session, role, shape[0], shape[1])
    with torch.inference_mode():
        expected = module(inputs).numpy()
    got = session.run(None, {session.get_inputs()[0].name: inputs.numpy()})[0]
    worst = float(np.max(np.abs(got.astype(np.float64) - expected)))
    tolerance = PARITY_ATOL * (1.0 if role == "decoder" else max(1.0, float(np.abs(expected).max())))
    if got.shape != expected.shape or not worst <= tolerance:
        raise ExportError(
            f"{name}: onnxruntime differs from torch by {worst:.3g} (> {tolerance:.3g}) on {len(inputs)} inputs; "
            "no bundle written"
        )
    return worst
