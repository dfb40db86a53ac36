"""The arithmetic a run trains in: the probe's decision from given figures (no timing asserts), and bf16
runs that record what they used, repeat bit for bit, and resume in their own precision."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from tests.training.test_train import tiny_config
from training import precision
from training import train as train_module
from training.checkpoint import CONFIG, METRICS, load_checkpoint
from training.precision import Probe, best_seconds, choose, resolve

CPU = torch.device("cpu")


@pytest.mark.parametrize(
    ("fp32", "bf16", "expected"),
    [
        (242.0, 1502.0, "bf16"),  # AMX, as measured on one machine
        (100.0, 1.6, "fp32"),  # AVX2 only: bf16 emulated, 60x slower
        (100.0, 120.0, "fp32"),  # a little faster is not worth autocast's casts
        (100.0, 150.0, "bf16"),  # exactly the margin
        (0.0, 0.0, "fp32"),
        (100.0, math.nan, "fp32"),
        (math.nan, 100.0, "fp32"),
    ],
)
def test_choose_bf16_only_when_clearly_faster(fp32: float, bf16: float, expected: str):
    assert choose(fp32, bf16) == expected


def test_an_explicit_precision_or_cuda_never_probes():
    def no_probe() -> Probe:
        raise AssertionError("probed")

    assert resolve("fp32", CPU, no_probe) == ("fp32", None)
    assert resolve("bf16", CPU, no_probe) == ("bf16", None)
    assert resolve("auto", torch.device("cuda"), no_probe) == ("bf16", None)


@pytest.mark.parametrize(("figures", "expected"), [((240.0, 1500.0), "bf16"), ((150.0, 2.5), "fp32")])
def test_auto_on_a_cpu_follows_the_probe_and_returns_its_figures(figures, expected):
    used, recorded = resolve("auto", CPU, lambda: Probe(*figures, seconds=0.1))
    assert used == expected
    assert recorded == {"fp32_gflops": figures[0], "bf16_gflops": figures[1], "seconds": 0.1}


def test_best_seconds_stops_at_its_budget_and_keeps_the_fastest_call(monkeypatch):
    clock = iter([0.0, 0.5, 1.0, 1.2, 2.0, 2.1])  # calls of 0.5, 0.2, 0.1 s: the budget is spent after the second
    monkeypatch.setattr(precision.time, "perf_counter", lambda: next(clock))
    calls = []
    assert best_seconds(lambda: calls.append(1), calls=5, budget_s=0.6) == pytest.approx(0.2)
    assert len(calls) == 2


def test_the_probe_measures_both_and_restores_the_thread_count():
    threads = torch.get_num_threads()
    figures = precision.probe_cpu()
    assert figures.fp32_gflops > 0 and figures.bf16_gflops > 0 and figures.seconds > 0
    assert torch.get_num_threads() == threads


def test_bf16_trains_records_itself_and_repeats(tiny_root: Path, tmp_path: Path):
    metrics = train_module.run(tiny_config(tiny_root, tmp_path / "a", epochs=2, precision="bf16"))
    train_module.run(tiny_config(tiny_root, tmp_path / "b", epochs=2, precision="bf16"))
    assert metrics["precision"] == {"used": "bf16", "requested": "bf16", "probe": None}
    assert json.loads((tmp_path / "a" / METRICS).read_text())["precision"]["used"] == "bf16"
    assert json.loads((tmp_path / "a" / CONFIG).read_text())["precision"] == "bf16"
    history = metrics["epochs"]
    assert history[-1]["test_mse"] < history[0]["test_mse"]
    a, b = load_checkpoint(tmp_path / "a")["model"], load_checkpoint(tmp_path / "b")["model"]
    assert all(torch.equal(a[key], b[key]) for key in a)  # same seed, same precision: same weights
    train_module.run(tiny_config(tiny_root, tmp_path / "c", epochs=2, precision="fp32"))
    fp32 = load_checkpoint(tmp_path / "c")["model"]
    assert not all(torch.equal(a[key], fp32[key]) for key in a)  # the precision really changed the arithmetic


def test_auto_records_the_probe_and_a_resume_keeps_the_runs_precision(tiny_root: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(precision, "probe_cpu", lambda: Probe(240.0, 1500.0, 0.1))
    whole = train_module.run(tiny_config(tiny_root, tmp_path / "whole", precision="auto"))
    assert whole["precision"] == {
        "used": "bf16",
        "requested": "auto",
        "probe": {"fp32_gflops": 240.0, "bf16_gflops": 1500.0, "seconds": 0.1},
    }

    real_epoch = train_module.train_epoch

    def interrupt_in_second_epoch(*args, **kwargs):
        if kwargs["epoch"] == 1:
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(train_module, "train_epoch", interrupt_in_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        train_module.run(tiny_config(tiny_root, tmp_path / "split", precision="auto"))
    monkeypatch.setattr(train_module, "train_epoch", real_epoch)
    # The machine "changed": a probe now would say fp32. auto on resume keeps the run's bf16 instead.
    monkeypatch.setattr(precision, "probe_cpu", lambda: Probe(150.0, 2.5, 0.1))
    resumed = train_module.run(tiny_config(tiny_root, tmp_path / "split", precision="auto", resume=True))
    assert resumed["precision"]["used"] == "bf16"
    a, b = load_checkpoint(tmp_path / "whole")["model"], load_checkpoint(tmp_path / "split")["model"]
    assert all(torch.equal(a[key], b[key]) for key in a)


def test_the_bench_row_names_the_precision_and_the_probe():
    from benchmarks.run import arithmetic

    probed = {
        "used": "bf16",
        "requested": "auto",
        "probe": {"fp32_gflops": 151.2, "bf16_gflops": 1402.0, "seconds": 0.03},
    }
    assert arithmetic(probed) == "bf16 (auto: probe fp32 151 / bf16 1,402 GFLOP/s)"
    assert arithmetic({"used": "fp32", "requested": "fp32", "probe": None}) == "fp32 (fp32)"
    assert arithmetic(None) == "precision not recorded"
