"""The benchmarks that need torch: the numpy compute floor (weights read with onnx), torch eager, training.

Run by benchmarks.run in the training environment; writes one JSON object to --json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from benchmarks.envsize import closure_mb
from benchmarks.timing import latencies_us, random_latents, summary_us
from training.model import Autoencoder, ModelConfig
from viewer.bundle import DECODER, load_bundle

SEED_MSE = 0.0377  # the Keras seed script's median test MSE after its 10 epochs, measured on this machine


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
    from training.data import DataError
    from training.train import TrainConfig, run

    with tempfile.TemporaryDirectory() as tmp:
        config = TrainConfig(data_root=data_root, run_dir=str(Path(tmp) / "run"), epochs=1 if quick else 2, device="cpu",
                             train_limit=4096 if quick else 0)  # fmt: skip
        try:
            metrics = run(config)
        except DataError as exc:
            print(f"training benchmark skipped: {exc}", file=sys.stderr)
            return None
    seconds = [row["seconds"] for row in metrics["epochs"]]
    return {
        "digits": 4096 if quick else 60000,
        "seconds_per_epoch": round(float(np.median(seconds)), 2),
        "epochs_timed": len(seconds),
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
    result: dict = {"torch": torch.__version__, "torch_threads": torch.get_num_threads()}

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
        result["training"] = training_benchmark(args.data_root, args.quick)
    result["install"] = closure_mb(
        ["numpy", "onnxruntime", "pygame-ce", "torch", "torchvision", "onnx", "onnxscript", "tqdm"]
    )
    args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
