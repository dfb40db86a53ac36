"""`python -m benchmarks`: run every benchmark, then write bench.json, bench.md and frame_times.png.

Runs in the viewer's environment (no torch). The torch comparisons run in a second interpreter,
`--torch-python`, when one is given: the numpy floor, torch eager, and training speed.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from benchmarks.envsize import closure_mb
from benchmarks.timing import best_seconds, latencies_us, random_latents, summary_us
from viewer.bundle import DECODER, load_bundle
from viewer.cli import default_bundle
from viewer.inference import CPU, OnnxModel

ROOT = Path(__file__).resolve().parent.parent
GRIDS = {"16×16": 16, "32×32": 32, "64×64": 64, "180×180": 180}  # manifold-map sizes, and the seed's precompute grid
SEED_GRID = 180
KERAS_PREDICT_MS = 38.6  # the seed's decoder.predict per mouse move, median, measured on this machine


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import pygame

    return {
        "cpu": cpu, "cores": __import__("os").cpu_count(), "python": platform.python_version(),
        "onnxruntime": ort.__version__, "numpy": np.__version__, "pygame": pygame.version.ver,
        "date": time.strftime("%Y-%m-%d"),
    }  # fmt: skip


def decode_latency(bundle, calls: int) -> dict:
    viewer = OnnxModel(bundle.path / DECODER, "decoder", bundle.latent_dim, bundle.image_shape, [CPU])
    default = ort.InferenceSession(str(bundle.path / DECODER), providers=[CPU])
    latents = random_latents(bundle.bounds, calls)
    return {
        "viewer_settings": summary_us(latencies_us(viewer, latents)),
        "ort_default": summary_us(latencies_us(lambda z: default.run(None, {"z": z}), latents)),
    }


def batched(bundle, quick: bool) -> dict:
    viewer = OnnxModel(bundle.path / DECODER, "decoder", bundle.latent_dim, bundle.image_shape, [CPU])
    default = ort.InferenceSession(str(bundle.path / DECODER), providers=[CPU])
    result = {}
    for label, side in GRIDS.items():
        z = random_latents(bundle.bounds, side * side)
        repeats = 3 if quick or side > 64 else 20
        seconds = best_seconds(lambda z=z: viewer(z), repeats)
        seconds_default = best_seconds(lambda z=z: default.run(None, {"z": z}), repeats)
        result[label] = {
            "points": side * side,
            "ms_viewer": round(seconds * 1000, 2),
            "points_per_s_viewer": round(side * side / seconds),
            "ms_default": round(seconds_default * 1000, 2),
            "points_per_s_default": round(side * side / seconds_default),
        }
    side = 40 if quick else SEED_GRID
    z = random_latents(bundle.bounds, side * side, seed=1)
    started = time.perf_counter()
    for row in z:
        viewer(row[None])
    singles = time.perf_counter() - started
    result["precompute"] = {
        "grid": f"{side}×{side}",
        "one_batched_call_s": round(best_seconds(lambda: viewer(z), 3), 4),
        "single_calls_s": round(singles, 3),
    }
    return result


def run_viewer(bundle: Path, *flags: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        stats = Path(tmp) / "stats.json"
        subprocess.run([sys.executable, "-m", "viewer", str(bundle), "--headless", "--stats", str(stats), *flags],
                       cwd=ROOT, check=True, capture_output=True)  # fmt: skip
        return json.loads(stats.read_text())


def frames(bundle: Path, bounds: np.ndarray, quick: bool) -> dict:
    n = str(300 if quick else 3000)
    hover = run_viewer(bundle, "--frames", n, "--fps", "0", "--raw-timings")
    # Every feature on: the manifold map under the scatter, A and B pinned with their strip, neighbours.
    pins = [str(v) for v in np.asarray(bounds[:2]).mean(axis=1).repeat(2) + [-3, 3, -3, 3]]
    loaded = run_viewer(
        bundle, "--frames", n, "--fps", "0", "--raw-timings", "--map", "--pins", pins[0], pins[2], pins[1], pins[3]
    )
    precomputed = run_viewer(bundle, "--frames", n, "--fps", "0", "--precompute", "64")
    still = run_viewer(bundle, "--frames", "30" if quick else "300", "--fps", "60", "--mouse", "still")
    keys = ("frames", "frame_ms_p50", "frame_ms_p99", "frame_ms_max", "decode_us_p50", "decode_us_p99")
    return {
        "hover": {key: hover[key] for key in keys} | {"frame_ms": hover["frame_ms"]},
        "all_features": {key: loaded[key] for key in keys} | {"frame_ms": loaded["frame_ms"]},
        "precompute_64": {key: precomputed[key] for key in keys},
        "still_60fps": {key: still[key] for key in ("frames", "frames_drawn", "decodes", "cpu_ms_per_frame")},
    }


def cold_start(bundle: Path, runs: int) -> dict:
    """Process start to the first frame shown, and to exit after one frame, without torch."""
    first, total = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            stats = Path(tmp) / "stats.json"
            started = time.time()
            subprocess.run([sys.executable, "-m", "viewer", str(bundle), "--headless", "--frames", "1", "--stats", str(stats)],
                           cwd=ROOT, check=True, capture_output=True)  # fmt: skip
            total.append(time.time() - started)
            first.append(json.loads(stats.read_text())["first_frame_at"] - started)
    return {
        "runs": runs,
        "first_frame_s_median": round(float(np.median(first)), 3),
        "exit_s_median": round(float(np.median(total)), 3),
    }


def torch_side(python: str, bundle: Path, data_root: str | None, calls: int, quick: bool) -> dict | None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "torch.json"
        command = [
            python,
            "-m",
            "benchmarks.torch_side",
            "--bundle",
            str(bundle),
            "--calls",
            str(calls),
            "--json",
            str(out),
        ]
        command += (["--data-root", data_root] if data_root else []) + (["--quick"] if quick else [])
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"torch benchmarks failed:\n{done.stderr[-2000:]}", file=sys.stderr)
            return None
        return json.loads(out.read_text())


def us(entry: dict | None) -> str:
    return f"{entry['p50_us']:.0f} / {entry['p99_us']:.0f}" if entry else "n/a"


def ratio(entry: dict | None, reference: dict) -> str:
    return f"{entry['p50_us'] / reference['p50_us']:.2f}×" if entry else "n/a"


def markdown(r: dict) -> str:
    m, d, b, f, c = r["machine"], r["decode"], r["batched"], r["frames"], r["cold_start"]
    t = r.get("torch_side") or {}
    view = d["viewer_settings"]
    lines = [
        f"Measured {m['date']} on {m['cpu']}, {m['cores']} cores; Python {m['python']}, onnxruntime {m['onnxruntime']}, "
        f"numpy {m['numpy']}, pygame-ce {m['pygame']}"
        + (f", torch {t['torch']}" if t else "")
        + ". Command: `make bench`.",
        "",
        "| measure | result | target |",
        "| --- | --- | --- |",
        f"| decode one latent, viewer settings (1 thread, no spinning), p50 / p99 µs | **{us(view)}** | ≤ 60 / ≤ 250 |",
        f"| decode one latent, onnxruntime defaults, p50 / p99 µs | {us(d['ort_default'])} ({ratio(d['ort_default'], view)} of viewer) | |",
        f"| decode one latent, plain numpy (the compute floor), p50 / p99 µs | {us(t.get('numpy'))} ({ratio(t.get('numpy'), view)}) | |",
        f"| decode one latent, torch eager under `inference_mode`, p50 / p99 µs | {us(t.get('torch_eager'))} ({ratio(t.get('torch_eager'), view)}) | |",
        f"| decode one latent, the Keras seed's `decoder.predict` | {KERAS_PREDICT_MS:.1f} ms ({KERAS_PREDICT_MS * 1000 / view['p50_us']:.0f}× the viewer) | |",
    ]
    for label in GRIDS:
        g = b[label]
        lines.append(
            f"| batched decode, {label} = {g['points']:,} points: viewer settings / defaults | "
            f"{g['points_per_s_viewer']:,} / {g['points_per_s_default']:,} points/s ({g['ms_viewer']} / {g['ms_default']} ms) | > 100,000 points/s |"
        )
    p = b["precompute"]
    lines += [
        f"| precompute the {p['grid']} grid: one batched call vs one call per point | {p['one_batched_call_s']} s vs {p['single_calls_s']} s | (seed: ~22 min) |",
        f"| frame time, hover only, `--fps 0`, p50 / p99 / max ms | **{f['hover']['frame_ms_p50']} / {f['hover']['frame_ms_p99']} / {f['hover']['frame_ms_max']}** ({f['hover']['frames']} frames) | < 1.5 / < 4 |",
        f"| frame time, map + A-B strip + neighbours, p50 / p99 / max ms | **{f['all_features']['frame_ms_p50']} / {f['all_features']['frame_ms_p99']} / {f['all_features']['frame_ms_max']}** | p99 < 10 |",
        f"| frame time, `--precompute 64` (interpolated hover), p50 / p99 ms; its hover lookup p50 | {f['precompute_64']['frame_ms_p50']} / {f['precompute_64']['frame_ms_p99']}; {f['precompute_64']['decode_us_p50']:.0f} µs | |",
        f"| CPU time per frame, 60 fps cap, mouse still | {f['still_60fps']['cpu_ms_per_frame']} ms ({f['still_60fps']['frames_drawn']} of {f['still_60fps']['frames']} frames redrawn, {f['still_60fps']['decodes']} decode) | ≈ 0 |",
        f"| cold start: process start to first frame, median of {c['runs']} | **{c['first_frame_s_median']} s** (to exit: {c['exit_s_median']} s) | < 0.6 s |",
        f"| installed size, viewer dependencies | **{r['install']['total_mb']:.0f} MB** | < 230 MB |",
    ]
    if t.get("install"):
        lines.append(
            f"| installed size, with the training extra (torch, torchvision, onnx, …) | {t['install']['total_mb']:,.0f} MB | |"
        )
    train, shipped = t.get("training"), t.get("shipped_training") or {}
    if train:
        lines.append(
            f"| training, seconds per epoch ({train['digits']:,} digits, CPU) | {train['seconds_per_epoch']} s | |"
        )
    if shipped.get("seconds_to_seed_mse") is not None:
        lines.append(
            f"| shipped model: training time to the seed's test MSE 0.0377 / to its final {shipped['test_mse']:.4f} | "
            f"{shipped['seconds_to_seed_mse']} s / {shipped['seconds_to_final_mse']} s ({shipped['seconds_per_epoch_median']} s an epoch) | < 12 s to 0.0377 |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--bundle", type=Path, default=None, help="bundle to measure (default: the shipped models/mnist-ae)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "benchmarks" / "results",
        help="folder for bench.json, bench.md, frame_times.png",
    )
    parser.add_argument("--torch-python", help="interpreter of an environment with torch, for the torch comparisons")
    parser.add_argument("--data-root", help="MNIST data root, for the training benchmark")
    parser.add_argument(
        "--quick", action="store_true", help="a tiny setting: checks that everything runs, measures little"
    )
    args = parser.parse_args(argv)
    bundle_path = (args.bundle or default_bundle()).resolve()
    bundle = load_bundle(bundle_path)
    calls = 300 if args.quick else 3000
    steps = [
        ("decode latency", "decode", lambda: decode_latency(bundle, calls)),
        ("batched decode", "batched", lambda: batched(bundle, args.quick)),
        ("frame times", "frames", lambda: frames(bundle_path, bundle.bounds, args.quick)),
        ("cold start", "cold_start", lambda: cold_start(bundle_path, 3 if args.quick else 7)),
        ("install size", "install", lambda: closure_mb(["numpy", "onnxruntime", "pygame-ce"])),
    ]
    if args.torch_python:
        steps.append(("torch comparisons and training", "torch_side",
                      lambda: torch_side(args.torch_python, bundle_path, args.data_root, calls, args.quick)))  # fmt: skip
    results: dict = {"machine": machine(), "bundle": bundle.name, "quick": args.quick}
    for index, (title, key, step) in enumerate(steps, 1):
        print(f"[{index}/{len(steps)}] {title}...", file=sys.stderr, flush=True)
        results[key] = step()

    from latent_common.atomic import atomic_write, write_json
    from latent_common.charts import frame_time_histogram

    args.out.mkdir(parents=True, exist_ok=True)
    series = {
        "hover only, --fps 0": np.asarray(results["frames"]["hover"].pop("frame_ms")),
        "map + A-B strip + neighbours, --fps 0": np.asarray(results["frames"]["all_features"].pop("frame_ms")),
    }
    frame_time_histogram(
        series,
        args.out / "frame_times.png",
        f"latent-explorer frame times ({results['machine']['cpu']}, {results['machine']['cores']} cores)",
    )
    write_json(args.out / "bench.json", results)
    table = markdown(results)
    atomic_write(args.out / "bench.md", lambda handle: handle.write(table.encode()))
    print(table)
    print(f"wrote {args.out / 'bench.json'}, bench.md and frame_times.png", file=sys.stderr)
    return 0
