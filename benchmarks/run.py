"""`python -m benchmarks`: run every benchmark, then write bench.json, bench.md and frame_times.png.

Runs in the viewer's environment (no torch). The torch comparisons run in a second interpreter,
`--torch-python`, when one is given: the numpy floor, torch eager, and training speed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from benchmarks.envsize import closure_mb
from benchmarks.synthetic import jittered_latents, tiled_digits
from benchmarks.timing import best_seconds, latencies_us, random_latents, summary_us
from viewer.bundle import (
    DECODER,
    EMBEDDING,
    ENCODER,
    MAP,
    TIMELINE,
    TIMELINE_LATENTS,
    Bundle,
    load_bundle,
    view_bounds,
    write_bundle,
)
from viewer.bundle.timeline import Timeline, read_timeline
from viewer.cli import default_bundle
from viewer.inference import CPU, OnnxModel

ROOT = Path(__file__).resolve().parent.parent
GRIDS = {"16×16": 16, "32×32": 32, "64×64": 64, "180×180": 180}  # manifold-map sizes, and the seed's precompute grid
SEED_GRID = 180
KERAS_PREDICT_MS = 38.6  # the seed's decoder.predict per mouse move, median, measured on this machine
SCALE_POINTS = 1_000_000  # issue 14: embeddings users bring outgrow the demo's 10,000 points
QUICK_SCALE_POINTS = 50_000


# The vector extensions that decide how fast numpy, onnxruntime and torch run here (bf16 is emulated without them).
VECTOR_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")


def cpu_info() -> tuple[str, list[str]]:
    """The CPU's model name and which of VECTOR_FLAGS it has, from /proc/cpuinfo (elsewhere the platform's name)."""
    cpu, flags = platform.processor() or platform.machine(), set()
    try:
        lines = open("/proc/cpuinfo").read().splitlines()
    except OSError:
        return cpu, []
    for line in lines:
        name, _, value = line.partition(":")
        if name.strip() == "model name":
            cpu = value.strip()
        elif name.strip() == "flags":
            flags = set(value.split())
    return cpu, [flag for flag in VECTOR_FLAGS if flag in flags]


def machine() -> dict:
    cpu, vectors = cpu_info()
    import pygame

    cpu = f"{cpu} ({', '.join(vectors) or 'no AVX2'})"  # every table names the machine kind it was measured on
    return {
        "cpu": cpu, "vectors": vectors, "cores": os.cpu_count(), "python": platform.python_version(),
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


class ViewerFailed(Exception):
    """The viewer exited with an error; the message is its last line (for a refused bundle, the reason)."""


def run_viewer(bundle: Path, *flags: str, gesture: str | None = None) -> dict:
    """The viewer headless in a fresh process: its --stats, plus seconds from process start to its first
    frame and to its exit. With a gesture, benchmarks.gestures runs it, zooming or panning every frame."""
    program = ["-m", "benchmarks.gestures", gesture] if gesture else ["-m", "viewer"]
    with tempfile.TemporaryDirectory() as tmp:
        stats = Path(tmp) / "stats.json"
        started = time.time()
        done = subprocess.run([sys.executable, *program, str(bundle), "--headless", "--stats", str(stats), *flags],
                              cwd=ROOT, capture_output=True, text=True)  # fmt: skip
        exited = time.time()
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
            raise ViewerFailed(lines[-1])
        result = json.loads(stats.read_text())
    return result | {"first_frame_s": result["first_frame_at"] - started, "exit_s": exited - started}


def frames(bundle: Path, bounds: np.ndarray, quick: bool) -> dict:
    n = str(300 if quick else 3000)
    hover = run_viewer(bundle, "--frames", n, "--fps", "0", "--raw-timings")
    # Every feature on: the manifold map under the scatter, A and B pinned with their strip, neighbours, and the
    # traversal grid over the plot (redecoded whenever the point moves).
    pins = [str(v) for v in np.asarray(bounds[:2]).mean(axis=1).repeat(2) + [-3, 3, -3, 3]]
    loaded = run_viewer(
        bundle, "--frames", n, "--fps", "0", "--raw-timings", "--map", "--traversal",
        "--pins", pins[0], pins[2], pins[1], pins[3],
    )  # fmt: skip
    anomaly = run_viewer(bundle, "--frames", n, "--fps", "0", "--color-by", "error")
    precomputed = run_viewer(bundle, "--frames", n, "--fps", "0", "--precompute", "64")
    still = run_viewer(bundle, "--frames", "30" if quick else "300", "--fps", "60", "--mouse", "still")
    keys = ("frames", "frame_ms_p50", "frame_ms_p99", "frame_ms_max", "decode_us_p50", "decode_us_p99")
    return {
        "hover": {key: hover[key] for key in keys} | {"frame_ms": hover["frame_ms"]},
        "all_features": {key: loaded[key] for key in keys} | {"frame_ms": loaded["frame_ms"]},
        "anomaly_view": {key: anomaly[key] for key in keys},
        "precompute_64": {key: precomputed[key] for key in keys},
        "still_60fps": {key: still[key] for key in ("frames", "frames_drawn", "decodes", "cpu_ms_per_frame")},
    }


def cold_start(bundle: Path, runs: int) -> dict:
    """Process start to the first frame shown, and to exit after one frame, without torch."""
    starts = [run_viewer(bundle, "--frames", "1") for _ in range(runs)]
    return {
        "runs": runs,
        "first_frame_s_median": round(float(np.median([run["first_frame_s"] for run in starts])), 3),
        "exit_s_median": round(float(np.median([run["exit_s"] for run in starts])), 3),
    }


def scale_bundle(source: Bundle, count: int, out: Path, with_map: bool = False, with_timeline: bool = False) -> Path:
    """A bundle of `count` points at `out`, made from `source`: its decoder and encoder, digits tiled
    from its test digits, latents jittered around theirs. The images are built once (count × 784 bytes) and
    streamed to disk, then dropped before the viewer runs. with_map: the source's map too, each copy's map
    point jittered around its source's dot (as a map fitted on a sample places the rest). with_timeline: the
    source's timeline (a 2-D latent's), each copy's latent at each snapshot jittered around its source's."""
    images, picked = tiled_digits(source.images, count)  # as stored: the copy keeps its source's format
    z = jittered_latents(source.z, picked)
    embedding = out.parent / f"source-{EMBEDDING}"
    # np.savez, not savez_compressed: images stored uncompressed are memory-mapped by the viewer, not read in.
    np.savez(embedding, z=z, labels=source.labels[picked], images=images)
    del images
    # format_version and image_shape stay the source's: its graphs are format 1's (N, H, W) or later (N, C, H, W).
    # Only the files written here: the source's timeline and map are of its own test images, not these.
    name = f"{source.name}-{count}-points"
    meta = dataclasses.replace(source.meta, name=name, latent_bounds=view_bounds(z), timeline=None, map=None)
    files = {DECODER: source.path / DECODER, ENCODER: source.path / ENCODER, EMBEDDING: embedding}
    if with_timeline:
        timeline = read_timeline(source, strict=True)
        files |= scaled_timeline(timeline, z, picked, out.parent / f"source-{TIMELINE}.npz")
        meta = dataclasses.replace(meta, timeline=source.meta.timeline)
    write_bundle(out, files, meta)
    for file in {file for name, file in files.items() if name in (EMBEDDING, TIMELINE_LATENTS)}:
        file.unlink()
    if with_map:
        add_scaled_map(source, load_bundle(out), picked)
    return out


def scaled_timeline(timeline: Timeline, z: np.ndarray, picked: np.ndarray, file: Path) -> dict[str, Path]:
    """The timeline's files for the tiled copies: their latents at each snapshot (the last is `z`, the bundle's),
    aligned as the source's were, written uncompressed to `file`; each earlier snapshot's decoder is the source's."""
    if timeline.info.plot != "latent":
        raise ValueError("a scaled timeline is made from a 2-D latent's (its plot is the latent itself)")
    last = len(timeline) - 1
    snaps = [jittered_latents(timeline.latents(index), picked) for index in range(last)] + [z]
    aligned = [
        (own - timeline.own_mean[index]) @ timeline.rotation[index] + timeline.plot_mean[index]
        for index, own in enumerate(snaps)
    ]
    arrays = {"z": np.stack(snaps), "xy": np.stack(aligned)}
    arrays |= {key: getattr(timeline, key) for key in ("rotation", "own_mean", "plot_mean")}
    np.savez(file, **{key: value.astype(np.float32) for key, value in arrays.items()})
    decoders = {snap["decoder"]: path for snap, path in zip(timeline.info.snapshots, timeline.decoders)}
    return {TIMELINE_LATENTS: file} | decoders


