"""MNIST and Fashion-MNIST fetched by torchvision: the one part of reading data that needs the train extra."""

from __future__ import annotations

from pathlib import Path


def torchvision_fetch(root: Path, folder: str) -> None:
    """Let torchvision download a dataset into root; any failure is left to the caller, which names the files."""
    try:
        from torchvision import datasets

        dataset = {"MNIST": datasets.MNIST, "FashionMNIST": datasets.FashionMNIST}[folder]
        dataset(str(root), train=True, download=True)
        dataset(str(root), train=False, download=True)
    except Exception:  # no network, proxy, disk: the caller's message says what to do instead
        pass
