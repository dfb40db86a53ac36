"""The GPU check's Python side, one subcommand per job; `benchmarks/gpu_check.sh` runs them in order.

Everything here but `make-data` and `train` is standard library only, so the check can report on a
machine where numpy, torch or onnxruntime are missing. Results go into one JSON file (--json), merged
key by key and replaced atomically, so a check killed half-way still leaves valid JSON behind.

  facts           machine facts: nvidia-smi, the CPU, torch, onnxruntime, pygame, pip's versions
  missing         the pip names of what the viewer and the trainer need and can't import
  why-not STEP    why STEP can't run here (empty when it can)
  skip KEY WHY    record a step as skipped, with the reason
  note KEY TEXT   record a line of text
  make-data DIR   an MNIST-shaped IDX dataset (60,000 + 10,000 digits) from the shipped bundle's digits
  train ...       `python -m training ...`, noting the dtype of each training forward pass (autocast)
  record KEY      a step's figures: its exit status, seconds, and the stats or metrics it wrote
  finish          ratios (CPU against CUDA) and the total; prints a summary
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE_S = 60  # a CUDA initialisation that hangs must not take the whole check with it
NEEDS = {  # import name -> pip name; the viewer's dependencies and the trainer's
    "numpy": "numpy",
    "onnxruntime": "onnxruntime",
    "pygame": "pygame-ce",
    "torch": "torch",
    "tqdm": "tqdm",
}
NOT_INSTALLED_HERE = {"torch"}  # a CUDA torch must match the driver: the check reports it missing, never guesses one
PACKAGES = ("torch", "onnxruntime", "onnxruntime-gpu", "pygame-ce", "pygame", "numpy", "tqdm", "onnx", "torchvision")
CUDA_PROVIDER = "CUDAExecutionProvider"
TAIL_CHARS = 1500  # of a failed step's output, kept in the JSON

PROBES = {
    "torch": "import json, torch; c = torch.cuda.is_available(); print(json.dumps({'version': torch.__version__, "
    "'cuda_available': c, 'cuda_version': torch.version.cuda, 'device_count': torch.cuda.device_count() if c else 0, "
    "'device_name': torch.cuda.get_device_name(0) if c else None, "
    "'bf16_supported': torch.cuda.is_bf16_supported() if c else None, 'cpu_threads': torch.get_num_threads()}))",
    "onnxruntime": "import json, onnxruntime as o; print(json.dumps({'version': o.__version__, "
    "'device': o.get_device(), 'available_providers': o.get_available_providers()}))",
    "pygame": "import os; os.environ['PYGAME_HIDE_SUPPORT_PROMPT'] = '1'; import json, pygame; "
    "print(json.dumps({'version': pygame.version.ver, 'ce': getattr(pygame, 'IS_CE', False)}))",
    "numpy": "import json, numpy; print(json.dumps({'version': numpy.__version__}))",
    "tqdm": "import json, tqdm; print(json.dumps({'version': tqdm.__version__}))",
}


# The JSON file ---------------------------------------------------------------------------------


def load(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def merge(path: Path, key: str, value) -> dict:
    """Set a dotted key (`viewer.cuda`) in the JSON file, creating the objects on the way."""
    data = load(path)
    node = data
    *parents, last = key.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    staging = path.with_name(f".{path.name}.tmp")
    staging.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(staging, path)
    return data


def lookup(data: dict, key: str):
    for part in key.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


# Facts -----------------------------------------------------------------------------------------


def run_quietly(command: list[str], timeout: float = PROBE_S) -> tuple[int, str]:
    """Exit status and output of a probe; a missing program or a hang is a status, not an exception."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except FileNotFoundError:
        return 127, f"{command[0]}: not found"
    except subprocess.TimeoutExpired:
        return 124, f"timed out after {timeout:.0f}s"
    return done.returncode, (done.stdout + done.stderr).strip()


def nvidia_smi() -> dict:
    fields = "name,memory.total,driver_version"
    status, text = run_quietly(["nvidia-smi", f"--query-gpu={fields}", "--format=csv,noheader"])
    if status != 0:
        return {"gpus": [], "count": 0, "error": text[-300:] or f"exit {status}"}
    rows = (line.split(",") for line in text.splitlines() if line.strip())
    gpus = [dict(zip(("name", "memory", "driver"), (cell.strip() for cell in row))) for row in rows]
    return {"gpus": gpus, "count": len(gpus)}


