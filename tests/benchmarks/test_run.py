"""`make bench` still runs: the whole benchmark on a tiny setting (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.helpers import ROOT


def test_make_bench_runs_on_a_tiny_setting(tmp_path: Path, mnist_root: Path):
    out = tmp_path / "bench"
    done = subprocess.run(
        ["make", "--no-print-directory", "bench", f"BENCH_DIR={out}", "BENCH_ARGS=--quick", f"DATA_ROOT={mnist_root}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((out / "bench.json").read_text())
    assert results["quick"] is True
    for key in ("decode", "batched", "frames", "cold_start", "install", "scale", "torch_side"):
        assert results[key], key
    scale = results["scale"]
    assert scale["points"] == 50_000 and scale["baseline"]["points"] == 10_000
    for figures in (scale, scale["baseline"]):  # the generated embedding and the shipped one, measured alike
        assert figures["first_frame_s_median"] > 0 and figures["rss_mb"] > 0, figures
        assert figures["hover"]["frames"] == 100 and figures["zoom"]["frames"] == figures["pan"]["frames"] == 20
    assert results["torch_side"]["numpy"]["calls"] == 300
    assert results["torch_side"]["training"]["digits"] == 4096
    table = (out / "bench.md").read_text()
    assert "| decode one latent, viewer settings" in table and "cold start" in table
    assert "| 50,000 points: zoom, a wheel notch every frame" in table
    timeline = results["timeline_scale"]  # the shipped mnist-ae's timeline, tiled
    assert timeline["snapshots"] == 12 and timeline["scrub"]["frames"] == timeline["baseline"]["scrub"]["frames"] == 20
    assert "| 50,000 points on a 12-snapshot timeline: the timeline bar dragged every frame" in table
    assert (out / "frame_times.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_scaled_timeline_is_the_sources_copied_and_opens_strictly(tmp_path: Path):
    from benchmarks.run import scale_bundle
    from viewer.bundle import load_bundle
    from viewer.bundle.timeline import read_timeline

    source = load_bundle(ROOT / "models" / "mnist-ae")
    bundle = load_bundle(scale_bundle(source, 3000, tmp_path / "bundle", with_timeline=True), strict=True)
    copied, original = read_timeline(bundle, strict=True), read_timeline(source, strict=True)
    assert len(copied) == len(original) and copied.info == original.info
    rng = np.random.default_rng(0)  # scale_bundle tiles with seed 0: the same draw says whose copy each point is
    picked = rng.integers(0, len(source.z), size=3000)
    for index in range(len(copied)):
        spread = original.places(index).std(axis=0).max()
        gap = np.abs(copied.places(index) - original.places(index)[picked]).max()
        assert gap < spread / 2, index  # each copy sits by its source at every snapshot, jittered
    np.testing.assert_allclose(copied.latents(len(copied) - 1), bundle.z)  # the last snapshot is the bundle itself


def test_tiled_digits_are_shifted_copies_of_the_sources():
    from benchmarks.synthetic import jittered_latents, tiled_digits

    rng = np.random.default_rng(0)
    images = np.zeros((5, 28, 28), np.uint8)
    images[:, 4:24, 4:24] = rng.integers(1, 256, size=(5, 20, 20))  # MNIST's empty border: a shift loses no ink
    digits, source = tiled_digits(images, 200_000, seed=1)
    assert digits.shape == (200_000, 28, 28) and digits.dtype == np.uint8 and source.shape == (200_000,)
    for i in (0, 65_535, 65_536, 199_999):  # both sides of a chunk boundary
        assert any(
            np.array_equal(digits[i], np.roll(images[source[i]], (dy, dx), axis=(0, 1)))
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
        ), i
    z = rng.normal(size=(5, 2)).astype(np.float32)
    jittered = jittered_latents(z, source)
    assert jittered.dtype == np.float32 and np.abs(jittered - z[source]).max() < z.std(axis=0).max()


def gpu_check(*args: str, json_file: Path | None = None) -> str:
    command = [sys.executable, "-m", "benchmarks.gpu_check", *args] + (["--json", str(json_file)] if json_file else [])
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_gpu_check_says_why_each_step_cannot_run(tmp_path: Path):
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps({
        "machine": {"nvidia_smi": {"gpus": [{"name": "H100"}], "count": 1}},
        "packages": {
            "numpy": {"importable": True}, "tqdm": {"importable": True},
            "torch": {"importable": True, "version": "2.x", "cuda_available": True},
            "onnxruntime": {"importable": True, "version": "1.x", "available_providers": ["CPUExecutionProvider"]},
            "pygame": {"importable": False, "error": "No module named 'pygame'"},
        },
    }))  # fmt: skip
    assert gpu_check("missing", json_file=facts) == "pygame-ce onnxruntime-gpu"
    assert "onnxruntime-gpu is needed" in gpu_check("why-not", "viewer-cuda", json_file=facts)
    assert "pygame-ce missing" in gpu_check("why-not", "train-cuda", json_file=facts)
    assert gpu_check("why-not", "torchrun", json_file=facts).startswith("1 GPU")


def test_gpu_check_records_a_training_run(tmp_path: Path):
    data, run, results = tmp_path / "data", tmp_path / "run", tmp_path / "results.json"
    gpu_check("make-data", str(data), "--train", "600", "--test", "100")
    from latent_common.data import load_split

    assert load_split("mnist", data, "train").images.shape == (600, 1, 28, 28)
    run.mkdir()
    epochs = [{"epoch": n, "test_mse": 0.05, "seconds": s} for n, s in ((1, 9.0), (2, 2.0), (3, 4.0))]
    (run / "metrics.json").write_text(json.dumps({"epochs": epochs, "test_mse": 0.05, "device": "cuda:0"}))
    (tmp_path / "probe.json").write_text(json.dumps({"training_forward_dtypes": {"bfloat16": 300}}))
    gpu_check("record", "training.cuda", "--rc", "0", "--seconds", "20", "--run", str(run),
              "--probe", str(tmp_path / "probe.json"), json_file=results)  # fmt: skip
    entry = json.loads(results.read_text())["training"]["cuda"]
    assert entry["status"] == "ok" and entry["autocast_bf16"] is True
    assert entry["steady_seconds_per_epoch"] == 3.0 and entry["metrics"]["device"] == "cuda:0"
