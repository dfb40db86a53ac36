"""The autoencoder: pure torch, no I/O. A checkpoint's `model_config` rebuilds it."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class ModelConfig:
    latent_dim: int = 2
    hidden: tuple[int, ...] = (512, 128, 64)  # the seed's Keras encoder; the decoder mirrors it
    image_shape: tuple[int, int] = (28, 28)


def _mlp(widths: list[int]) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(widths, widths[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return layers


class Autoencoder(nn.Module):
    """Dense autoencoder: image (N, H, W) in [0, 1] -> z (N, D) -> image (N, H, W) in [0, 1]."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        pixels = config.image_shape[0] * config.image_shape[1]
        widths = [pixels, *config.hidden, config.latent_dim]
        self.encoder = nn.Sequential(nn.Flatten(), *_mlp(widths))
        self.decoder = nn.Sequential(*_mlp(widths[::-1]), nn.Sigmoid(), nn.Unflatten(1, config.image_shape))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(images))