def cpu() -> dict:
    model = None
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"model": model, "cores": os.cpu_count()}


def probe(python: str, name: str) -> dict:
    status, text = run_quietly([python, "-c", PROBES[name]])
    if status != 0:
        return {"importable": False, "error": text.splitlines()[-1][-300:] if text else f"exit {status}"}
    return {"importable": True} | json.loads(text.splitlines()[-1])


def pip_versions(python: str) -> dict:
    status, text = run_quietly([python, "-m", "pip", "list", "--format=json", "--disable-pip-version-check"])
    if status != 0:
        return {"error": text[-300:]}
    try:
        listed = json.loads(next(line for line in text.splitlines() if line.startswith("[")))
    except (StopIteration, json.JSONDecodeError):
        return {"error": "unreadable pip list output"}
    return {row["name"].lower(): row["version"] for row in listed if row["name"].lower() in PACKAGES}


def facts(args) -> int:
    python = args.python
    merge(args.json, "machine", {"nvidia_smi": nvidia_smi(), "cpu": cpu(), "python": python_version(python),
                                 "pythonpath": os.environ.get("PYTHONPATH", "")})  # fmt: skip
    merge(args.json, "packages", {name: probe(python, name) for name in PROBES} | {"pip": pip_versions(python)})
    return 0


def python_version(python: str) -> str:
    return run_quietly([python, "-c", "import sys; print(sys.version.split()[0], sys.executable)"])[1]


# What can run ----------------------------------------------------------------------------------


def missing(args) -> int:
    """Print the pip names to install: what can't be imported, and onnxruntime-gpu for a GPU without CUDA in ort."""
    data = load(args.json)
    names = [pip for module, pip in NEEDS.items() if not lookup(data, f"packages.{module}.importable")]
    names = [name for name in names if name not in NOT_INSTALLED_HERE]
    has_gpu = (lookup(data, "machine.nvidia_smi.count") or 0) > 0
    providers = lookup(data, "packages.onnxruntime.available_providers") or []
    if has_gpu and CUDA_PROVIDER not in providers:
        names = [name for name in names if name != "onnxruntime"] + ["onnxruntime-gpu"]
    print(" ".join(names))
    return 0


def reasons(data: dict, step: str) -> list[str]:
    """Why `step` can't run, from the facts; an empty list when it can."""
    why = []
    gpus = lookup(data, "machine.nvidia_smi.count") or 0
    needs_gpu = step in ("viewer-cuda", "train-cuda", "torchrun")
    if needs_gpu and gpus == 0:
        why.append(f"no NVIDIA GPU (nvidia-smi: {lookup(data, 'machine.nvidia_smi.error') or 'no GPUs listed'})")
    if step == "torchrun" and gpus == 1:
        why.append("1 GPU: the 2-process NCCL run needs 2")
    modules = ("numpy", "onnxruntime", "pygame") if step.startswith("viewer") else ("numpy", "torch", "tqdm", "pygame")
    for module in modules:
        if not lookup(data, f"packages.{module}.importable"):
            error = lookup(data, f"packages.{module}.error") or "not importable"
            why.append(f"{NEEDS[module]} missing ({error})")
    if step == "viewer-cuda" and lookup(data, "packages.onnxruntime.importable"):
        providers = lookup(data, "packages.onnxruntime.available_providers") or []
        if CUDA_PROVIDER not in providers:
            version = lookup(data, "packages.onnxruntime.version")
            why.append(f"onnxruntime {version} has no {CUDA_PROVIDER} (providers: {', '.join(providers)}; "
                       "onnxruntime-gpu is needed)")  # fmt: skip
    if needs_gpu and gpus and lookup(data, "packages.torch.importable") and step != "viewer-cuda":
        if not lookup(data, "packages.torch.cuda_available"):
            why.append(f"torch {lookup(data, 'packages.torch.version')} sees no CUDA device (a CPU-only build?)")
    return why


def why_not(args) -> int:
    print("; ".join(reasons(load(args.json), args.step)))
    return 0


def skip(args) -> int:
    merge(args.json, args.key, {"status": "skipped", "skipped": args.reason})
    print(f"{args.key}: skipped: {args.reason}")
    return 0


