"""Measure a trained autoencoder: test MSE and latents. Pure torch; shared by training and export."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from training.model import Autoencoder


def to_tensor(images: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(images).to(device=device, dtype=torch.float32).div_(255.0)  # (N, C, H, W) in [0, 1]


@torch.inference_mode()
def reconstruction_errors(model: nn.Module, images: torch.Tensor, batch_size: int = 2000) -> np.ndarray:
    """Each image's mean per-pixel squared error, pixels in [0, 1]: (N,) float64 (the anomaly view's scale)."""
    model.eval()
    errors = []
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size]
        squared = (model(batch) - batch) ** 2
        errors.append(squared.flatten(1).mean(dim=1, dtype=torch.float64).cpu().numpy())
    return np.concatenate(errors)


def evaluate(model: nn.Module, images: torch.Tensor, batch_size: int = 2000) -> float:
    """Test MSE: the mean over all images of the per-pixel squared error (every image has as many pixels)."""
    return float(reconstruction_errors(model, images, batch_size).mean())


@torch.inference_mode()
def embed(model: Autoencoder, images: torch.Tensor, batch_size: int = 2000) -> np.ndarray:
    """Latents of the images, a VAE's posterior means: (N, D) float32 on the CPU."""
    model.eval()
    return torch.cat([model.encode(batch)[0] for batch in images.split(batch_size)]).float().cpu().numpy()


@torch.inference_mode()
def measure(model: Autoencoder, images: torch.Tensor, batch_size: int = 2000) -> tuple[np.ndarray, float]:
    """The latents (N, D) float32 and the test MSE in one pass: embed's and evaluate's answers, for the price of
    evaluate alone (the encoder runs once)."""
    model.eval()
    latents, errors = [], []
    for batch in images.split(batch_size):
        z = model.encode(batch)[0]
        squared = (model.decoder(z) - batch) ** 2
        latents.append(z.float().cpu())
        errors.append(squared.flatten(1).mean(dim=1, dtype=torch.float64).cpu().numpy())
    return torch.cat(latents).numpy(), float(np.concatenate(errors).mean())
