"""Export a run directory to a model bundle, checked against torch before anything is written.

The bundle contract (file names, tensor names and shapes, bundle.json keys) lives in viewer/bundle.py:
the viewer reads bundles, so it owns the format, and this module only produces it.
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

from export.onnx_pair import PAIR_COMMAND, embedding_bytes, source_keys
from latent_common.cli import ArgumentParser
from latent_common.errors import UserError, reason
from training.checkpoint import CHECKPOINT, CONFIG, METRICS, load_checkpoint, read_json
from training.data import DataOptions, load_split
from training.evaluate import embed, reconstruction_errors, to_tensor
from training.metrics import KNN_K, knn_accuracy
from training.model import Autoencoder, ModelConfig
from viewer.bundle import DECODER, EMBEDDING, ENCODER, check_model_io, check_replaceable, view_bounds, write_bundle

OPSET = 18
PARITY_SAMPLES = 1000
PARITY_ATOL = 1e-5


class ExportError(UserError):
    """A run that cannot be exported, or an export that fails its checks; nothing was written."""


class Decoder(nn.Module):
    """The graph the viewer runs: z (N, D) -> image (N, C, H, W) in [0, 1]."""

    def __init__(self, model: Autoencoder):
        super().__init__()
        self.decoder = model.decoder

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)


class Encoder(nn.Module):
    """image (N, C, H, W) in [0, 1] -> z (N, D)."""

    def __init__(self, model: Autoencoder):
        super().__init__()
        self.encoder = model.encoder  # only the encoder's weights go into encoder.onnx
        self.latent_dim = model.config.latent_dim

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.encoder(image)[:, : self.latent_dim]  # a VAE's output is (mean, logvar): keep the mean


def load_run(run_dir: Path) -> tuple[Autoencoder, dict]:
    for name in (CHECKPOINT, CONFIG):
        if not (run_dir / name).is_file():
            raise ExportError(f"{run_dir / name}: missing (is {run_dir} a run directory from `python -m training`?)")
    state = load_checkpoint(run_dir)
    try:
        config = read_json(run_dir / CONFIG)
        model_args = state["model_config"]
        model = Autoencoder(ModelConfig.from_dict(model_args))
        model.load_state_dict(state["model"])
    except (OSError, RuntimeError, KeyError, TypeError, ValueError) as exc:  # json, shapes, missing keys
        raise ExportError(f"{run_dir}: checkpoint and config don't rebuild a model ({reason(exc)})") from None
    return model.eval(), config


def to_onnx(module: nn.Module, example: torch.Tensor, input_name: str, output_name: str) -> bytes:
    """Export with a dynamic batch axis and check the graph; returns the serialized model."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        torch.onnx.export(
            module,
            (example,),
            str(path),
            input_names=[input_name],
            output_names=[output_name],
            dynamic_shapes=({0: torch.export.Dim("N")},),
            opset_version=OPSET,
            dynamo=True,
            external_data=False,
            verbose=False,
        )
        proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    return proto.SerializeToString()


def check_parity(name: str, onnx_bytes: bytes, module: nn.Module, inputs: torch.Tensor, role: str, shape) -> float:
    """Run the graph in onnxruntime and in torch on the same inputs; abort past the tolerance.

    Images lie in [0, 1], so the decoder is held to PARITY_ATOL. A plain autoencoder's latents can reach
    tens of units, where float32 itself only resolves ~4e-6, and a convolution summed in another order
    differs by a few of those steps; so the encoder's tolerance is PARITY_ATOL per unit of its largest
    latent (the same 1e-5 for latents within [-1, 1]).
    """
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    check_model_io(Path(name), session, role, shape[0], shape[1])
    with torch.inference_mode():
        expected = module(inputs).numpy()
    got = session.run(None, {session.get_inputs()[0].name: inputs.numpy()})[0]
    worst = float(np.max(np.abs(got.astype(np.float64) - expected)))
    tolerance = PARITY_ATOL * (1.0 if role == "decoder" else max(1.0, float(np.abs(expected).max())))
    if got.shape != expected.shape or not worst <= tolerance:
        raise ExportError(
            f"{name}: onnxruntime differs from torch by {worst:.3g} (> {tolerance:.3g}) on {len(inputs)} inputs; "
            "no bundle written"
        )
    return worst


