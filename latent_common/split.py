"""What every dataset reader takes and returns: the options that convert pictures, the split, and the error.

data.py (MNIST and IDX files) and datasets.py (folder:, npz:, emoji) both import these; data.py hands picture
datasets to datasets.py, so the shared pieces live here and the imports run one way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from latent_common.errors import UserError

MAX_DATASET_BYTES = 512 << 20  # what a dataset file may hold once read (inflated): MNIST's training images are 47 MB


class DataError(UserError):
    """A data file that is missing or unreadable; the message names the file and what to do."""


@dataclass
class Split:
    images: np.ndarray  # (N, C, H, W) uint8; MNIST: (N, 1, 28, 28), 0 = background
    labels: np.ndarray  # (N,) uint8
    class_names: list[str] = field(default_factory=list)
    # How a new picture must be converted to look like these images (latent_common.images.to_model_input's
    # arguments: size, channels, background, resize); None for the IDX datasets, which come as arrays.
    preprocess: dict[str, Any] | None = None
    notice: str | None = None  # licence or attribution text the images need wherever they are shown


@dataclass(frozen=True)
class DataOptions:
    """How pictures become training images; the IDX datasets are fixed at 1x28x28 and only accept that."""

    size: tuple[int, int] | None = None  # (H, W) after conversion; None: the pictures' own, when they share one
    channels: int = 0  # 1 (grey) or 3 (RGB); 0: RGB when any picture has colour
    test_fraction: float = 0.1  # held out per class when the data names no test split

    @classmethod
    def from_config(cls, config: Any) -> DataOptions:
        """From a TrainConfig or its config.json (an older run's has none of the keys: the defaults)."""
        values = config if isinstance(config, Mapping) else vars(config)
        size = int(values.get("image_size") or 0)
        return cls(
            size=(size, size) if size else None,
            channels=int(values.get("channels") or 0),
            test_fraction=float(values.get("test_fraction", cls.test_fraction)),
        )