def note(args) -> int:
    merge(args.json, args.key, args.text)
    return 0


# Data and training -----------------------------------------------------------------------------


def make_data(args) -> int:
    """torchvision's layout (DIR/MNIST/raw/) holding tiled copies of the shipped digits: the first 8,000
    sources feed the 60,000 training digits, the last 2,000 the 10,000 test digits, so test digits are unseen."""
    import numpy as np

    from benchmarks.synthetic import tiled_digits
    from latent_common.data import MNIST_FILES, write_idx

    with np.load(ROOT / "models" / "mnist-ae" / "embedding.npz", allow_pickle=False) as npz:
        images, labels = npz["images"], npz["labels"]
    images = images.reshape(len(images), *images.shape[-2:])  # IDX holds (N, 28, 28): format 2 stores a channel axis
    raw = args.dir / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    held_out = len(images) * 4 // 5
    splits = {"train": (slice(0, held_out), args.train), "test": (slice(held_out, None), args.test)}
    for split, (part, count) in splits.items():
        digits, source = tiled_digits(images[part], count, seed=len(split))
        image_file, label_file = MNIST_FILES[split]
        write_idx(raw / image_file, digits)
        write_idx(raw / label_file, labels[part][source].astype(np.uint8))
    print(f"wrote {args.train:,} training and {args.test:,} test digits to {raw}")
    return 0