def add_scaled_map(source: Bundle, bundle: Bundle, picked: np.ndarray) -> None:
    """The source's map for the tiled copies: each at its source's dot, jittered by a fifth of a dot spacing."""
    from export.map import store_map  # numpy and json only: the map's libraries are imported by computing one
    from viewer.mapping import MapProjection, read_map

    xy, info = read_map(source, strict=True)
    spacing = MapProjection(source.z, xy).spacing
    rng = np.random.default_rng(2)
    placed = xy[picked] + rng.standard_normal((len(picked), 2)) * (spacing / 5)
    files = bundle.meta.files
    info = dataclasses.replace(info, points=len(picked), fitted=len(source.z), embedding_sha256=files[EMBEDDING])
    store_map(bundle, placed, info)


def map_scale(points: int, quick: bool) -> dict | None:
    """`points` 8-D latents on a map (the shipped mnist-ae-8d's, tiled) against its 10,000 shipped points."""
    source_path = ROOT / "models" / "mnist-ae-8d"
    if not (source_path / MAP).is_file():
        return None
    return scale(load_bundle(source_path), points, quick, with_map=True)


# frames of each gesture: 300 drag the timeline bar out and back, past every snapshot twice
GESTURE_FRAMES = {"zoom": 60, "pan": 60, "scrub": 300}


