"""The autoencoder itself: shapes, ranges, and seeded reproducibility."""

from __future__ import annotations

import torch

from training.model import Autoencoder, ModelConfig


def test_shapes_and_range():
    model = Autoencoder(ModelConfig(latent_dim=3))
    images = torch.rand(5, 1, 28, 28)
    z = model.encoder(images)
    assert z.shape == (5, 3)
    out = model.decoder(z)
    assert out.shape == (5, 1, 28, 28)
    assert out.min() >= 0 and out.max() <= 1


def test_seed_architecture_layer_widths():
    model = Autoencoder(ModelConfig())
    widths = [layer.out_features for layer in model.encoder if isinstance(layer, torch.nn.Linear)]
    assert widths == [512, 128, 64, 2]
    widths = [layer.out_features for layer in model.decoder if isinstance(layer, torch.nn.Linear)]
    assert widths == [64, 128, 512, 784]


def test_same_seed_same_weights():
    torch.manual_seed(3)
    a = Autoencoder(ModelConfig())
    torch.manual_seed(3)
    b = Autoencoder(ModelConfig())
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(p, q), name
