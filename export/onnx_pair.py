"""Any encoder/decoder pair in ONNX -> a model bundle, with onnxruntime alone: no torch, any framework.

    python -m export --encoder ENC.onnx --decoder DEC.onnx --dataset SPEC [--data-root ROOT] --out BUNDLE
                     [--name NAME] [--kind ae|vae] [--test-fraction F] [--force]

The pair must keep the bundle contract (viewer/bundle/): the decoder maps `z` float32 [N, D] to `image`
float32 [N, C, H, W] in [0, 1], the encoder `image` back to `z`; C is 1 or 3, H and W 8 to 256, N dynamic.
Each break of it is one line naming the file, the input or output and what is wrong. The test split of
--dataset is converted to the pair's own size and channels (folder:, npz: and emoji; the IDX datasets must
already match), encoded and decoded with onnxruntime for the embedding, the test MSE and the k-NN accuracy.

Only numpy, onnxruntime and this project's torch-free modules are imported (`onnx`, when installed, adds
its checker and the opset to bundle.json), so a Keras or JAX user can run it beside the viewer.
`build_bundle` is every export path's second half, and the one place bundle.json is assembled: export.py and
from_torch.py hand it the graphs torch_to_onnx.py made.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from latent_common.cli import ArgumentParser, command
from latent_common.data import PICTURE_SOURCES, DataOptions, Split, load_split
from latent_common.errors import UserError, printable, reason
from latent_common.metrics import KNN_K, knn_accuracy
from viewer.bundle import (
    DECODER,
    EMBEDDING,
    ENCODER,
    MAX_IMAGE_SIDE,
    MIN_IMAGE_SIDE,
    BundleError,
    BundleMeta,
    check_model_io,
    check_no_external_data,
    check_replaceable,
    embedding_bytes,
    single_float,
    view_bounds,
    write_bundle,
)
from viewer.inference import TRIAL_LIMIT_S, TimedOut, bounded_run, session_options, too_slow

BATCH = 500  # images per onnxruntime call: big enough to amortise the call, small enough for 256x256 colour
RANGE_SLACK = 1e-3  # how far outside [0, 1] a decoded pixel may stray (float rounding of a sigmoid) before it's refused
ROLES = {"decoder": ("z", "image", 2, 4), "encoder": ("image", "z", 4, 2)}  # input, output and their ranks


class PairError(UserError):
    """An ONNX pair that breaks the bundle contract, or data it can't be measured on; nothing was written."""


@dataclass
class Pair:
    encoder: ort.InferenceSession
    decoder: ort.InferenceSession
    latent_dim: int
    image_shape: tuple[int, int, int]  # C, H, W
    files: dict[str, str]  # role -> the name errors use


