"""Export a run directory to a model bundle, checked against torch before anything is written.

    load_run -> run_test_split -> torch_to_onnx (export, parity) -> onnx_pair.build_bundle (measure, write)

The bundle contract (file names, tensor names and shapes, bundle.json keys) lives in viewer/bundle/:
the viewer reads bundles, so it owns the format, and this module only produces it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
from torch import nn

from export.onnx_pair import PAIR_COMMAND, build_bundle
from export.timeline import TIMELINE_SNAPSHOTS, timeline_builder
from export.torch_to_onnx import ExportError, torch_to_onnx
from latent_common.cli import ArgumentParser, command, int_in
from latent_common.data import DataOptions, Split, load_split
from latent_common.errors import printable, reason
from training.checkpoint import CHECKPOINT, CONFIG, METRICS, load_checkpoint, read_json
from training.download import torchvision_fetch
from training.evaluate import to_tensor
from training.model import Autoencoder, ModelConfig
from training.pca import baseline_mse
from viewer.bundle import BundleMeta, check_replaceable


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


def export(
    run_dir: Path,
    out: Path,
    data_root: str | None,
    name: str | None,
    force: bool,
    timeline: int = TIMELINE_SNAPSHOTS,
    timeline_weights: str = "float16",
) -> BundleMeta:
    """The run's model through torch_to_onnx, then measured and written like any ONNX pair; returns bundle.json.

    timeline: at most this many of the run's snapshots go into the bundle (export/timeline.py); 0: none."""
    check_replaceable(out, force)  # before minutes of work: --force replaces a bundle and nothing else
    torch.manual_seed(0)
    model, config = load_run(run_dir)
    test = run_test_split(model, config, data_root)
    baseline = pca_baseline(model, config, data_root, test)
    images = to_tensor(test.images, torch.device("cpu"))  # (M, C, H, W) in [0, 1]
    graphs = torch_to_onnx(Encoder(model).eval(), Decoder(model).eval(), images)
    metrics = read_json(run_dir / METRICS) if (run_dir / METRICS).is_file() else {}
    history = metrics.get("epochs", [])
    epochs_done = history[-1]["epoch"] if history else 0
    builder = timeline_builder(run_dir, epochs_done, test, timeline, timeline_weights) if epochs_done else None
    return build_bundle(
        graphs.encoder,
        graphs.decoder,
        test,
        out,
        force=force,
        dataset=config.get("dataset", "mnist"),
        name=name,
        model_config=dataclasses.asdict(model.config),
        train_config=config,
        training_history=metrics.get("epochs", []),
        training_precision=metrics.get("precision") or {},
        parity_max_abs_diff=graphs.parity,
        versions={"torch": torch.__version__},
        timeline=builder,
        pca_test_mse=baseline,
    )


def pca_baseline(model: Autoencoder, config: dict, data_root: str | None, test: Split) -> float | None:
    """PCA's test MSE at the model's latent size, fitted on the run's training images (--info shows it beside the
    model's); None for a pca run, which is its own baseline."""
    if model.config.kind == "pca":
        return None
    root, options = data_root or config["data_root"], DataOptions.from_config(config)
    train = load_split(config.get("dataset", "mnist"), root, "train", torchvision_fetch, options)
    return baseline_mse(train.images, test.images, model.config.latent_dim)


def run_test_split(model: Autoencoder, config: dict, data_root: str | None) -> Split:
    """The run's own held-out images, with its own data options: a folder without a test/ subfolder gives back
    the same held-out images as in training."""
    dataset = config.get("dataset", "mnist")
    root = data_root or config["data_root"]
    test = load_split(dataset, root, "test", torchvision_fetch, DataOptions.from_config(config))
    if tuple(test.images.shape[1:]) != tuple(model.config.image_shape):
        raise ExportError(
            f"--dataset {dataset}: its test images are {list(test.images.shape[1:])} but the run's model takes "
            f"{list(model.config.image_shape)} (channels, height, width); did the data change since training?"
        )
    return test


def main(argv: list[str] | None = None) -> int:
    return command(lambda: export_command(argv), "nothing was written; any earlier bundle is as it was")


def export_command(argv: list[str] | None) -> int:
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
    parser.add_argument(
        "--timeline",
        type=int_in(0, 1000),
        default=TIMELINE_SNAPSHOTS,
        help="carry at most this many of the run's snapshots, as the bundle's timeline (0: none)",
    )
    parser.add_argument(
        "--timeline-weights",
        choices=["float16", "float32"],
        default="float16",
        help="how the timeline's decoders store their weights (float16: half the size; they compute in float32)",
    )
    args = parser.parse_args(argv)
    meta = export(args.run_dir, args.out, args.data_root, args.name, args.force, args.timeline, args.timeline_weights)
    print(
        printable(
            f"wrote {args.out} (latent dim {meta.latent_dim}, test MSE {meta.test_mse:.5f}); "
            f"view it with: python -m viewer {args.out}"
        )
    )
    return 0
