"""The run directory: checkpoint, config and metrics, each written atomically (temp file, then rename)."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from latent_common import files
from latent_common.atomic import atomic_write
from latent_common.errors import UserError, reason

CHECKPOINT = "checkpoint.pt"
CONFIG = "config.json"
METRICS = "metrics.json"
CURVE = "training_curve.png"


MAX_RUN_JSON_BYTES = 64 << 20  # config.json and metrics.json: a thousand epochs of metrics are ~200 kB


class RunFileError(UserError):
    """A run directory's config.json or metrics.json that isn't the JSON training wrote."""


def read_json(path: Path) -> Any:
    """config.json or metrics.json, read as every JSON file is (latent_common.files.read_json): one line for a
    file that is missing, special, too large or not JSON, naming it (not the checkpoint beside it)."""
    return files.read_json(path, MAX_RUN_JSON_BYTES, RunFileError)


def save_checkpoint(run_dir: Path, state: dict[str, Any]) -> None:
    atomic_write(run_dir / CHECKPOINT, lambda handle: torch.save(state, handle))


class CheckpointError(UserError):
    """A checkpoint that is missing, truncated, or not one of ours."""


def load_checkpoint(run_dir: Path, map_location: str = "cpu") -> dict[str, Any]:
    path = run_dir / CHECKPOINT
    try:
        # weights_only: a checkpoint is tensors and plain values, so it never needs to unpickle code.
        state = torch.load(path, map_location=map_location, weights_only=True)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile) as exc:
        raise CheckpointError(f"{path}: not a readable checkpoint ({reason(exc, 160)})") from None
    if not isinstance(state, dict) or not {"model", "model_config", "epoch"} <= state.keys():
        raise CheckpointError(f"{path}: not a latent-explorer checkpoint (missing model, model_config or epoch)")
    return state
