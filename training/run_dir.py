"""The run directory as a run sees it: whether it may train there, what a resumed run takes from it, what it holds
in words, and metrics.json's summary. checkpoint.py reads and writes the files themselves.

Shared by train.py and pca.py (a closed-form fit writes the same run directory), so neither imports the other.
"""

from __future__ import annotations

import dataclasses
import shlex

import torch

from latent_common.atomic import WriteError, check_writable
from latent_common.errors import UserError
from training.checkpoint import CHECKPOINT, CONFIG, load_checkpoint, read_json
from training.config import TrainConfig, validate


class TrainError(UserError):
    """A problem with the run directory or flags that the user can fix."""


# What a run saved before these flags existed trained with: torch's OneCycleLR pct_start, Adam's own beta2,
# and no weight average. A resumed older run keeps them, so it ends as it would have uninterrupted.
LEGACY_RECIPE = {"warmup": 0.3, "adam_beta2": 0.999, "ema": 0.0}


def open_run_dir(config: TrainConfig, device: torch.device) -> tuple[TrainConfig, dict | None, bool]:
    """Check that the run may start in config.run_path, before any data is read: returns the config to train
    with (a resumed run's own), the checkpoint to resume from (else None), and whether an earlier run is there."""
    if config.run_path.exists() and not config.run_path.is_dir():
        raise TrainError(f"{config.run_path}: is a file, not a run directory; pick another --run-dir")
    earlier_run = (config.run_path / CHECKPOINT).exists()
    state = None
    if config.resume:
        if not earlier_run:
            raise TrainError(f"{config.run_path}: no {CHECKPOINT} to resume from (no epoch of a run there finished)")
        state = load_checkpoint(config.run_path, map_location=str(device))
        if (config.run_path / CONFIG).exists():
            read_json(config.run_path / CONFIG)  # export reads it: one that isn't JSON is refused now, named
        config = resume_config(config, state)
    elif earlier_run and not config.overwrite:
        raise TrainError(
            f"{config.run_path}: already holds a run; pass --resume to continue it, "
            "--overwrite to replace it, or pick another --run-dir"
        )
    return config, state, earlier_run


def check_run_dir_writable(config: TrainConfig) -> None:
    """Before any data is read: a read-only --run-dir would otherwise fail only after the first epoch."""
    try:
        check_writable(config.run_path)
    except WriteError as exc:
        raise TrainError(f"{exc}; pick another --run-dir") from None


def resume_config(config: TrainConfig, state: dict) -> TrainConfig:
    """A resumed run keeps the config saved with its checkpoint (the schedule depends on it); the run
    directory, data root and device are the ones on this command line (a copied run writes where it is now),
    and so is the precision when it names one (auto keeps the run's own: resumed equals uninterrupted)."""
    saved = state.get("train_config")
    if not isinstance(saved, dict):  # a checkpoint from before the config travelled inside it
        path = config.run_path / CONFIG
        if not path.is_file():
            raise TrainError(f"{config.run_path}: no {CONFIG} beside {CHECKPOINT} to resume from")
        saved = read_json(path)
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    saved = LEGACY_RECIPE | saved
    try:
        restored = TrainConfig(**{key: value for key, value in saved.items() if key in known})
    except TypeError as exc:
        raise TrainError(f"{config.run_path}: its saved training config is incomplete ({exc})") from None
    resumed = dataclasses.replace(
        restored,
        run_dir=config.run_dir,
        data_root=config.data_root,
        device=config.device,
        precision=restored.precision if config.precision == "auto" else config.precision,
        resume=True,
        overwrite=False,
    )
    return validate(resumed)


def saved_config(config: TrainConfig) -> dict:
    """config.json, and the config inside the checkpoint: what export and --resume read back."""
    return dataclasses.asdict(config) | {"resume": False, "overwrite": False}


def resume_command(config: TrainConfig) -> str:
    return (
        f"python -m training --run-dir {shlex.quote(config.run_dir)} "
        f"--data-root {shlex.quote(config.data_root)} --resume"
    )


def on_disk(config: TrainConfig, saved: int, earlier_run: bool) -> str:
    """What the run directory holds now, in words, and what to do next."""
    checkpoint = config.run_path / CHECKPOINT
    if saved:
        return f"{saved} of {config.epochs} epochs are saved in {checkpoint}"
    if earlier_run:
        return (
            "no epoch of this run finished, so nothing of it was saved; "
            f"{config.run_path} still holds the earlier run, unchanged"
        )
    return "no epoch finished, so nothing was saved; start again with the same command"


def summarise(history: list[dict], device: torch.device, arithmetic: dict) -> dict:
    """metrics.json: every epoch's figures, the last test MSE, the time trained, and where and how it ran."""
    return {
        "epochs": history,
        "test_mse": history[-1]["test_mse"] if history else None,
        "train_seconds": round(sum(row["seconds"] for row in history), 3),
        "device": str(device),
        "precision": arithmetic,
        "torch": torch.__version__,
    }
