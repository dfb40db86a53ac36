"""The benchmarks that need torch: the numpy compute floor (weights read with onnx), torch eager, training.

Run by benchmarks.run in the training environment; writes one JSON object to --json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from benchmarks.envsize import closure_mb
from benchmarks.timing import latencies_us, random_latents, summary_us
from training.model import Autoencoder, ModelConfig
from training.train import TrainConfig, run  # first: on import it makes every thread flush denormals (see there)
from viewer.bundle import DECODER, load_bundle

SEED_MSE = 0.0377  # the Keras seed script's median test MSE after its 10 epochs, measured on this machine
SEED_EPOCHS, SEED_BATCH, SEED_LR = 10, 256, 1e-3  # the Keras seed's fit(): Adam's default lr, constant
RECIPE_KEYS = ("epochs", "batch_size", "lr", "schedule", "warmup", "adam_beta2", "ema")
QUICK_DIGITS = 4096  # the quick setting's training digits: enough batches to show an epoch runs


def numpy_decoder(path: Path):
    """The decoder as plain numpy matmuls: the compute floor for a single-latent decode."""
    model = onnx.load(str(path))
    weights = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    steps = []
    for node in model.graph.node:
        if node.op_type == "Gemm":
            trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
            w = weights[node.input[1]]
            steps.append(("gemm", np.ascontiguousarray(w.T if trans_b else w), weights[node.input[2]]))
        elif node.op_type in ("Relu", "Sigmoid"):
            steps.append((node.op_type.lower(), None, None))
        elif node.op_type == "Reshape":
            steps.append(("reshape", weights[node.input[1]], None))
        else:
            return None  # not a plain MLP: no numpy floor for this model

    def decode(z: np.ndarray) -> np.ndarray:
        h = z
        for op, a, b in steps:
            if op == "gemm":
                h = h @ a + b
            elif op == "relu":
                np.maximum(h, 0, out=h)
            elif op == "sigmoid":
                h = 1.0 / (1.0 + np.exp(-h))
            else:
                h = h.reshape(a)
        return h

    return decode


def torch_decoder(bundle) -> torch.nn.Module:
    """The torch module the bundle was exported from, rebuilt from the ONNX initializers (same names)."""
    config = ModelConfig.from_dict(
        {"latent_dim": bundle.latent_dim, "image_shape": bundle.image_shape} | bundle.model_config
    )
    model = Autoencoder(config)
    weights = {
        init.name: torch.from_numpy(numpy_helper.to_array(init).copy())
        for init in onnx.load(str(bundle.path / DECODER)).graph.initializer
    }
    model.decoder.load_state_dict(
        {k.removeprefix("decoder."): v for k, v in weights.items() if k.startswith("decoder.")}
    )
    return model.decoder.eval()


def time_to(history: list[dict], target: float) -> float | None:
    elapsed = 0.0
    for row in history:
        elapsed += row["seconds"]
        if row["test_mse"] <= target:
            return round(elapsed, 1)
    return None


def training_benchmark(data_root: str, quick: bool) -> dict | None:
    """The default recipe (`make train`'s flags) on the CPU: each epoch's time and test MSE.

    Quick: one epoch on a few digits, to show it runs. Full: the whole recipe, so that (b) can read off
    when it reached the seed setup's test MSE, and the full run's final test MSE shows where it ends.
    """
    from latent_common.data import DataError

    with tempfile.TemporaryDirectory() as tmp:
        quick_flags = {"epochs": 1, "train_limit": QUICK_DIGITS} if quick else {}
        config = TrainConfig(data_root=data_root, run_dir=str(Path(tmp) / "run"), device="cpu", **quick_flags)
        try:
            metrics = run(config)
        except DataError as exc:
            print(f"training benchmark skipped: {exc}", file=sys.stderr)
            return None
    history = [{key: row[key] for key in ("epoch", "test_mse", "seconds")} for row in metrics["epochs"]]
    seconds = [row["seconds"] for row in history]
    return {
        "digits": QUICK_DIGITS if quick else 60000,
        "seconds_per_epoch": round(float(np.median(seconds)), 2),
        "epochs_timed": len(seconds),
        "recipe": {key: getattr(config, key) for key in RECIPE_KEYS},
        "history": history,
        "test_mse": metrics["test_mse"],
        "train_seconds": metrics["train_seconds"],
        # Whatever else the trainer records about the run (device, arithmetic, ...), as it says it.
        "run": {key: value for key, value in metrics.items() if key not in ("epochs", "test_mse", "train_seconds")},
    }


def seed_setup(data_root: str) -> dict | None:
    """(a) The Keras seed's training re-implemented in plain torch, on the CPU: the trainer's default dense
    autoencoder, Adam at a constant 1e-3, batch 256, fp32, 10 epochs, reshuffled every epoch.

    Its own loop, not the trainer's: the trainer's arithmetic and schedule may change (bf16, compile),
    and this is the fixed reference they are measured against. Epoch times exclude the test evaluation,
    as the trainer's history does, so (a) and (b) compare like with like. Denormals are flushed on every thread
    (importing training.train does it), as TensorFlow does on CPUs.
    """
    from latent_common.data import DataError, load_split
    from training.evaluate import evaluate, to_tensor

    try:
        train, test = (load_split("mnist", data_root, split) for split in ("train", "test"))
    except DataError as exc:
        print(f"seed setup skipped: {exc}", file=sys.stderr)
        return None
    cpu = torch.device("cpu")
    images, test_images = to_tensor(train.images, cpu), to_tensor(test.images, cpu)  # (N, 28, 28) in [0, 1]
    defaults = TrainConfig()
    torch.manual_seed(0)
    model = Autoencoder(ModelConfig(latent_dim=defaults.latent_dim, hidden=defaults.hidden_sizes, kind="ae"))
    optimizer = torch.optim.Adam(model.parameters(), lr=SEED_LR)
    history = []
    started = time.perf_counter()
    for epoch in range(SEED_EPOCHS):
        model.train()
        epoch_started = time.perf_counter()
        for indices in torch.randperm(len(images)).split(SEED_BATCH):
            batch = images[indices]
            loss = torch.nn.functional.mse_loss(model(batch), batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        seconds = time.perf_counter() - epoch_started
        history.append({"epoch": epoch + 1, "test_mse": evaluate(model, test_images), "seconds": round(seconds, 3)})
    return {
        "setup": {
            "epochs": SEED_EPOCHS,
            "batch_size": SEED_BATCH,
            "lr": SEED_LR,
            "schedule": "constant",
            "dtype": "float32",
        },
        "history": history,
        "test_mse": history[-1]["test_mse"],
        "train_seconds": round(sum(row["seconds"] for row in history), 1),
        "wall_seconds": round(time.perf_counter() - started, 1),  # with the test evaluation after each epoch
    }


def seed_versus_default(seed: dict | None, default: dict | None) -> dict | None:
    """(b) When the default recipe reached (a)'s final test MSE, and how much sooner that is than (a)."""
    if not seed or not default:
        return None
    target = seed["test_mse"]
    reached = time_to(default["history"], target)
    return {
        "target_test_mse": target,
        "default_seconds": reached,
        "default_epoch": next((row["epoch"] for row in default["history"] if row["test_mse"] <= target), None),
        "seed_seconds": seed["train_seconds"],
        "speedup": round(seed["train_seconds"] / reached, 2) if reached else None,
        # Epochs don't depend on what else the machine runs; seconds do (2 cores shared: epochs of 2 s and 87 s).
        "seed_epochs": len(seed["history"]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.torch_side")
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path, required=True, help="where to write the results")
    args = parser.parse_args()
    bundle = load_bundle(args.bundle)
    latents = random_latents(bundle.bounds, args.calls)
    result: dict = {"torch": torch.__version__, "torch_threads": torch.get_num_threads(), "keras_seed_mse": SEED_MSE}

    decode = numpy_decoder(bundle.path / DECODER)
    if decode is not None:
        result["numpy"] = summary_us(latencies_us(decode, latents))
    module = torch_decoder(bundle)
    with torch.inference_mode():
        result["torch_eager"] = summary_us(latencies_us(lambda z: module(torch.from_numpy(z)), latents))

    history = bundle.training_history
    result["shipped_training"] = {
        "test_mse": bundle.test_mse,
        "seconds_per_epoch_median": round(float(np.median([r["seconds"] for r in history])), 2) if history else None,
        "seconds_to_seed_mse": time_to(history, SEED_MSE),
        "seconds_to_final_mse": round(sum(r["seconds"] for r in history), 1) if history else None,
    }
    if args.data_root:
        if not args.quick:  # 10 full epochs: the quick setting only shows the default recipe runs
            result["seed_setup"] = seed_setup(args.data_root)
        result["training"] = training_benchmark(args.data_root, args.quick)
        result["seed_versus_default"] = seed_versus_default(result.get("seed_setup"), result["training"])
    result["install"] = closure_mb(
        ["numpy", "onnxruntime", "pygame-ce", "torch", "torchvision", "onnx", "onnxscript", "tqdm"]
    )
    args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