def at_scale(bundle: Path, quick: bool, gestures: tuple[str, ...] = ("zoom", "pan")) -> dict:
    """What a user of this bundle waits for: start-up, a hover frame with neighbours on (the default), a
    re-render for each gesture (zoom, pan, or scrubbing the timeline), and the resident memory after hovering."""
    starts = [run_viewer(bundle, "--frames", "1") for _ in range(1 if quick else 3)]
    hover = run_viewer(bundle, "--frames", "100" if quick else "600", "--fps", "0")
    keys = ("frames", "frame_ms_p50", "frame_ms_p99", "frame_ms_max")
    result = {
        "first_frame_s_median": round(float(np.median([run["first_frame_s"] for run in starts])), 3),
        "hover": {key: hover[key] for key in (*keys, "decode_us_p50")},
        "rss_mb": hover["rss_mb"]["at_end"],
    }
    for gesture in gestures:
        frames = str(20 if quick else GESTURE_FRAMES[gesture])
        run = run_viewer(bundle, "--frames", frames, "--fps", "0", gesture=gesture)
        result[gesture] = {key: run[key] for key in keys}
    return result


def timeline_scale(points: int, quick: bool) -> dict | None:
    """`points` test images on a timeline (the shipped mnist-ae's 12 snapshots, tiled) against its own 10,000:
    start-up, hover, and the timeline bar dragged every frame."""
    source = load_bundle(ROOT / "models" / "mnist-ae")
    if source.meta.timeline is None or not (source.path / TIMELINE).is_dir():
        return None  # the wheel's copy leaves timelines out
    result = scale(source, points, quick, ("scrub",), with_timeline=True)
    return result | {"snapshots": len(source.meta.timeline.snapshots)}


def scale(source: Bundle, points: int, quick: bool, gestures: tuple[str, ...] = ("zoom", "pan"), **options) -> dict:
    """The source's shipped points and `points` generated from them (scale_bundle(**options): a map, a timeline),
    measured the same way in the same run."""
    result = {"points": points, "baseline": at_scale(source.path, quick, gestures) | {"points": len(source.z)}}
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        bundle = scale_bundle(source, points, Path(tmp) / "bundle", **options)
        result["generate_s"] = round(time.perf_counter() - started, 1)
        result["embedding_mb"] = round((bundle / EMBEDDING).stat().st_size / 2**20)
        if options.get("with_timeline"):
            result["timeline_mb"] = round((bundle / TIMELINE_LATENTS).stat().st_size / 2**20)
        try:
            result |= at_scale(bundle, quick, gestures)
        except ViewerFailed as exc:  # e.g. a viewer that refuses this many points: a row that says so
            result["error"] = str(exc)
    return result


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


def load_range(load: dict | None) -> str:
    values = [value for pair in (load or {}).values() for value in pair]
    return f"{min(values):.1f} to {max(values):.1f}" if values else "not recorded"


def ms(entry: dict, *keys: str) -> str:
    return " / ".join(f"{entry[key]:.1f}" for key in keys)


