"""Training on tiny generated data: the run directory, a falling loss, interruption and exact resume."""

from __future__ import annotations

import dataclasses
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from latent_common.data import load_split
from tests.conftest import make_tiny_mnist, tiny_config
from tests.helpers import ROOT, assert_one_line_error, run_module
from training import run_dir
from training import train as train_module
from training.average import WeightAverage
from training.checkpoint import CHECKPOINT, CONFIG, METRICS, load_checkpoint, save_checkpoint
from training.config import MAX_LATENT_DIM, TrainConfig, parse_config
from training.evaluate import evaluate, to_tensor
from training.model import Autoencoder, ModelConfig
from viewer import bundle as bundle_module


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


@pytest.mark.parametrize("where", ["under a file", "in /proc"])
def test_a_run_dir_that_cannot_be_written_is_refused_before_training(tiny_root: Path, tmp_path: Path, where):
    if where == "under a file":
        (tmp_path / "notes.txt").write_text("mine")
        run = tmp_path / "notes.txt" / "run"
    else:  # a place even root can't write, on any Linux; elsewhere the case is skipped
        if not Path("/proc/self").is_dir():
            pytest.skip("no /proc here")
        run = Path("/proc/latent-explorer-run")
    result = run_module("training", "--data-root", str(tiny_root), "--run-dir", str(run), "--epochs", "1")
    assert_one_line_error(result, str(run), "cannot write there", "--run-dir")
    assert "epoch" not in result.stderr  # refused before any training, not after the first epoch
    if where == "under a file":
        assert (tmp_path / "notes.txt").read_text() == "mine" and sorted(p.name for p in tmp_path.iterdir()) == [
            "notes.txt"
        ]


def test_resume_without_a_run_is_one_line(tmp_path: Path):
    result = run_module("training", "--run-dir", str(tmp_path / "none"), "--resume")
    assert_one_line_error(result, "resume")


def train_argv(root: Path, run: Path, *extra: str) -> list[str]:
    return ["--data-root", str(root), "--run-dir", str(run),
            "--batch-size", "64", "--device", "cpu", "--hidden", "32", *extra]  # fmt: skip


def interrupt_at(monkeypatch, epoch_index: int) -> None:
    """Make train_epoch raise KeyboardInterrupt (what SIGINT/SIGTERM become) at that epoch index."""
    real_epoch = train_module.train_epoch

    def interrupted(*args, **kwargs):
        if kwargs["epoch"] == epoch_index:
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(train_module, "train_epoch", interrupted)


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()} if folder.exists() else {}


