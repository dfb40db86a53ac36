"""Bring your own model: an ONNX pair from any framework (no torch on that path), or PyTorch modules via from_torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from export import onnx_pair
from export.from_torch import from_torch
from tests.helpers import ROOT, assert_one_line_error, run_module
from viewer.bundle import load_bundle

VIEWER_PYTHON = ROOT / ".venv-viewer" / "bin" / "python"
SHAPE = (3, 16, 16)
LATENT = 2


def graph(in_name, in_shape, out_name, out_shape, weight: np.ndarray, sigmoid: bool = True) -> onnx.ModelProto:
    """input -> flatten -> matmul (-> sigmoid) -> reshape: a one-layer graph with chosen names and shapes."""
    nodes = [
        helper.make_node("Flatten", [in_name], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "w"], ["mm"]),
        helper.make_node("Sigmoid" if sigmoid else "Identity", ["mm"], ["act"]),
        helper.make_node("Reshape", ["act", "shape"], [out_name]),
    ]
    target = np.array([-1, *[n if isinstance(n, int) else -1 for n in out_shape[1:]]], np.int64)
    graph_proto = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info(in_name, TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, out_shape)],
        initializer=[numpy_helper.from_array(weight.astype(np.float32), "w"), numpy_helper.from_array(target, "shape")],
    )  # fmt: skip
    return helper.make_model(graph_proto, opset_imports=[helper.make_opsetid("", 18)])


def weights(rows: int, cols: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.05, (rows, cols))


def write_pair(
    folder: Path, encoder: onnx.ModelProto | None = None, decoder: onnx.ModelProto | None = None
) -> list[str]:
    """A valid dense pair for SHAPE images (replace either graph to break it); returns the CLI's file flags."""
    pixels = int(np.prod(SHAPE))
    encoder = encoder or graph("image", ["N", *SHAPE], "z", ["N", LATENT], weights(pixels, LATENT, 0), sigmoid=False)
    decoder = decoder or graph("z", ["N", LATENT], "image", ["N", *SHAPE], weights(LATENT, pixels, 1))
    folder.mkdir(parents=True, exist_ok=True)
    onnx.save(encoder, folder / "enc.onnx")
    onnx.save(decoder, folder / "dec.onnx")
    return ["--encoder", str(folder / "enc.onnx"), "--decoder", str(folder / "dec.onnx")]