def train(args) -> int:
    """Run the trainer's own main(), with a forward hook noting the output dtype of its layers while training.

    Under bf16 autocast a Linear layer returns bfloat16: the dtypes show what arithmetic the trainer used,
    whatever the trainer itself records. The hook is removed after a few hundred calls so timings stay clean.
    """
    import torch
    from torch import nn

    seen: dict[str, int] = {}
    calls = 0

    def note(module, inputs, output):
        nonlocal calls
        if module.training and isinstance(module, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            seen[str(output.dtype).removeprefix("torch.")] = seen.get(str(output.dtype).removeprefix("torch."), 0) + 1
            calls += 1
            if calls >= 300:
                handle.remove()

    handle = nn.modules.module.register_module_forward_hook(note)
    from training.train import main

    try:
        return main(args.training_args)
    finally:
        args.probe.write_text(json.dumps({"training_forward_dtypes": seen, "torch": torch.__version__}))


# Recording -------------------------------------------------------------------------------------


def status(rc: int, seconds: float) -> dict:
    state = "ok" if rc == 0 else "timed out" if rc in (124, 137) else "failed"
    return {"status": state, "exit_status": rc, "seconds": round(seconds, 2)}


def viewer_figures(stats: dict, started: float) -> dict:
    keys = ("frames", "frame_ms_p50", "frame_ms_p99", "decode_us_p50", "decode_us_p99", "provider", "rss_mb")
    figures = {key: stats.get(key) for key in keys}
    figures["first_frame_s"] = round(stats["first_frame_at"] - started, 3) if stats.get("first_frame_at") else None
    return figures


def training_figures(run: Path, probe: Path) -> dict:
    metrics = json.loads((run / "metrics.json").read_text())
    seconds = [row["seconds"] for row in metrics.get("epochs", [])]
    figures = {
        "epochs": len(seconds),
        "seconds_per_epoch": seconds,
        "first_epoch_s": seconds[0] if seconds else None,
        # The first epoch pays for CUDA's start-up and kernel selection; the rest is the steady rate.
        "steady_seconds_per_epoch": round(statistics.median(seconds[1:]), 3) if len(seconds) > 1 else None,
        "final_test_mse": metrics.get("test_mse"),
        "metrics": {key: value for key, value in metrics.items() if key != "epochs"},
    }
    if probe.is_file():
        dtypes = json.loads(probe.read_text())["training_forward_dtypes"]
        figures["training_forward_dtypes"] = dtypes
        figures["autocast_bf16"] = bool(dtypes.get("bfloat16"))
    return figures


def record(args) -> int:
    entry = status(args.rc, args.seconds)
    try:
        if args.stats and args.stats.is_file():
            entry |= viewer_figures(json.loads(args.stats.read_text()), args.started)
        if args.run and (args.run / "metrics.json").is_file():
            entry |= training_figures(args.run, args.probe or Path("/nonexistent"))
    except (OSError, ValueError, KeyError) as exc:
        entry["record_error"] = f"{type(exc).__name__}: {exc}"
    if args.rc != 0 and args.output and args.output.is_file():
        entry["output_tail"] = args.output.read_text(errors="replace")[-TAIL_CHARS:]
    if not (lookup(entry, "metrics.distributed") or {}).get("weights_identical", True):
        entry["status"] = "failed"  # DDP replicas must end identical; the trainer checks, this makes it visible
    if args.expect_provider and entry.get("provider") not in (None, args.expect_provider):
        entry["status"] = "failed"
        entry["provider_error"] = f"the session ran on {entry['provider']}, not {args.expect_provider}"
    merge(args.json, args.key, entry)
    print(f"{args.key}: {entry['status']} in {entry['seconds']}s")
    return 0


def ratio(numerator, denominator) -> float | None:
    return round(numerator / denominator, 2) if numerator and denominator else None


def finish(args) -> int:
    data = load(args.json)
    cuda, cpu_run = lookup(data, "viewer.cuda") or {}, lookup(data, "viewer.cpu") or {}
    merge(args.json, "viewer.decode_p50_cpu_over_cuda", ratio(cpu_run.get("decode_us_p50"), cuda.get("decode_us_p50")))
    cuda, cpu_run = lookup(data, "training.cuda") or {}, lookup(data, "training.cpu") or {}
    merge(args.json, "training.epoch_s_cpu_over_cuda",
          ratio(cpu_run.get("steady_seconds_per_epoch"), cuda.get("steady_seconds_per_epoch")))  # fmt: skip
    data = merge(args.json, "total_seconds", round(args.seconds, 1))
    for key in ("viewer.cuda", "viewer.cpu", "training.cuda", "training.cpu", "torchrun_nccl"):
        entry = lookup(data, key) or {}
        print(f"{key:14} {entry.get('status', 'not run'):9} {entry.get('skipped') or ''}")
    print(f"wrote {args.json} in {args.seconds:.0f}s")
    return 0


# Command line ----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu_check", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name, handler, json_file=True):
        sub = commands.add_parser(name)
        sub.set_defaults(handler=handler)
        if json_file:
            sub.add_argument("--json", type=Path, required=True, help="the results file")
        return sub

    command("facts", facts).add_argument("--python", default=sys.executable, help="the interpreter to describe")
    command("missing", missing)
    steps = ["viewer-cuda", "viewer-cpu", "train-cuda", "train-cpu", "torchrun"]
    command("why-not", why_not).add_argument("step", choices=steps)
    sub = command("skip", skip)
    sub.add_argument("key")
    sub.add_argument("reason")
    sub = command("note", note)
    sub.add_argument("key")
    sub.add_argument("text")
    sub = command("make-data", make_data, json_file=False)
    sub.add_argument("dir", type=Path)
    sub.add_argument("--train", type=int, default=60_000, help="training digits (MNIST has 60,000)")
    sub.add_argument("--test", type=int, default=10_000, help="test digits (MNIST has 10,000)")
    sub = command("train", train, json_file=False)
    sub.add_argument("--probe", type=Path, required=True, help="where to write the dtypes seen")
    sub.add_argument("training_args", nargs=argparse.REMAINDER, help="-- then the flags of python -m training")
    sub = command("record", record)
    sub.add_argument("key")
    sub.add_argument("--rc", type=int, required=True)
    sub.add_argument("--seconds", type=float, required=True)
    sub.add_argument("--started", type=float, default=0.0, help="wall clock when the step started")
    sub.add_argument("--output", type=Path, help="the step's output, quoted when it failed")
    sub.add_argument("--stats", type=Path, help="a viewer --stats file")
    sub.add_argument("--expect-provider", help="fail the step unless the viewer ran on this provider")
    sub.add_argument("--run", type=Path, help="a training run directory")
    sub.add_argument("--probe", type=Path, help="the dtypes `train` saw")
    command("finish", finish).add_argument("--seconds", type=float, required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "training_args", None) and args.training_args[0] == "--":
        args.training_args = args.training_args[1:]
    started = time.perf_counter()
    code = args.handler(args)
    if args.command == "facts":
        print(f"facts in {time.perf_counter() - started:.1f}s")
    return code


if __name__ == "__main__":
    sys.exit(main())