def open_session(source: bytes | Path, file: str) -> ort.InferenceSession:
    if isinstance(source, Path):
        try:  # a regular file within MAX_ONNX_BYTES (a FIFO is named, not waited on), with no external data
            check_no_external_data(source)  # the viewer refuses graphs whose weights live in other files
        except BundleError as exc:
            raise PairError(str(exc)) from None
    options = session_options(capped=False)
    options.intra_op_num_threads = 0  # onnxruntime's default: all cores, for the batched export
    try:
        return ort.InferenceSession(
            source if isinstance(source, bytes) else str(source), options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime's own exception types: a protobuf, graph or operator it can't load
        raise PairError(f"{file}: onnxruntime cannot load it ({reason(exc)})") from None


def _check_signature(file: str, session: ort.InferenceSession, role: str) -> None:
    """One float32 input and one output, with the contract's names and ranks; the sizes come after."""
    for kind, args, name, rank in zip(
        ("input", "output"), (session.get_inputs(), session.get_outputs()), ROLES[role][:2], ROLES[role][2:]
    ):
        try:
            arg = single_float(file, args, role, kind, name)  # the bundle's own check, so the wording is one
        except BundleError as exc:
            raise PairError(str(exc)) from None
        if len(arg.shape) != rank:
            layout = "[N, D]" if rank == 2 else "[N, C, H, W]"
            raise PairError(f"{file}: {role} {kind} '{name}' has rank {len(arg.shape)}, expected {rank} {layout}")


def _static(dims: list) -> list[int | None]:
    return [d if isinstance(d, int) and d > 0 else None for d in dims]


def _run(
    session: ort.InferenceSession, file: str, role: str, value: np.ndarray, limit_s: float | None = None
) -> np.ndarray:
    """One run (limit_s: a trial, stopped past that many seconds); onnxruntime's logger stays silent."""
    try:
        return bounded_run(session, {ROLES[role][0]: value}, limit_s)[0]
    except TimedOut:
        raise PairError(too_slow(file, limit_s)) from None
    except Exception as exc:  # a graph that declares one shape and needs another, an operator that fails
        raise PairError(f"{file}: the {role} fails on a {list(value.shape)} input ({reason(exc)})") from None


def resolve_shapes(
    files: dict[str, str], encoder: ort.InferenceSession, decoder: ort.InferenceSession
) -> tuple[int, tuple]:
    """The latent size D and the image shape (C, H, W) the pair declares; where it leaves them symbolic,
    what the decoder actually draws for two zero latents."""
    latent = _static(decoder.get_inputs()[0].shape)[1] or _static(encoder.get_outputs()[0].shape)[1]
    if latent is None:
        raise PairError(
            f"{files['decoder']}: decoder input 'z' has no fixed size on axis 1 (the latent size D); declare it"
        )
    declared = _static(decoder.get_outputs()[0].shape)[1:]
    if None in declared:
        declared = _static(encoder.get_inputs()[0].shape)[1:]
    if None in declared:
        declared = list(
            _run(decoder, files["decoder"], "decoder", np.zeros((2, latent), np.float32), TRIAL_LIMIT_S).shape[1:]
        )
    channels, height, width = declared
    if channels not in (1, 3):
        raise PairError(
            f"{files['decoder']}: decoder output 'image' has {channels} channels on axis 1, "
            "expected 1 (grey) or 3 (RGB)"
        )
    if not (MIN_IMAGE_SIDE <= height <= MAX_IMAGE_SIDE and MIN_IMAGE_SIDE <= width <= MAX_IMAGE_SIDE):
        raise PairError(
            f"{files['decoder']}: decoder output 'image' is {height}x{width} pixels (axes 2, 3); "
            f"the viewer takes {MIN_IMAGE_SIDE} to {MAX_IMAGE_SIDE} a side"
        )
    return latent, (channels, height, width)


def load_pair(encoder: bytes | Path, decoder: bytes | Path, files: dict[str, str] | None = None) -> Pair:
    """Open both graphs and check them against the contract and against each other: names, ranks, sizes."""
    files = files or {
        "encoder": str(encoder) if isinstance(encoder, Path) else ENCODER,
        "decoder": str(decoder) if isinstance(decoder, Path) else DECODER,
    }
    sessions = {"encoder": open_session(encoder, files["encoder"]), "decoder": open_session(decoder, files["decoder"])}
    for role, session in sessions.items():
        _check_signature(files[role], session, role)
    latent_dim, image_shape = resolve_shapes(files, sessions["encoder"], sessions["decoder"])
    for role, session in sessions.items():  # the declared sizes, against the pair's: C, H, W and D must agree
        try:
            check_model_io(Path(files[role]), session, role, latent_dim, image_shape)
        except UserError as exc:
            raise PairError(str(exc)) from None
    pair = Pair(sessions["encoder"], sessions["decoder"], latent_dim, image_shape, files)
    _check_outputs(pair)
    return pair


def _check_outputs(pair: Pair) -> None:
    """What the graphs really return for a batch of two, against what they declare."""
    drawn = _run(
        pair.decoder, pair.files["decoder"], "decoder", np.zeros((2, pair.latent_dim), np.float32), TRIAL_LIMIT_S
    )
    if drawn.shape != (2, *pair.image_shape):
        raise PairError(
            f"{pair.files['decoder']}: decoder output 'image' came out {list(drawn.shape)} for 2 latents, "
            f"expected {[2, *pair.image_shape]}"
        )
    z = _run(
        pair.encoder, pair.files["encoder"], "encoder", np.zeros((2, *pair.image_shape), np.float32), TRIAL_LIMIT_S
    )
    if z.shape != (2, pair.latent_dim):
        raise PairError(
            f"{pair.files['encoder']}: encoder output 'z' came out {list(z.shape)} for 2 images, "
            f"expected [2, {pair.latent_dim}]"
        )


@dataclass
class Measures:
    z: np.ndarray  # (M, D) float32
    test_mse: float  # mean per-pixel squared error, pixels in [0, 1]
    knn_accuracy: float
    errors: np.ndarray  # (M,) float32: each image's mean squared error after encode -> decode (the anomaly view)


def measure(pair: Pair, images: np.ndarray, labels: np.ndarray) -> Measures:
    """Encode the test images (uint8 (M, C, H, W)) and decode their latents, in batches, with onnxruntime."""
    latents, errors, squared, low, high = [], [], 0.0, np.inf, -np.inf
    for start in range(0, len(images), BATCH):
        batch = images[start : start + BATCH].astype(np.float32) / 255.0  # (B, C, H, W) in [0, 1]
        z = _run(pair.encoder, pair.files["encoder"], "encoder", batch)
        if not np.isfinite(z).all():
            raise PairError(
                f"{pair.files['encoder']}: encoder output 'z' holds NaN or Inf "
                f"for test images {start}-{start + len(batch) - 1}"
            )
        drawn = _run(pair.decoder, pair.files["decoder"], "decoder", z)
        if not np.isfinite(drawn).all():
            raise PairError(f"{pair.files['decoder']}: decoder output 'image' holds NaN or Inf")
        per_pixel = (drawn.astype(np.float64) - batch) ** 2
        squared += float(per_pixel.sum())
        errors.append(per_pixel.reshape(len(batch), -1).mean(axis=1).astype(np.float32))
        low, high = min(low, float(drawn.min())), max(high, float(drawn.max()))
        latents.append(z.astype(np.float32))
    if low < -RANGE_SLACK or high > 1 + RANGE_SLACK:
        raise PairError(
            f"{pair.files['decoder']}: decoder output 'image' ranges from {low:.3g} to {high:.3g} on the test images; "
            f"the contract is [0, 1] (end the decoder with a sigmoid, or rescale it)"
        )
    z = np.concatenate(latents)
    return Measures(z, squared / images.size, knn_accuracy(z, labels), np.concatenate(errors))


def graph_versions(sources: list[bytes | Path]) -> dict[str, Any]:
    """onnxruntime's version, and onnx's and the graphs' opset when onnx is installed (it runs its checker too)."""
    versions: dict[str, Any] = {"onnxruntime": ort.__version__}
    try:
        import onnx
    except ImportError:
        return versions
    opsets = set()
    for source in sources:
        model = (
            onnx.load_from_string(source)
            if isinstance(source, bytes)
            else onnx.load(str(source), load_external_data=False)
        )
        try:
            onnx.checker.check_model(model)
        except onnx.checker.ValidationError as exc:
            print(f"warning: onnx.checker: {reason(exc, 160)}", file=sys.stderr)
        opsets |= {entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx")}
    versions["onnx"] = onnx.__version__
    if len(opsets) == 1:
        versions["opset"] = opsets.pop()
    return versions


def build_bundle(
    encoder: bytes | Path,
    decoder: bytes | Path,
    test: Split,
    out: Path,
    *,
    dataset: str,
    force: bool = False,
    pair: Pair | None = None,
    name: str | None = None,
    model_config: dict[str, Any] | None = None,
    versions: dict[str, Any] | None = None,
    timeline: Callable[[np.ndarray, float], tuple[dict[str, bytes], Any]] | None = None,
    **known: Any,
) -> BundleMeta:
    """Measure the pair on the test split and write the bundle at out: the one place a bundle.json is assembled.

    model_config: at least the kind (default "ae"); versions: added to the graphs' own; known: any other BundleMeta
    field the caller knows (a training run's train_config, torch's parity_max_abs_diff, ...), passed on as it is;
    timeline: called with the measured latents and test MSE, gives the timeline's files and record
    (export/timeline.py). Returns the record written."""
    pair = pair or load_pair(encoder, decoder)
    if tuple(test.images.shape[1:]) != pair.image_shape:
        raise PairError(
            f"--dataset {dataset}: its test images are {list(test.images.shape[1:])} (C, H, W) but the "
            f"pair takes {list(pair.image_shape)}"
        )
    measures = measure(pair, test.images, test.labels)
    print(
        f"encoded {len(measures.z)} test images; test MSE {measures.test_mse:.5f}, "
        f"latent {KNN_K}-NN accuracy {measures.knn_accuracy:.3f}",
        file=sys.stderr,
    )
    shape = {"kind": "ae", "latent_dim": pair.latent_dim, "image_shape": list(pair.image_shape)}
    meta = BundleMeta(
        **known,
        name=name or out.name,
        dataset=dataset,
        class_names=test.class_names or [str(i) for i in range(int(test.labels.max()) + 1)],
        latent_dim=pair.latent_dim,
        image_shape=list(pair.image_shape),
        latent_bounds=view_bounds(measures.z),
        test_mse=measures.test_mse,
        knn_accuracy=measures.knn_accuracy,
        knn_k=KNN_K,
        model_config=shape | (model_config or {}),  # the caller's kind; a training run's whole config
        versions=graph_versions([encoder, decoder]) | (versions or {}),
        preprocess=test.preprocess or {},
        notice=test.notice,
    )
    files = {
        ENCODER: encoder,
        DECODER: decoder,
        EMBEDDING: embedding_bytes(measures.z, test.labels, test.images, measures.errors),
    }
    if timeline is not None:
        extra, info = timeline(measures.z, measures.test_mse)
        files |= extra
        meta = dataclasses.replace(meta, timeline=info)
    return write_bundle(out, files, meta, force=force)


def held_out_images(dataset: str, root: str, pair: Pair, test_fraction: float) -> Split:
    """The dataset's test split in the pair's shape: pictures converted to its size and channels."""
    if dataset == "emoji" or dataset.startswith(PICTURE_SOURCES):
        channels, height, width = pair.image_shape
        options = DataOptions(size=(height, width), channels=channels, test_fraction=test_fraction)
    else:
        options = DataOptions(test_fraction=test_fraction)  # the IDX datasets are what they are: 1x28x28
    return load_split(dataset, root, "test", options=options)  # no download: this path runs without torchvision


PAIR_COMMAND = "python -m export --encoder ENC.onnx --decoder DEC.onnx --dataset SPEC --out BUNDLE"  # the usage


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="python -m export --encoder ENC.onnx --decoder DEC.onnx",
        description="Turn your own encoder/decoder pair in ONNX (from any framework) into a model bundle; "
        "no torch needed.",
    )
    parser.add_argument("--encoder", type=Path, required=True, help="image [N, C, H, W] float32 in [0, 1] -> z [N, D]")
    parser.add_argument("--decoder", type=Path, required=True, help="z [N, D] float32 -> image [N, C, H, W] in [0, 1]")
    parser.add_argument(
        "--dataset",
        required=True,
        help="the images to embed: folder:DIR, npz:FILE, emoji, mnist, fashion-mnist or idx:DIR",
    )
    parser.add_argument("--data-root", default="data", help="folder holding MNIST/raw/ or emoji-google/")
    parser.add_argument("--out", type=Path, required=True, help="bundle folder to write")
    parser.add_argument("--name", help="bundle name shown in the viewer (default: the --out folder's name)")
    parser.add_argument(
        "--kind", choices=["ae", "vae"], default="ae", help="vae: the viewer's P key samples the prior N(0, I)"
    )
    parser.add_argument(
        "--test-fraction",
        type=float,
        default=0.1,
        help="share of each class held out, when the data names no test split",
    )
    parser.add_argument("--force", action="store_true", help="replace an existing bundle at --out")
    return parser


def main(argv: list[str] | None = None) -> int:
    return command(lambda: pair_command(argv), "nothing was written; any earlier bundle is as it was")


def pair_command(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    check_replaceable(args.out, args.force)  # before any work
    files = {"encoder": str(args.encoder), "decoder": str(args.decoder)}
    pair = load_pair(args.encoder, args.decoder, files)
    test = held_out_images(args.dataset, args.data_root, pair, args.test_fraction)
    meta = build_bundle(
        args.encoder,
        args.decoder,
        test,
        args.out,
        force=args.force,
        pair=pair,
        dataset=args.dataset,
        name=args.name,
        model_config={"kind": args.kind},
    )
    shape = "x".join(map(str, meta.image_shape))
    print(
        printable(
            f"wrote {args.out} (latent dim {meta.latent_dim}, images {shape}, test MSE {meta.test_mse:.5f}); "
            f"view it with: python -m viewer {args.out}"
        )
    )
    return 0