def export(run_dir: Path, out: Path, data_root: str | None, name: str | None, force: bool) -> dict:
    check_replaceable(out, force)  # before minutes of work: --force replaces a bundle and nothing else
    torch.manual_seed(0)
    model, config = load_run(run_dir)
    latent_dim, image_shape = model.config.latent_dim, tuple(model.config.image_shape)
    dataset = config.get("dataset", "mnist")
    # The run's own data options: a folder without a test/ subfolder gives back the same held-out images.
    test = load_split(dataset, data_root or config["data_root"], "test", options=DataOptions.from_config(config))
    if tuple(test.images.shape[1:]) != image_shape:
        raise ExportError(
            f"--dataset {dataset}: its test images are {list(test.images.shape[1:])} but the run's model takes "
            f"{list(image_shape)} (channels, height, width); did the data change since training?"
        )
    images = to_tensor(test.images, torch.device("cpu"))  # (M, C, H, W) in [0, 1]
    z = embed(model, images)  # (M, D), a VAE's posterior means
    errors = reconstruction_errors(model, images)  # (M,) float64: each image's MSE, stored for the anomaly view
    test_mse = float(errors.mean())
    knn = knn_accuracy(z, test.labels)
    bounds = view_bounds(z)
    print(
        f"encoded {len(z)} test images; test MSE {test_mse:.5f}, latent {KNN_K}-NN accuracy {knn:.3f}", file=sys.stderr
    )

    decoder, encoder = Decoder(model).eval(), Encoder(model).eval()
    decoder_onnx = to_onnx(decoder, torch.zeros(2, latent_dim), "z", "image")
    encoder_onnx = to_onnx(encoder, images[:2], "image", "z")
    low, high = np.asarray(bounds).T
    rng = np.random.default_rng(0)
    latents = torch.from_numpy(rng.uniform(low, high, size=(PARITY_SAMPLES, latent_dim)).astype(np.float32))
    decoder_diff = check_parity(DECODER, decoder_onnx, decoder, latents, "decoder", (latent_dim, image_shape))
    encoder_diff = check_parity(
        ENCODER, encoder_onnx, encoder, images[:PARITY_SAMPLES], "encoder", (latent_dim, image_shape)
    )
    print(
        f"onnxruntime vs torch: max abs diff {decoder_diff:.2e} (decoder), {encoder_diff:.2e} (encoder)",
        file=sys.stderr,
    )

    metrics = read_json(run_dir / METRICS) if (run_dir / METRICS).is_file() else {}
    meta = {
        "name": name or out.name,
        "dataset": dataset,
        "class_names": test.class_names,
        "latent_dim": latent_dim,
        "image_shape": list(image_shape),
        "latent_bounds": bounds,
        "test_mse": test_mse,
        "knn_accuracy": knn,
        "knn_k": KNN_K,
        "parity_max_abs_diff": {"decoder": decoder_diff, "encoder": encoder_diff},
        "train_config": config,
        "training_history": metrics.get("epochs", []),
        "training_precision": metrics.get("precision"),
        "model_config": dataclasses.asdict(model.config),
        "versions": {
            "torch": torch.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": ort.__version__,
            "opset": OPSET,
        },
    }
    meta |= source_keys(test)
    files = {
        DECODER: decoder_onnx,
        ENCODER: encoder_onnx,
        EMBEDDING: embedding_bytes(z, test.labels, test.images, errors.astype(np.float32)),
    }
    write_bundle(out, files, meta, force=force)
    return meta


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(
        prog="python -m export",
        description="Export a training run to a model bundle "
        "(ONNX decoder and encoder, test-set embedding, bundle.json).",
        epilog=f"Your own ONNX pair from any framework, without torch: {PAIR_COMMAND} "
        "(see python -m export --encoder x --help).",
    )
    parser.add_argument("run_dir", type=Path, help="run directory written by `python -m training`")
    parser.add_argument("--out", type=Path, required=True, help="bundle folder to write, e.g. models/mnist-ae")
    parser.add_argument("--data-root", help="folder holding MNIST/raw/ (default: the run's own --data-root)")
    parser.add_argument("--name", help="bundle name shown in the viewer (default: the --out folder's name)")
    parser.add_argument("--force", action="store_true", help="replace an existing bundle at --out")
    try:
        args = parser.parse_args(argv)
        meta = export(args.run_dir, args.out, args.data_root, args.name, args.force)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"wrote {args.out} (latent dim {meta['latent_dim']}, test MSE {meta['test_mse']:.5f}); "
        f"view it with: python -m viewer {args.out}"
    )
    return 0
