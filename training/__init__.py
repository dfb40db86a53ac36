"""Train a small autoencoder on 28x28 digits with PyTorch (the `train` extra)."""
