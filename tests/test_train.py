"""Training on tiny generated data: the run directory, a falling loss, interruption and exact resume."""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.helpers import ROOT, assert_one_line_error, run_module
from training import train as train_module
from training.checkpoint import CHECKPOINT, CONFIG, METRICS, load_checkpoint
from training.config import TrainConfig, parse_config


def tiny_config(root: Path, run_dir: Path, **changes) -> TrainConfig:
    base = TrainConfig(data_root=str(root), run_dir=str(run_dir), epochs=3, batch_size=64, device="cpu", hidden="64,32")
    return dataclasses.replace(base, **changes)


def test_flags_are_generated_from_the_dataclass():
    config = parse_config(["--epochs", "7", "--lr", "0.01", "--resume", "--device", "cpu", "--hidden", "8,4"])
    assert config.epochs == 7 and config.lr == 0.01 and config.resume and config.hidden_sizes == (8, 4)
    help_text = run_module("training", "--help").stdout
    for field in dataclasses.fields(TrainConfig):
        assert "--" + field.name.replace("_", "-") in help_text


def test_run_directory_and_falling_loss(tiny_root: Path, tmp_path: Path):
    metrics = train_module.run(tiny_config(tiny_root, tmp_path / "run", epochs=4))
    run = tmp_path / "run"
    assert {CHECKPOINT, CONFIG, METRICS} <= {p.name for p in run.iterdir()}
    assert not [p for p in run.iterdir() if p.name.endswith(".tmp")]
    state = load_checkpoint(run)  # weights_only=True inside
    assert state["epoch"] == 4 and state["model_config"]["latent_dim"] == 2
    history = json.loads((run / METRICS).read_text())["epochs"]
    assert [row["epoch"] for row in history] == [1, 2, 3, 4]
    assert history[-1]["test_mse"] < history[0]["test_mse"]
    assert metrics["test_mse"] == history[-1]["test_mse"]
    assert json.loads((run / CONFIG).read_text())["epochs"] == 4


def test_same_seed_same_weights(tiny_root: Path, tmp_path: Path):
    train_module.run(tiny_config(tiny_root, tmp_path / "a", epochs=1))
    train_module.run(tiny_config(tiny_root, tmp_path / "b", epochs=1))
    a, b = load_checkpoint(tmp_path / "a")["model"], load_checkpoint(tmp_path / "b")["model"]
    assert all(torch.equal(a[key], b[key]) for key in a)


def test_interrupted_then_resumed_equals_uninterrupted(tiny_root: Path, tmp_path: Path, monkeypatch):
    train_module.run(tiny_config(tiny_root, tmp_path / "whole"))

    real_epoch = train_module.train_epoch

    def interrupt_in_second_epoch(*args, **kwargs):
        if kwargs["epoch"] == 1:  # the epoch index
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(train_module, "train_epoch", interrupt_in_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        train_module.run(tiny_config(tiny_root, tmp_path / "split"))
    assert load_checkpoint(tmp_path / "split")["epoch"] == 1  # the last complete epoch survives
    monkeypatch.setattr(train_module, "train_epoch", real_epoch)
    train_module.run(tiny_config(tiny_root, tmp_path / "split", epochs=99, lr=1.0, resume=True))  # saved config wins

    whole, split = load_checkpoint(tmp_path / "whole"), load_checkpoint(tmp_path / "split")
    assert split["epoch"] == 3
    for key in whole["model"]:
        assert torch.equal(whole["model"][key], split["model"][key]), key


def test_sigterm_saves_and_says_how_to_resume(tiny_root: Path, tmp_path: Path):
    run = tmp_path / "run"
    args = [
        "--data-root",
        str(tiny_root),
        "--run-dir",
        str(run),
        "--epochs",
        "500",
        "--batch-size",
        "16",
        "--device",
        "cpu",
    ]
    process = subprocess.Popen(
        [sys.executable, "-m", "training", *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (run / CHECKPOINT).exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()  # never leave a 500-epoch run behind if the signal went unanswered
    assert process.returncode == 130, stderr
    assert "--resume" in stderr and "Traceback" not in stderr
    assert load_checkpoint(run)["epoch"] >= 1


def test_existing_run_is_refused_in_one_line(tiny_root: Path, tmp_path: Path):
    train_module.run(tiny_config(tiny_root, tmp_path / "run", epochs=1))
    before = (tmp_path / "run" / CHECKPOINT).read_bytes()
    result = run_module("training", "--data-root", str(tiny_root), "--run-dir", str(tmp_path / "run"), "--epochs", "1")
    assert_one_line_error(result, "--resume")
    assert (tmp_path / "run" / CHECKPOINT).read_bytes() == before


def test_resume_without_a_run_is_one_line(tmp_path: Path):
    result = run_module("training", "--run-dir", str(tmp_path / "none"), "--resume")
    assert_one_line_error(result, "resume")
