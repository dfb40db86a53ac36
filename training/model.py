"""The autoencoders: pure torch, no I/O. A checkpoint's `model_config` rebuilds them.

Four kinds share one interface: `encode(images) -> (mean, logvar or None)`, `decoder(z) -> images`.
  ae        the seed's dense autoencoder (784-512-128-64-D, mirrored), sigmoid output
  vae       the same layers as a variational autoencoder (Kingma & Welling, 2014, arXiv:1312.6114)
  conv-ae   two stride-2 convolutions down to 7x7, two transposed convolutions back up
  conv-vae  the convolutional one, variational
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from itertools import pairwise

import torch
from torch import nn

MODEL_KINDS = ("ae", "vae", "conv-ae", "conv-vae")
CONV_CHANNELS = (32, 64)  # 28x28 -> 14x14x32 -> 7x7x64
CONV_HIDDEN = 256


@dataclass
class ModelConfig:
    latent_dim: int = 2
    hidden: tuple[int, ...] = (512, 128, 64)  # the seed's Keras encoder; the decoder mirrors it (dense kinds)
    image_shape: tuple[int, int] = (28, 28)
    kind: str = "ae"

    @property
    def variational(self) -> bool:
        return self.kind.endswith("vae")

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        """Rebuild from a checkpoint's or bundle.json's `model_config` (JSON lists become tuples; keys a
        newer version added are ignored; keys an older one lacked take their defaults)."""
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {
            key: tuple(value) if isinstance(value, list) else value for key, value in data.items() if key in fields
        }
        return cls(**values)


def _mlp(widths: list[int]) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(pairwise(widths)):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return layers


def _conv_encoder(out: int, image_shape: tuple[int, int]) -> nn.Sequential:
    c1, c2 = CONV_CHANNELS
    h, w = image_shape[0] // 4, image_shape[1] // 4
    return nn.Sequential(
        nn.Unflatten(1, (1, image_shape[0])),  # (N, H, W) -> (N, 1, H, W)
        nn.Conv2d(1, c1, 3, stride=2, padding=1), nn.ReLU(),  # (N, c1, H/2, W/2)
        nn.Conv2d(c1, c2, 3, stride=2, padding=1), nn.ReLU(),  # (N, c2, H/4, W/4)
        nn.Flatten(), nn.Linear(c2 * h * w, CONV_HIDDEN), nn.ReLU(), nn.Linear(CONV_HIDDEN, out),
    )  # fmt: skip


def _conv_decoder(latent_dim: int, image_shape: tuple[int, int]) -> nn.Sequential:
    c1, c2 = CONV_CHANNELS
    h, w = image_shape[0] // 4, image_shape[1] // 4
    return nn.Sequential(
        nn.Linear(latent_dim, CONV_HIDDEN), nn.ReLU(), nn.Linear(CONV_HIDDEN, c2 * h * w), nn.ReLU(),
        nn.Unflatten(1, (c2, h, w)),
        nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1), nn.ReLU(),  # (N, c1, H/2, W/2)
        nn.ConvTranspose2d(c1, 1, 4, stride=2, padding=1), nn.Sigmoid(),  # (N, 1, H, W)
        nn.Flatten(1, 2),  # (N, H, W)
    )  # fmt: skip


class Autoencoder(nn.Module):
    """image (N, H, W) in [0, 1] -> z (N, D) -> image (N, H, W) in [0, 1]."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        if config.kind not in MODEL_KINDS:
            raise ValueError(f"unknown model kind {config.kind!r}; expected one of {', '.join(MODEL_KINDS)}")
        self.config = config
        out = 2 * config.latent_dim if config.variational else config.latent_dim  # a VAE's mean and log-variance
        if config.kind.startswith("conv"):
            self.encoder = _conv_encoder(out, config.image_shape)
            self.decoder = _conv_decoder(config.latent_dim, config.image_shape)
        else:
            pixels = config.image_shape[0] * config.image_shape[1]
            self.encoder = nn.Sequential(nn.Flatten(), *_mlp([pixels, *config.hidden, out]))
            decoder_widths = [config.latent_dim, *config.hidden[::-1], pixels]
            self.decoder = nn.Sequential(*_mlp(decoder_widths), nn.Sigmoid(), nn.Unflatten(1, config.image_shape))

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(mean, log-variance) of q(z|x) for a VAE, (z, None) for a plain autoencoder; each (N, D)."""
        out = self.encoder(images)
        if self.config.variational:
            mean, logvar = out.chunk(2, dim=1)
            return mean, logvar
        return out, None

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Reconstruct through the latent mean: deterministic, what the viewer and the test MSE see."""
        return self.decoder(self.encode(images)[0])


def kl_divergence(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) || N(0, I)) per sample, summed over the latent dimensions: (N,)."""
    return -0.5 * (1 + logvar - mean.pow(2) - logvar.exp()).sum(dim=1)