def test_an_onnx_pair_becomes_a_bundle_without_torch(picture_folder: Path, tmp_path: Path):
    """The real `python -m export`, with torch and torchvision made unimportable in the process."""
    out = tmp_path / "bundle"
    args = [
        *write_pair(tmp_path / "pair"),
        "--dataset",
        f"folder:{picture_folder}",
        "--out",
        str(out),
        "--test-fraction",
        "0.25",
    ]
    blocker = (
        "import runpy, sys; sys.modules['torch'] = sys.modules['torchvision'] = None; "
        f"sys.argv = ['export', *{args!r}]; runpy.run_module('export', run_name='__main__', alter_sys=True)"
    )
    result = subprocess.run([sys.executable, "-c", blocker], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    bundle = load_bundle(out, strict=True)
    meta = json.loads((out / "bundle.json").read_text())
    assert meta["format_version"] == 2 and meta["image_shape"] == list(SHAPE) and bundle.z.shape == (9, LATENT)
    assert meta["preprocess"]["size"] == [16, 16] and "torch" not in meta["versions"]
    # An independent reference: the encoder is one matmul, so numpy gives the embedding directly.
    x = bundle.images.reshape(len(bundle.images), -1).astype(np.float32) / 255
    np.testing.assert_allclose(bundle.z, x @ weights(x.shape[1], LATENT, 0).astype(np.float32), atol=1e-5)
    viewed = run_module("viewer", str(out), "--headless", "--frames", "3", "--fps", "0", "--strict")
    assert viewed.returncode == 0, viewed.stderr


def test_the_pair_path_imports_no_training_module_and_no_torch():
    """Where torch is installed too: importing the pair path loads none of it, nor onnx or any training module."""
    code = (
        "import sys, export.onnx_pair; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision', 'training', 'onnx')))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.skipif(not VIEWER_PYTHON.exists(), reason="no .venv-viewer (make install-viewer)")
def test_the_onnx_path_runs_with_the_viewers_dependencies_alone(tmp_path: Path):
    """.venv-viewer has numpy, onnxruntime, pygame-ce and Pillow: no torch, no onnx. An npz: dataset needs neither."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (40, 16, 16, 3), dtype=np.uint8)
    np.savez(tmp_path / "data.npz", images=images, labels=np.arange(40) % 4)
    out = tmp_path / "bundle"
    args = [*write_pair(tmp_path / "pair"), "--dataset", f"npz:{tmp_path / 'data.npz'}", "--out", str(out)]
    result = run_module("export", *args, "--test-fraction", "0.5", python=str(VIEWER_PYTHON))
    assert result.returncode == 0, result.stderr
    assert load_bundle(out).images.shape == (20, *SHAPE)


def image_graph(out_shape, in_name="z", out_name="image", sigmoid=True):
    return graph(in_name, ["N", LATENT], out_name, out_shape, weights(LATENT, int(np.prod(out_shape[1:])), 1), sigmoid)


BAD_PAIRS = {
    "decoder input name": (
        {"decoder": image_graph(["N", *SHAPE], in_name="latent")},
        ["dec.onnx", "decoder input is named 'latent', expected 'z'"],
    ),
    "encoder output name": (
        {"encoder": graph("image", ["N", *SHAPE], "code", ["N", LATENT], weights(768, LATENT, 0))},
        ["enc.onnx", "encoder output is named 'code', expected 'z'"],
    ),
    "decoder rank": ({"decoder": image_graph(["N", 768])}, ["dec.onnx", "rank 2, expected 4 [N, C, H, W]"]),
    "channels": (
        {"decoder": image_graph(["N", 2, 16, 16])},
        ["dec.onnx", "2 channels", "expected 1 (grey) or 3 (RGB)"],
    ),
    "size": ({"decoder": image_graph(["N", 3, 300, 4])}, ["dec.onnx", "300x4 pixels", "8 to 256"]),
    "encoder channels": (
        {"encoder": graph("image", ["N", 1, 16, 16], "z", ["N", LATENT], weights(256, LATENT, 0))},
        ["enc.onnx", "encoder input 'image' has size 1 on axis 1, expected 3"],
    ),
    "encoder size": (
        {"encoder": graph("image", ["N", 3, 8, 8], "z", ["N", LATENT], weights(192, LATENT, 0))},
        ["enc.onnx", "size 8 on axis 2, expected 16"],
    ),
    "fixed batch": ({"decoder": image_graph([1, *SHAPE])}, ["dec.onnx", "fixed batch size"]),
    "range": ({"decoder": image_graph(["N", *SHAPE], sigmoid=False)}, ["dec.onnx", "ranges from", "[0, 1]"]),
}


@pytest.mark.parametrize("case", BAD_PAIRS)
def test_a_bad_pair_is_one_line_and_exit_2(case, picture_folder: Path, tmp_path: Path, capsys):
    graphs, fragments = BAD_PAIRS[case]
    if case == "range":  # large weights push a plain matmul far outside [0, 1]
        graphs = {
            "decoder": graph("z", ["N", LATENT], "image", ["N", *SHAPE], weights(LATENT, 768, 1) * 1e4, sigmoid=False)
        }
    args = [
        *write_pair(tmp_path / "pair", **graphs),
        "--dataset",
        f"folder:{picture_folder}",
        "--out",
        str(tmp_path / "b"),
    ]
    assert onnx_pair.main([*args, "--test-fraction", "0.25"]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert not (tmp_path / "b").exists()


def test_the_cli_dispatches_and_refuses_a_pair_that_does_not_fit_the_data(tiny_root: Path, tmp_path: Path):
    args = [
        *write_pair(tmp_path / "pair"),
        "--dataset",
        "mnist",
        "--data-root",
        str(tiny_root),
        "--out",
        str(tmp_path / "b"),
    ]
    assert_one_line_error(run_module("export", *args), "[1, 28, 28]", "[3, 16, 16]")
    assert_one_line_error(
        run_module("export", "--encoder", str(tmp_path / "none.onnx"), *args[2:]), "none.onnx", "no such file"
    )
    (tmp_path / "junk.onnx").write_bytes(b"not onnx")
    assert_one_line_error(run_module("export", "--encoder", str(tmp_path / "junk.onnx"), *args[2:]), "junk.onnx")


# from_torch


class TinyEncoder(nn.Module):
    """A small VAE-style encoder defined here, not in training/: image -> (mean, logvar)."""

    def __init__(self, latent: int = 3):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.head = nn.Linear(4 * 8 * 8, 2 * latent)

    def forward(self, image):
        out = self.head(torch.relu(self.conv(image)).flatten(1))
        return out.chunk(2, dim=1)


class TinyDecoder(nn.Module):
    def __init__(self, latent: int = 3):
        super().__init__()
        self.body = nn.Linear(latent, 3 * 16 * 16)

    def forward(self, z):
        return torch.sigmoid(self.body(z)).unflatten(1, (3, 16, 16))


def test_from_torch_exports_checks_parity_and_writes_a_bundle(tmp_path: Path):
    torch.manual_seed(0)
    encoder, decoder = TinyEncoder(), TinyDecoder()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (30, 3, 16, 16), dtype=np.uint8)
    labels = np.arange(30) % 3
    meta = from_torch(encoder, decoder, images, labels, tmp_path / "mine", class_names=["a", "b", "c"], kind="vae")
    bundle = load_bundle(tmp_path / "mine", strict=True)
    assert bundle.kind == "vae" and bundle.class_names == ["a", "b", "c"] and bundle.images.shape == (30, 3, 16, 16)
    assert meta.parity_max_abs_diff["decoder"] <= 1e-5 and "torch" in meta.versions
    with torch.inference_mode():
        mean = encoder(torch.from_numpy(images).float() / 255)[0].numpy()
    np.testing.assert_allclose(bundle.z, mean, atol=1e-5)  # the posterior mean, from onnxruntime
    # Floats in [0, 1] are stored as the uint8 they round to.
    from_torch(encoder, decoder, images / 255.0, labels, tmp_path / "floats")
    np.testing.assert_array_equal(load_bundle(tmp_path / "floats").images, images)


def test_from_torch_refuses_bad_images_before_any_work(tmp_path: Path):
    from export.export import ExportError

    with pytest.raises(ExportError, match="expected \\(M, C, H, W\\)"):
        from_torch(TinyEncoder(), TinyDecoder(), np.zeros((4, 16, 16), np.uint8), np.zeros(4, int), tmp_path / "x")
    with pytest.raises(ExportError, match="has no name"):
        from_torch(
            TinyEncoder(),
            TinyDecoder(),
            np.zeros((4, 3, 16, 16), np.uint8),
            np.arange(4),
            tmp_path / "x",
            class_names=["a"],
        )
    assert not (tmp_path / "x").exists()