def test_a_copied_run_resumes_into_its_own_directory(tiny_root: Path, tmp_path: Path, monkeypatch):
    interrupt_at(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        train_module.run(tiny_config(tiny_root, tmp_path / "a", epochs=2))
    monkeypatch.undo()
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    before = files(tmp_path / "a")
    train_module.run(tiny_config(tiny_root, tmp_path / "b", resume=True))
    assert files(tmp_path / "a") == before  # the original is untouched
    assert load_checkpoint(tmp_path / "b")["epoch"] == 2
    assert json.loads((tmp_path / "b" / CONFIG).read_text())["run_dir"] == str(tmp_path / "b")


def test_an_interrupt_in_the_first_epoch_says_nothing_was_saved(tiny_root: Path, tmp_path: Path, monkeypatch, capsys):
    interrupt_at(monkeypatch, 0)
    assert train_module.main(train_argv(tiny_root, tmp_path / "run", "--epochs", "3")) == 130
    err = capsys.readouterr().err
    assert "nothing was saved; start again with the same command" in err
    assert "--resume" not in err and "0 of 3" not in err
    assert not (tmp_path / "run" / CHECKPOINT).exists() and not (tmp_path / "run" / CONFIG).exists()


def test_overwrite_then_interrupt_keeps_the_earlier_run_resumable(tiny_root: Path, tmp_path: Path, monkeypatch, capsys):
    run = tmp_path / "run"
    train_module.run(tiny_config(tiny_root, run, epochs=1, hidden="32"))
    before = files(run)
    interrupt_at(monkeypatch, 0)
    assert train_module.main(train_argv(tiny_root, run, "--epochs", "3", "--hidden", "64,16", "--overwrite")) == 130
    assert "still holds the earlier run, unchanged" in capsys.readouterr().err
    assert files(run) == before  # no new config beside the old checkpoint
    monkeypatch.undo()
    # Interrupted after the new run's first epoch: its config and checkpoint agree, and --resume works.
    interrupt_at(monkeypatch, 1)
    assert train_module.main(train_argv(tiny_root, run, "--epochs", "3", "--hidden", "64,16", "--overwrite")) == 130
    err = capsys.readouterr().err
    assert "1 of 3 epochs are saved" in err and "--resume" in err
    monkeypatch.undo()
    assert train_module.main(["--run-dir", str(run), "--data-root", str(tiny_root), "--resume"]) == 0
    state = load_checkpoint(run)
    assert state["epoch"] == 3 and tuple(state["model_config"]["hidden"]) == (64, 16)


def test_a_diverging_loss_stops_with_the_last_good_epoch_kept(tiny_root: Path, tmp_path: Path, monkeypatch, capsys):
    run = tmp_path / "run"
    real_forward = train_module.Objective.forward
    calls = {"n": 0}

    def diverging(self, batch, eps):
        calls["n"] += 1
        loss = real_forward(self, batch, eps)
        return loss * float("nan") if calls["n"] > 8 + 3 else loss  # 8 batches an epoch: NaN in epoch 2

    monkeypatch.setattr(train_module.Objective, "forward", diverging)
    assert train_module.main(train_argv(tiny_root, run, "--epochs", "3")) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error")]
    assert len(err) == 1 and "diverged in epoch 2" in err[0] and "1 of 3 epochs are saved" in err[0], err
    state = load_checkpoint(run)
    assert state["epoch"] == 1
    assert all(torch.isfinite(tensor).all() for tensor in state["model"].values())
    assert len(json.loads((run / METRICS).read_text())["epochs"]) == 1


@pytest.mark.parametrize(
    "flags, fragment",
    [
        (["--epochs", "0"], "--epochs 0: must be 1 to 100000"),
        (["--epochs", "abc"], "argument --epochs: invalid int value"),
        (["--lr", "-1"], "--lr -1.0: must be 1e-09 to 1"),
        (["--lr", "nan"], "--lr nan: must be"),
        (["--lr", "inf"], "--lr inf: must be"),
        (["--beta", "nan"], "--beta nan: must be 0 to 1e+06"),
        (["--beta", "-0.5"], "--beta -0.5: must be"),
        (["--latent-dim", "0"], "--latent-dim 0: must be 1 to 1024"),
        (["--latent-dim", "5000"], "--latent-dim 5000: must be 1 to 1024"),
        (["--hidden", ""], "--hidden '': expected 1 to 16 comma-separated widths"),
        (["--hidden", "64,,32"], "--hidden '64,,32'"),
        (["--hidden", "64,-3"], "--hidden '64,-3'"),
        (["--batch-size", "0"], "--batch-size 0: must be 1 to"),
        (["--batch-size", "-5"], "--batch-size -5: must be"),
        (["--train-limit", "-1"], "--train-limit -1: must be 0 to"),
        (["--seed", "-1"], "--seed -1: must be 0 to 4294967295"),
        (["--dataset", "cifar"], "--dataset cifar: expected one of"),
        (["--run-dir", ""], "--run-dir '': expected a non-empty path"),
        (["--model", "gan"], "argument --model: invalid choice"),
    ],
)
def test_a_bad_flag_is_one_line_before_any_work(tiny_root: Path, tmp_path: Path, capsys, flags, fragment):
    argv = ["--data-root", str(tiny_root), "--run-dir", str(tmp_path / "run"), *flags]
    assert train_module.main(argv) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith("error: ") and fragment in err[0], err
    assert not (tmp_path / "run").exists()


def test_a_bad_flag_on_the_real_command_line_is_one_line(tmp_path: Path):
    assert_one_line_error(
        run_module("training", "--batch-size", "0", "--run-dir", str(tmp_path / "r")), "--batch-size 0"
    )
    assert_one_line_error(run_module("training", "--epochs", "1.5"), "invalid int value")


@pytest.mark.parametrize(
    "n_train, n_test, fragment", [(64, 1, "needs at least 6"), (64, 0, "has 0 image"), (0, 64, "nothing to train on")]
)
def test_a_dataset_too_small_is_one_line_before_training(tmp_path: Path, capsys, n_train, n_test, fragment):
    root = make_tiny_mnist(tmp_path / "data", n_train=n_train, n_test=n_test)
    assert train_module.main(train_argv(root, tmp_path / "run", "--epochs", "1")) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and fragment in err[0], err
    assert not (tmp_path / "run").exists()


def test_the_latent_dim_ceiling_is_the_bundle_formats():
    assert MAX_LATENT_DIM == bundle_module.MAX_LATENT_DIM


def test_the_one_cycle_warms_up_for_the_configured_share():
    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Adam([weight], lr=1e-3)
    scheduler = train_module.make_scheduler(optimizer, TrainConfig(epochs=10, lr=1e-3, warmup=0.1), steps_per_epoch=10)
    lrs = []
    for _ in range(100):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert int(np.argmax(lrs)) in (9, 10)  # the peak after 10% of the 100 steps, not torch's default 30%


def test_a_run_from_before_the_recipe_flags_resumes_on_its_own_recipe(tmp_path: Path):
    saved = dataclasses.asdict(TrainConfig(run_dir=str(tmp_path)))
    for key in ("warmup", "adam_beta2", "ema"):
        del saved[key]
    resumed = run_dir.resume_config(TrainConfig(run_dir=str(tmp_path)), {"train_config": saved})
    assert (resumed.warmup, resumed.adam_beta2, resumed.ema) == (0.3, 0.999, 0.0)  # torch's and Adam's own, no average


def test_the_checkpointed_model_is_the_weight_average(tiny_root: Path, tmp_path: Path):
    metrics = train_module.run(tiny_config(tiny_root, tmp_path / "run", epochs=2, ema=0.9))
    state = load_checkpoint(tmp_path / "run")
    average, last = state["model"], state["train_model"]
    assert any(not torch.equal(average[key], last[key]) for key in average)  # the average is not the last step
    model = Autoencoder(ModelConfig.from_dict(state["model_config"]))
    model.load_state_dict(average)
    test = load_split("mnist", str(tiny_root), "test")
    assert evaluate(model, to_tensor(test.images, torch.device("cpu"))) == pytest.approx(metrics["test_mse"])


def test_without_an_average_the_checkpointed_model_is_the_last_step(tiny_root: Path, tmp_path: Path):
    train_module.run(tiny_config(tiny_root, tmp_path / "run", epochs=1, ema=0.0))
    state = load_checkpoint(tmp_path / "run")
    assert "train_model" not in state


def test_an_older_checkpoint_resumes_on_the_old_recipe(tiny_root: Path, tmp_path: Path):
    old_recipe = {"ema": 0.0, "adam_beta2": 0.999, "schedule": "constant"}  # constant: 1 epoch + 1 = 2 epochs
    train_module.run(tiny_config(tiny_root, tmp_path / "whole", epochs=2, **old_recipe))
    train_module.run(tiny_config(tiny_root, tmp_path / "split", epochs=1, **old_recipe))
    state = load_checkpoint(tmp_path / "split")
    for key in ("adam_beta2", "ema"):  # as saved before these flags existed
        del state["train_config"][key]
    state["train_config"]["epochs"] = 2
    save_checkpoint(tmp_path / "split", state)
    train_module.run(tiny_config(tiny_root, tmp_path / "split", resume=True))
    whole, split = load_checkpoint(tmp_path / "whole")["model"], load_checkpoint(tmp_path / "split")["model"]
    assert all(torch.equal(whole[key], split[key]) for key in whole)


def test_the_weight_average_follows_the_steps_in_place_and_weighs_the_first_ones_more():
    model = torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.zeros_(model.weight)
    average = WeightAverage(model, decay=0.5)
    with torch.no_grad():
        model.weight.fill_(10.0)  # in place, as the optimiser and load_state_dict change weights
    average.update()  # update 0: decay min(0.5, 1 / 10) = 0.1, so 90% of the way
    assert average.module.weight.item() == pytest.approx(9.0)
    average.update()  # update 1: min(0.5, 2 / 11)
    assert average.module.weight.item() == pytest.approx(9.0 + (1 - 2 / 11) * 1.0)
    average.updates = 1000  # long into a run: the decay itself
    before = average.module.weight.item()
    average.update()
    assert average.module.weight.item() == pytest.approx(before + 0.5 * (10.0 - before))
    assert not average.module.weight.requires_grad


def test_every_thread_flushes_denormals_once_the_trainer_is_imported():
    # In a fresh process, as `python -m training` starts: the flag is a per-thread CPU setting that torch's
    # worker threads copy when they are created, so it must be set before the first computation creates them.
    # Unflushed, the worker's half of this product is denormal, and 80x slower to compute.
    code = (
        "import training.train, torch; torch.set_num_threads(2); "
        "w = torch.full((256, 256), 1e-20); print(int(((w @ w) != 0).sum()))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "0"
