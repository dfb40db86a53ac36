"""Training configuration: one dataclass, the command-line flags generated from it, and their checks.

Every flag is checked here, before any data is read or any file written: a value outside the range its
`--help` states is one `error:` line and exit status 2, never a crash an epoch later or a silent change.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from latent_common.cli import ArgumentParser
from latent_common.data import check_dataset
from latent_common.errors import UserError, printable

MAX_LATENT_DIM = 1024  # the bundle format's ceiling (viewer/bundle.py MAX_LATENT_DIM); a test keeps them equal
MAX_LAYERS, MAX_WIDTH = 16, 65_536


class ConfigError(UserError):
    """A flag the user gave that is malformed or out of its stated range."""


@dataclass
class TrainConfig:
    data_root: str = field(
        default="data",
        metadata={"help": "folder holding MNIST/raw/, FashionMNIST/raw/ (torchvision layout) or emoji-google/"},
    )
    dataset: str = field(
        default="mnist",
        metadata={
            "help": "mnist, fashion-mnist, emoji (make data-emoji), idx:DIR (four IDX files with MNIST's names), "
            "folder:DIR (one subfolder of pictures per class; DIR/train/ and DIR/test/ if split) or npz:FILE "
            "(arrays images, labels, optional class_names and test_index or split)"
        },
    )
    # Pictures (folder:, npz:, emoji) only; the IDX datasets are 1x28x28.
    image_size: int = field(
        default=0,
        metadata={
            "help": "resize pictures to NxN (area average down, bilinear up, padded to square with the background); "
            "0: their own size, when they all share one",
            "range": (0, 256),
        },
    )
    channels: int = field(
        default=0,
        metadata={"help": "1: grey, 3: RGB; 0: RGB when any picture has colour", "choices": [0, 1, 3]},
    )
    test_fraction: float = field(
        default=0.1,
        metadata={
            "help": "share of each class held out for testing, seeded, when the data names no test split",
            "range": (0.01, 0.9),
        },
    )
    run_dir: str = field(default="runs/mnist-ae", metadata={"help": "where the checkpoint, config and metrics go"})
    model: str = field(
        default="ae",
        metadata={
            "help": "ae: the seed's dense autoencoder; vae: variational; conv-*: convolutional; "
            "pca: the linear baseline (closed form, seconds)",
            "choices": ["ae", "vae", "conv-ae", "conv-vae", "pca"],
        },
    )
    # With the loss as per-pixel MSE, beta = 1 would be a Gaussian likelihood with variance 0.5: far too
    # loose for pixels in [0, 1]; 0.01 keeps the reconstructions sharp and still fills the latent space.
    beta: float = field(
        default=0.01,
        metadata={"help": "a VAE's KL weight (per pixel, against the per-pixel MSE)", "range": (0.0, 1e6)},
    )
    latent_dim: int = field(default=2, metadata={"help": "size of the latent space", "range": (1, MAX_LATENT_DIM)})
    hidden: str = field(
        default="512,128,64",
        metadata={
            "help": f"dense encoder layer widths, mirrored by the decoder (ae, vae); 1 to {MAX_LAYERS} "
            f"comma-separated widths from 1 to {MAX_WIDTH}"
        },
    )
    # The recipe (ae on MNIST, bf16 on an AMX CPU; trials in the README): 30 one-cycle epochs end at test MSE
    # 0.0340, below the shipped model's 0.0344 (first reached at epoch 15), and pass the seed setup's 0.0375
    # at epoch 4. (Before Adam's beta2 and the weight average below, 10 epochs stopped at 0.0368.)
    epochs: int = field(default=30, metadata={"help": "passes over the training set", "range": (1, 100_000)})
    # Bigger batches make bf16 epochs cheaper (1.8 s at 256, 1.3 s at 512, 1.0 s at 1,024 on one core), but
    # fewer steps an epoch: 12 epochs at 512 ended at 0.0377, 15 at 1,024 at 0.0374. 256 is the seed's.
    batch_size: int = field(
        default=256, metadata={"help": "images per optimiser step (all processes together)", "range": (1, 1 << 20)}
    )
    # Adam's step is about lr whatever the gradient's size, so lr > 1 moves a weight by more than its scale.
    # 4e-3: 30 epochs ended at 0.0341 (2e-3: 0.0344) and crossed 0.0375 at epoch 12 (2e-3: 0.0377 at 13), both
    # with Adam's own beta2 and no average; with them, 5e-3 and 3e-3 crossed later than 4e-3 (one trial each).
    lr: float = field(
        default=4e-3, metadata={"help": "peak learning rate of the one-cycle schedule", "range": (1e-9, 1.0)}
    )
    # One-cycle (Smith & Topin, 2017, arXiv:1708.07120): warm up to lr, then anneal far below it; the
    # annealing is where the test MSE falls below what any constant lr reaches.
    schedule: str = field(
        default="onecycle", metadata={"help": "learning-rate schedule", "choices": ["onecycle", "constant"]}
    )
    # torch's one-cycle default warms up for 30% of the run (9 of 30 epochs below the peak lr); with Adam's
    # beta2 0.95 and the weight average below, 3% (one epoch) reached the seed setup's test MSE at epoch 4,
    # 5% at 5, 10% at 7 (bf16, AMX Xeon; trials in the README).
    warmup: float = field(
        default=0.03, metadata={"help": "share of the one-cycle schedule spent warming up to lr", "range": (0.01, 0.99)}
    )
    # Adam's second-moment decay: 0.999 (Adam's default) adapts each weight's step size over ~1,000 steps, a
    # seventh of the run; 0.95 (~20 steps) reached the seed setup's test MSE two epochs sooner (trials: README).
    adam_beta2: float = field(
        default=0.95, metadata={"help": "Adam's second-moment decay (Adam's own: 0.999)", "range": (0.0, 0.9999)}
    )
    # What is evaluated, checkpointed and exported is an exponential moving average of the weights (Polyak
    # averaging; Izmailov et al., 2018, arXiv:1803.05407): it averages out the step noise of a high learning rate,
    # so the test MSE falls as if the rate were already annealed (0.98 averages over ~50 steps).
    ema: float = field(
        default=0.98,
        metadata={
            "help": "decay of the moving average of the weights that is evaluated and exported; 0: the last step's",
            "range": (0.0, 0.9999),
        },
    )
    seed: int = field(
        default=0,
        metadata={"help": "seeds weights and shuffling; same seed, same weights on CPU", "range": (0, 2**32 - 1)},
    )
    device: str = field(default="auto", metadata={"help": "where to train", "choices": ["auto", "cpu", "cuda"]})
    # bf16 autocast is ~2x faster than fp32 on a CPU with AMX and 60x slower on one with only AVX2: auto
    # measures instead of guessing (training/precision.py). What was used is in config.json and metrics.json.
    precision: str = field(
        default="auto",
        metadata={
            "help": "arithmetic: bf16 (autocast, fp32 weights) or fp32; auto: bf16 on CUDA, and on a CPU where a "
            "0.1 s matmul probe finds bf16 clearly faster (AMX), else fp32; on --resume, auto keeps the run's own",
            "choices": ["auto", "fp32", "bf16"],
        },
    )
    train_limit: int = field(
        default=0,
        metadata={"help": "use only the first N training images (0: all); for quick runs", "range": (0, 10**9)},
    )
    # Snapshots of the latent space as it forms (training/snapshots.py): export makes them the bundle's timeline.
    no_snapshots: bool = field(
        default=False, metadata={"help": "keep no snapshots of the latent space as it trains (RUN_DIR/snapshots/)"}
    )
    resume: bool = field(default=False, metadata={"help": "continue the run in --run-dir from its last checkpoint"})
    overwrite: bool = field(
        default=False, metadata={"help": "start afresh even if --run-dir holds a run (replaced epoch by epoch)"}
    )

    @property
    def hidden_sizes(self) -> tuple[int, ...]:
        return parse_hidden(self.hidden)

    @property
    def run_path(self) -> Path:
        return Path(self.run_dir)


def parse_hidden(text: str) -> tuple[int, ...]:
    """'512,128,64' -> (512, 128, 64); anything else is a ConfigError naming the flag."""
    try:
        widths = tuple(int(width) for width in text.split(","))
    except ValueError:
        widths = ()
    if not 1 <= len(widths) <= MAX_LAYERS or not all(1 <= width <= MAX_WIDTH for width in widths):
        raise ConfigError(
            f"--hidden {printable(text, 60)!r}: expected 1 to {MAX_LAYERS} comma-separated widths "
            f"from 1 to {MAX_WIDTH}, e.g. 512,128,64"
        )
    return widths


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def range_text(low, high) -> str:
    return f"{low:g} to {high:g}" if isinstance(low, float) else f"{low} to {high}"


def validate(config: TrainConfig) -> TrainConfig:
    """Check every field against its stated range (NaN is in no range); returns config, or raises ConfigError."""
    for f in dataclasses.fields(TrainConfig):
        value = getattr(config, f.name)
        if "range" in f.metadata:
            low, high = f.metadata["range"]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
                raise ConfigError(f"{flag(f.name)} {value}: must be {range_text(low, high)}")
        if "choices" in f.metadata and value not in f.metadata["choices"]:
            raise ConfigError(f"{flag(f.name)} {value}: expected one of {', '.join(map(str, f.metadata['choices']))}")
        if isinstance(value, str) and ("\0" in value or (f.name in ("data_root", "run_dir") and not value)):
            raise ConfigError(f"{flag(f.name)} {printable(value, 60)!r}: expected a non-empty path without NUL bytes")
    parse_hidden(config.hidden)
    check_dataset(config.dataset)
    return config


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="python -m training",
        description="Train an autoencoder on MNIST or your own pictures and write a run directory "
        "that `python -m export` turns into a bundle.",
    )
    for f in dataclasses.fields(TrainConfig):
        if f.type in ("bool", bool):
            parser.add_argument(flag(f.name), action="store_true", help=f.metadata["help"])
            continue
        kind = {"int": int, "float": float, "str": str}[f.type if isinstance(f.type, str) else f.type.__name__]
        help_text = f.metadata["help"]
        if "range" in f.metadata:
            help_text += f"; {range_text(*f.metadata['range'])}"
        parser.add_argument(
            flag(f.name), type=kind, default=f.default, help=help_text, choices=f.metadata.get("choices")
        )
    return parser


def parse_config(argv: list[str] | None = None) -> TrainConfig:
    args = build_parser().parse_args(argv)
    return validate(TrainConfig(**vars(args)))
