"""The autoencoders: pure torch, no I/O. A checkpoint's `model_config` rebuilds them.

Five kinds share one interface: `encode(images) -> (mean, logvar or None)`, `decoder(z) -> images`, with
images (N, C, H, W) in [0, 1], C = 1 or 3.
  ae        the seed's dense autoencoder (C*H*W-512-128-64-D, mirrored; 784-... for MNIST), sigmoid output
  vae       the same layers as a variational autoencoder (Kingma & Welling, 2014, arXiv:1312.6114)
  conv-ae   stride-2 convolutions until the shorter side is about 4-7 pixels (28x28: two, to 7x7;
            64x64: four, to 4x4), transposed convolutions back up
  conv-vae  the convolutional one, variational
  pca       the linear baseline: principal axes fitted in closed form (training/pca.py), no training steps

A conv model's image sides need not divide by 2^stages: the encoder pads the image with zeros at the
bottom and right up to the next multiple, and the decoder draws that padded size and crops it off.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from itertools import pairwise

import torch
from torch import nn

MODEL_KINDS = ("ae", "vae", "conv-ae", "conv-vae", "pca")
# Channels after each stride-2 stage; a model uses the first conv_stages() of them (28x28: 32, 64).
CONV_CHANNELS = (32, 64, 128, 256, 256, 256)
CONV_BOTTLENECK = 4  # stages halve the image until its shorter side is at least this and less than twice it
CONV_HIDDEN = 256


@dataclass
class ModelConfig:
    latent_dim: int = 2
    hidden: tuple[int, ...] = (512, 128, 64)  # the seed's Keras encoder; the decoder mirrors it (dense kinds)
    image_shape: tuple[int, int, int] = (1, 28, 28)  # C, H, W
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
        if len(values.get("image_shape", ())) == 2:  # a run from before channels: grey (H, W)
            values["image_shape"] = (1, *values["image_shape"])
        return cls(**values)


def _mlp(widths: list[int]) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(pairwise(widths)):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return layers


def conv_stages(image_shape: tuple[int, int, int]) -> int:
    """How many stride-2 stages: 8-15 pixels a side -> 1, 16-31 -> 2 (28: to 7x7), 32-63 -> 3, 64 -> 4 (to 4x4)."""
    side = min(image_shape[1:])
    return max(1, min(len(CONV_CHANNELS), int(math.log2(side / CONV_BOTTLENECK))))


def _padded(image_shape: tuple[int, int, int]) -> tuple[int, int]:
    """H and W rounded up to a multiple of 2^stages, so every stage halves the image exactly."""
    step = 2 ** conv_stages(image_shape)
    return -(-image_shape[1] // step) * step, -(-image_shape[2] // step) * step


class Crop(nn.Module):
    """(N, C, H', W') -> (N, C, H, W): drop the padding the encoder added at the bottom and right."""

    def __init__(self, height: int, width: int):
        super().__init__()
        self.height, self.width = height, width

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return images[:, :, : self.height, : self.width]


def _conv_encoder(out: int, image_shape: tuple[int, int, int]) -> nn.Sequential:
    stages = conv_stages(image_shape)
    widths = [image_shape[0], *CONV_CHANNELS[:stages]]
    (padded_h, padded_w), (height, width) = _padded(image_shape), image_shape[1:]
    h, w = padded_h >> stages, padded_w >> stages  # the bottleneck's size
    pad = (
        nn.ZeroPad2d((0, padded_w - width, 0, padded_h - height))
        if (padded_h, padded_w) != (height, width)
        else nn.Identity()
    )
    layers: list[nn.Module] = [pad]  # (N, C, H', W'); index 0 as before, so 28x28 weights keep their names
    for fan_in, fan_out in pairwise(widths):
        layers += [nn.Conv2d(fan_in, fan_out, 3, stride=2, padding=1), nn.ReLU()]  # halves H and W
    return nn.Sequential(
        *layers, nn.Flatten(), nn.Linear(widths[-1] * h * w, CONV_HIDDEN), nn.ReLU(), nn.Linear(CONV_HIDDEN, out)
    )


def _conv_decoder(latent_dim: int, image_shape: tuple[int, int, int]) -> nn.Sequential:
    stages = conv_stages(image_shape)
    widths = [*CONV_CHANNELS[:stages][::-1], image_shape[0]]  # e.g. 64, 32, C
    (padded_h, padded_w), (height, width) = _padded(image_shape), image_shape[1:]
    h, w = padded_h >> stages, padded_w >> stages
    layers: list[nn.Module] = [
        nn.Linear(latent_dim, CONV_HIDDEN), nn.ReLU(), nn.Linear(CONV_HIDDEN, widths[0] * h * w), nn.ReLU(),
        nn.Unflatten(1, (widths[0], h, w)),
    ]  # fmt: skip
    for i, (fan_in, fan_out) in enumerate(pairwise(widths)):
        layers += [nn.ConvTranspose2d(fan_in, fan_out, 4, stride=2, padding=1)]  # doubles H and W
        layers += [nn.ReLU() if i < stages - 1 else nn.Sigmoid()]
    crop = Crop(height, width) if (padded_h, padded_w) != (height, width) else nn.Identity()
    return nn.Sequential(*layers, crop)  # (N, C, H, W)


class PCAEncoder(nn.Module):
    """image (N, C, H, W) -> z = (x - mean) @ components (N, D); fitted by training/pca.py, never trained."""

    def __init__(self, pixels: int, latent_dim: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(pixels))  # (P,)
        self.register_buffer("components", torch.zeros(pixels, latent_dim))  # (P, D), orthonormal columns

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return (images.flatten(1) - self.mean) @ self.components


class PCADecoder(nn.Module):
    """z (N, D) -> z @ components.T + mean, clamped to [0, 1]: (N, C, H, W)."""

    def __init__(self, latent_dim: int, image_shape: tuple[int, int, int]):
        super().__init__()
        pixels = math.prod(image_shape)
        self.image_shape = tuple(image_shape)
        self.register_buffer("mean", torch.zeros(pixels))
        self.register_buffer("components", torch.zeros(pixels, latent_dim))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        flat = (z @ self.components.T + self.mean).clamp(0.0, 1.0)  # (N, P)
        return flat.unflatten(1, self.image_shape)


class Autoencoder(nn.Module):
    """image (N, C, H, W) in [0, 1] -> z (N, D) -> image (N, C, H, W) in [0, 1]."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        if config.kind not in MODEL_KINDS:
            raise ValueError(f"unknown model kind {config.kind!r}; expected one of {', '.join(MODEL_KINDS)}")
        self.config = config
        out = 2 * config.latent_dim if config.variational else config.latent_dim  # a VAE's mean and log-variance
        if config.kind.startswith("conv"):
            self.encoder = _conv_encoder(out, config.image_shape)
            self.decoder = _conv_decoder(config.latent_dim, config.image_shape)
        elif config.kind == "pca":
            self.encoder = PCAEncoder(math.prod(config.image_shape), config.latent_dim)
            self.decoder = PCADecoder(config.latent_dim, config.image_shape)
        else:
            pixels = math.prod(config.image_shape)
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