def scale_rows(s: dict | None) -> list[str]:
    """The generated embedding against the shipped one, each figure measured the same way in the same run."""
    if not s:
        return []
    n, b = f"{s['points']:,} points", s["baseline"]
    base = f"{b['points']:,} shipped"
    if "error" in s:
        return [
            f"| {n} (generated, {s['embedding_mb']:,} MB embedding) | "
            f"the viewer refused it: {s['error'].removeprefix('error: ')} | |"
        ]
    return [
        f"| {n} (generated in {s['generate_s']} s, {s['embedding_mb']:,} MB embedding): "
        "process start to first frame, median | "
        f"**{s['first_frame_s_median']:.2f} s** ({base}: {b['first_frame_s_median']:.2f} s) | < 1.0 s |",
        f"| {n}: hover frame with neighbours, p50 / p99 / max ms | "
        f"**{ms(s['hover'], 'frame_ms_p50', 'frame_ms_p99', 'frame_ms_max')}** "
        f"({base}: {ms(b['hover'], 'frame_ms_p50', 'frame_ms_p99', 'frame_ms_max')}) | p99 < 8 |",
        *(
            f"| {n}: {GESTURE_WORDS[gesture]}, p50 / p99 ms | **{ms(s[gesture], 'frame_ms_p50', 'frame_ms_p99')}** "
            f"({base}: {ms(b[gesture], 'frame_ms_p50', 'frame_ms_p99')}) | p99 < 16 |"
            for gesture in GESTURE_FRAMES
            if gesture in s
        ),
        f"| {n}: resident memory after hovering | "
        f"**{s['rss_mb']:,.0f} MB** ({base}: {b['rss_mb']:,.0f} MB) | < 1,024 MB |",
    ]


GESTURE_WORDS = {
    "zoom": "zoom, a wheel notch every frame",
    "pan": "pan, a drag every frame",
    "scrub": "the timeline bar dragged every frame (the dots between snapshots)",
}


def timeline_rows(s: dict | None) -> list[str]:
    """The same rows for the embedding on a timeline: its dots moving between snapshots as the bar is dragged."""
    if not s:
        return []
    label = f"| {s['points']:,} points"
    words = f"{label} on a {s['snapshots']}-snapshot timeline"
    rows = [row.replace(label, words, 1) for row in scale_rows(s)]
    if "timeline_mb" in s:
        rows[0] = rows[0].replace(" MB embedding)", f" MB embedding, {s['timeline_mb']:,} MB timeline)", 1)
    return rows


def map_rows(s: dict | None) -> list[str]:
    """The same rows for the embedding shown on a map (an 8-D latent: the map's lift on every hover)."""
    if not s:
        return []
    label = f"| {s['points']:,} points"
    return [row.replace(label, f"{label} of an 8-D latent on its UMAP map", 1) for row in scale_rows(s)]


def fastest_epochs(history: list[dict], epochs: int) -> float:
    """`epochs` epochs at the fastest one's pace: like timeit's best of several runs, the figure that
    other work sharing the machine disturbs least (it can't hide a slow first epoch, e.g. compilation)."""
    return min(row["seconds"] for row in history[:epochs]) * epochs


def arithmetic(precision: dict | None) -> str:
    """'bf16 (auto: probe fp32 150 / bf16 400 GFLOP/s)': what the default trained in, and why."""
    if not precision:
        return "precision not recorded"
    probe = precision.get("probe")
    if not probe:
        return f"{precision['used']} ({precision['requested']})"
    return (
        f"{precision['used']} ({precision['requested']}: probe fp32 {probe['fp32_gflops']:,.0f} / "
        f"bf16 {probe['bf16_gflops']:,.0f} GFLOP/s)"
    )


