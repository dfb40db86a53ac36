"""`make bench` still runs: the whole benchmark on a tiny setting (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

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
    for key in ("decode", "batched", "frames", "cold_start", "install", "torch_side"):
        assert results[key], key
    assert results["torch_side"]["numpy"]["calls"] == 300
    assert results["torch_side"]["training"]["digits"] == 4096
    table = (out / "bench.md").read_text()
    assert "| decode one latent, viewer settings" in table and "cold start" in table
    assert (out / "frame_times.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
