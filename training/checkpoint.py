"""The run directory: checkpoint, config and metrics, each written atomically (temp file, then rename)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from viewer.atomic import atomic_write  # stdlib-only, shared with the viewer and export

CHECKPOINT = "checkpoint.pt"
CONFIG = "config.json"
METRICS = "metrics.json"


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def save_checkpoint(run_dir: Path, state: dict[str, Any]) -> None:
    atomic_write(run_dir / CHECKPOINT, lambda handle: torch.save(state, handle))


def load_checkpoint(run_dir: Path, map_location: str = "cpu") -> dict[str, Any]:
    # weights_only: a checkpoint is tensors and plain values, so it never needs to unpickle code.
    return torch.load(run_dir / CHECKPOINT, map_location=map_location, weights_only=True)