def seed_rows(t: dict) -> list[str]:
    """(a) the Keras seed's setup in torch, (b) the default recipe to (a)'s test MSE, and their ratio."""
    seed, default, versus = t.get("seed_setup"), t.get("training"), t.get("seed_versus_default")
    if not seed or not default or not versus:
        return []
    recipe = default["recipe"]
    name = f"{recipe['epochs']} epochs {recipe['schedule']}, lr {recipe['lr']:g}, batch {recipe['batch_size']}"
    if "ema" in recipe:  # results from before the recipe's Adam beta2, warm-up and weight average were recorded
        name += f", warm-up {recipe['warmup']:g}, Adam β2 {recipe['adam_beta2']:g}, weight average {recipe['ema']:g}"
    name += f", {arithmetic(default['run'].get('precision'))}"
    reached = (
        f"**{versus['default_seconds']} s** (epoch {versus['default_epoch']}; the full run ends at "
        f"{default['test_mse']:.4f} after {default['train_seconds']:.0f} s)"
        if versus["default_seconds"] is not None
        else f"not reached (the full run ends at {default['test_mse']:.4f})"
    )
    speedup = f"**{versus['speedup']:.2f}×**" if versus["speedup"] else "n/a"
    if versus["default_epoch"] and versus.get("seed_epochs"):  # epochs don't vary with the machine's other work
        seed_s = fastest_epochs(seed["history"], versus["seed_epochs"])
        default_s = fastest_epochs(default["history"], versus["default_epoch"])
        speedup += (
            f" ({versus['seed_epochs']} epochs against {versus['default_epoch']}; at each run's fastest epoch, "
            f"{seed_s:.0f} s against {default_s:.0f} s: {seed_s / default_s:.2f}×)"
        )
    return [
        f"| training (a): the Keras seed's setup in torch (Adam 1e-3 constant, batch 256, fp32, 10 epochs, CPU): "
        f"training time / final test MSE | {seed['train_seconds']} s / {seed['test_mse']:.4f} | "
        f"(Keras: {t['keras_seed_mse']}) |",
        f"| training (b): the default recipe ({name}) to (a)'s test MSE | {reached} | |",
        f"| training: (a)'s time over (b)'s | {speedup} | ≥ 3× with AMX bf16, ≥ 2× without |",
    ]


def markdown(r: dict) -> str:
    m, d, b, f, c = r["machine"], r["decode"], r["batched"], r["frames"], r["cold_start"]
    t = r.get("torch_side") or {}
    view = d["viewer_settings"]
    lines = [
        f"Measured {m['date']} on {m['cpu']}, {m['cores']} cores; "
        f"Python {m['python']}, onnxruntime {m['onnxruntime']}, "
        f"numpy {m['numpy']}, pygame-ce {m['pygame']}"
        + (f", torch {t['torch']}" if t else "")
        + f"; 1-minute load average {load_range(r.get('load_average'))} during the run. Command: `make bench`.",
        "",
        "| measure | result | target |",
        "| --- | --- | --- |",
        f"| decode one latent, viewer settings (1 thread, no spinning), p50 / p99 µs | **{us(view)}** | ≤ 60 / ≤ 250 |",
        "| decode one latent, onnxruntime defaults, p50 / p99 µs | "
        f"{us(d['ort_default'])} ({ratio(d['ort_default'], view)} of viewer) | |",
        "| decode one latent, plain numpy (the compute floor), p50 / p99 µs | "
        f"{us(t.get('numpy'))} ({ratio(t.get('numpy'), view)}) | |",
        "| decode one latent, torch eager under `inference_mode`, p50 / p99 µs | "
        f"{us(t.get('torch_eager'))} ({ratio(t.get('torch_eager'), view)}) | |",
        "| decode one latent, the Keras seed's `decoder.predict` | "
        f"{KERAS_PREDICT_MS:.1f} ms ({KERAS_PREDICT_MS * 1000 / view['p50_us']:.0f}× the viewer) | |",
    ]
    for label in GRIDS:
        g = b[label]
        lines.append(
            f"| batched decode, {label} = {g['points']:,} points: viewer settings / defaults | "
            f"{g['points_per_s_viewer']:,} / {g['points_per_s_default']:,} points/s "
            f"({g['ms_viewer']} / {g['ms_default']} ms) | > 100,000 points/s |"
        )
    p = b["precompute"]
    lines += [
        f"| precompute the {p['grid']} grid: one batched call vs one call per point | "
        f"{p['one_batched_call_s']} s vs {p['single_calls_s']} s | (seed: ~22 min) |",
        "| frame time, hover only, `--fps 0`, p50 / p99 / max ms | "
        f"**{f['hover']['frame_ms_p50']} / {f['hover']['frame_ms_p99']} / {f['hover']['frame_ms_max']}** "
        f"({f['hover']['frames']} frames) | < 1.5 / < 4 |",
        "| frame time, every feature on (map + A-B strip + neighbours + traversal grid), p50 / p99 / max ms | "
        f"**{f['all_features']['frame_ms_p50']} / {f['all_features']['frame_ms_p99']} / "
        f"{f['all_features']['frame_ms_max']}** | p99 < 10 |",
        "| frame time, anomaly view (`--color-by error`: errors computed at start, worst listed), p50 / p99 ms | "
        f"{f['anomaly_view']['frame_ms_p50']} / {f['anomaly_view']['frame_ms_p99']} | p99 < 10 |",
        "| frame time, `--precompute 64` (interpolated hover), p50 / p99 ms; its hover lookup p50 | "
        f"{f['precompute_64']['frame_ms_p50']} / {f['precompute_64']['frame_ms_p99']}; "
        f"{f['precompute_64']['decode_us_p50']:.0f} µs | |",
        f"| CPU time per frame, 60 fps cap, mouse still | {f['still_60fps']['cpu_ms_per_frame']} ms "
        f"({f['still_60fps']['frames_drawn']} of {f['still_60fps']['frames']} frames redrawn, "
        f"{f['still_60fps']['decodes']} decode) | ≈ 0 |",
        f"| cold start: process start to first frame, median of {c['runs']} | "
        f"**{c['first_frame_s_median']} s** (to exit: {c['exit_s_median']} s) | < 0.6 s |",
    ]
    lines += scale_rows(r.get("scale")) + map_rows(r.get("map_scale")) + timeline_rows(r.get("timeline_scale"))
    lines.append(f"| installed size, viewer dependencies | **{r['install']['total_mb']:.0f} MB** | < 230 MB |")
    if t.get("install"):
        lines.append(
            "| installed size, with the training extra (torch, torchvision, onnx, …) | "
            f"{t['install']['total_mb']:,.0f} MB | |"
        )
    train, shipped = t.get("training"), t.get("shipped_training") or {}
    if train:
        lines.append(
            f"| training, seconds per epoch ({train['digits']:,} digits, CPU) | {train['seconds_per_epoch']} s | |"
        )
    lines += seed_rows(t)
    if shipped.get("seconds_to_seed_mse") is not None:
        lines.append(
            f"| shipped model: training time to the seed's test MSE 0.0377 / to its final {shipped['test_mse']:.4f} | "
            f"{shipped['seconds_to_seed_mse']} s / {shipped['seconds_to_final_mse']} s "
            f"({shipped['seconds_per_epoch_median']} s an epoch) | < 12 s to 0.0377 |"
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
    parser.add_argument(
        "--scale-points",
        type=int,
        default=0,
        help=f"points in the generated embedding (default {SCALE_POINTS:,}; --quick: {QUICK_SCALE_POINTS:,})",
    )
    args = parser.parse_args(argv)
    bundle_path = (args.bundle or default_bundle()).resolve()
    bundle = load_bundle(bundle_path)
    calls = 300 if args.quick else 3000
    points = args.scale_points or (QUICK_SCALE_POINTS if args.quick else SCALE_POINTS)
    steps = [
        ("decode latency", "decode", lambda: decode_latency(bundle, calls)),
        ("batched decode", "batched", lambda: batched(bundle, args.quick)),
        ("frame times", "frames", lambda: frames(bundle_path, bundle.bounds, args.quick)),
        ("cold start", "cold_start", lambda: cold_start(bundle_path, 3 if args.quick else 7)),
        ("install size", "install", lambda: closure_mb(["numpy", "onnxruntime", "pygame-ce", "pillow"])),
        (f"{points:,} points", "scale", lambda: scale(bundle, points, args.quick)),
        (f"{points:,} points on a map", "map_scale", lambda: map_scale(points, args.quick)),
        (f"{points:,} points on a timeline", "timeline_scale", lambda: timeline_scale(points, args.quick)),
    ]
    if args.torch_python:
        steps.append(("torch comparisons and training", "torch_side",
                      lambda: torch_side(args.torch_python, bundle_path, args.data_root,
                                         calls, args.quick)))  # fmt: skip
    results: dict = {"machine": machine(), "bundle": bundle.name, "quick": args.quick}
    results["load_average"] = {}  # other work on the machine slows every figure: say how much there was
    for index, (title, key, step) in enumerate(steps, 1):
        print(f"[{index}/{len(steps)}] {title}...", file=sys.stderr, flush=True)
        before = os.getloadavg()[0]
        results[key] = step()
        results["load_average"][key] = [round(before, 2), round(os.getloadavg()[0], 2)]

    from latent_common.atomic import atomic_write, write_json
    from latent_common.charts import frame_time_histogram

    args.out.mkdir(parents=True, exist_ok=True)
    series = {
        "hover only, --fps 0": np.asarray(results["frames"]["hover"].pop("frame_ms")),
        "every feature on, --fps 0": np.asarray(results["frames"]["all_features"].pop("frame_ms")),
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
