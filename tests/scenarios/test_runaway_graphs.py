"""A decoder that never returns, or eats all memory, is refused in one line; onnxruntime's logger stays silent.

viewer/inference.py holds the one mechanism: `bounded_run` stops a trial run from a timer thread
(RunOptions.terminate), and every viewer session allocates from one arena capped at ARENA_LIMIT_BYTES.
Warm-up, `--info` and the ONNX-pair export each run such a trial. Graphs are built with the `onnx` package.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, save

from export import onnx_pair
from tests.helpers import ROOT
from viewer import catalog, inference
from viewer.bundle import DECODER, ENCODER
from viewer.inference import CPU, ModelRunError, OnnxModel, bounded_run, session_options
from viewer.manifold import MapJob

ESCAPE_NAME = "loop\x1b]2;pwned\x07\x1b[31m"  # a node name that would retitle the terminal and colour it red


def decoder_graph(path: Path, middle: list, value: str, latent_dim: int = 2) -> Path:
    """z [N, 2] -> image [N, 1, 28, 28]: sigmoid(value of shape (N, 1) times a constant tile); middle makes value."""
    z = helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", latent_dim])
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 28, 28])
    const = helper.make_tensor
    nodes = [
        helper.make_node("ReduceSum", ["z"], ["s0"], keepdims=1),  # (N, 1)
        *middle,
        helper.make_node("Constant", [], ["to4"], value=const("to4", TensorProto.INT64, [4], [-1, 1, 1, 1])),
        helper.make_node("Reshape", [value, "to4"], ["s4"]),
        helper.make_node("Constant", [], ["tile"], value=const("tile", TensorProto.FLOAT, [1, 1, 28, 28], [0.5] * 784)),
        helper.make_node("Mul", ["s4", "tile"], ["m"]),
        helper.make_node("Sigmoid", ["m"], ["image"]),
    ]
    model = helper.make_model(helper.make_graph(nodes, "g", [z], [image]), opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    save(model, path)
    return path


def endless_loop(path: Path, latent_dim: int = 2) -> Path:
    types = TensorProto
    body = helper.make_graph(
        [helper.make_node("Identity", ["c_in"], ["c_out"]), helper.make_node("Identity", ["v_in"], ["v_out"])],
        "body",
        [
            helper.make_tensor_value_info("i", types.INT64, []),
            helper.make_tensor_value_info("c_in", types.BOOL, []),
            helper.make_tensor_value_info("v_in", types.FLOAT, ["N", 1]),
        ],
        [
            helper.make_tensor_value_info("c_out", types.BOOL, []),
            helper.make_tensor_value_info("v_out", types.FLOAT, ["N", 1]),
        ],
    )
    middle = [
        helper.make_node("Constant", [], ["trips"], value=helper.make_tensor("t", types.INT64, [], [2**62])),
        helper.make_node("Constant", [], ["go"], value=helper.make_tensor("g", types.BOOL, [], [True])),
        helper.make_node("Loop", ["trips", "go", "s0"], ["s"], body=body, name=ESCAPE_NAME),
    ]
    return decoder_graph(path, middle, "s", latent_dim)


def huge_constant(path: Path, count: int) -> Path:
    """A ConstantOfShape of count * N floats: its shape depends on the input, so nothing folds it at load."""
    types = TensorProto
    middle = [
        helper.make_node("Shape", ["z"], ["zs"]),
        helper.make_node("ReduceProd", ["zs"], ["zp"], keepdims=1),
        helper.make_node("Constant", [], ["n"], value=helper.make_tensor("n", types.INT64, [1], [count])),
        helper.make_node("Mul", ["zp", "n"], ["big_shape"]),
        helper.make_node(
            "ConstantOfShape", ["big_shape"], ["big"], value=helper.make_tensor("v", types.FLOAT, [1], [0.0])
        ),
        helper.make_node("ReduceMax", ["big"], ["top"], keepdims=0),
        helper.make_node("Add", ["s0", "top"], ["s"]),
    ]
    return decoder_graph(path, middle, "s")


@pytest.fixture
def short_trials(monkeypatch):
    monkeypatch.setattr(inference, "TRIAL_LIMIT_S", 0.3)


def test_an_endless_loop_is_stopped_at_warm_up(tmp_path: Path, short_trials):
    model = OnnxModel(endless_loop(tmp_path / "d.onnx"), "decoder", 2, (1, 28, 28), [CPU])
    started = time.perf_counter()
    with pytest.raises(ModelRunError, match="took over 0.3 s and was stopped") as caught:
        model.warm_up(np.zeros((1, 2), np.float32))
    assert time.perf_counter() - started < 5
    assert "\x1b" not in str(caught.value) and "\n" not in str(caught.value)


def test_a_graph_past_the_memory_cap_is_refused_without_allocating_it(tmp_path: Path):
    count = inference.ARENA_LIMIT_BYTES // 4  # 1 GiB of floats for each latent of the batch
    session = ort.InferenceSession(str(huge_constant(tmp_path / "d.onnx", count)), session_options(), providers=[CPU])
    with pytest.raises(Exception, match="bfc_arena|Available memory|allocate") as caught:
        bounded_run(session, {"z": np.zeros((2, 2), np.float32)}, 5.0)
    assert inference.failed_run("d.onnx", caught.value).startswith("d.onnx needed more than 1024 MiB")


def test_info_and_the_pair_export_refuse_an_endless_loop(tmp_path: Path, short_trials, monkeypatch):
    bundle = tmp_path / "bundle"
    shutil.copytree(ROOT / "models" / "mnist-ae-8d", bundle)  # format 2: images [N, 1, 28, 28]
    endless_loop(bundle / DECODER, latent_dim=8)
    with pytest.raises(ModelRunError, match="was stopped"):
        catalog.info_lines(bundle)
    monkeypatch.setattr(onnx_pair, "TRIAL_LIMIT_S", 0.3)
    with pytest.raises(onnx_pair.PairError, match="was stopped"):
        onnx_pair.load_pair(bundle / ENCODER, bundle / DECODER)


def test_onnxruntime_logs_nothing_to_the_terminal(tmp_path: Path):
    """An unused initializer makes onnxruntime's default logger warn (with its name) at session creation."""
    path = endless_loop(tmp_path / "d.onnx")
    from onnx import load

    model = load(path)
    model.graph.initializer.append(helper.make_tensor("unused\x1b[2J", TensorProto.FLOAT, [1], [0.0]))
    save(model, path)
    code = (
        "import numpy as np, onnxruntime as ort; from viewer.inference import session_options, bounded_run;"
        f"s = ort.InferenceSession({str(path)!r}, session_options(), providers=['CPUExecutionProvider']);"
        "bounded_run(s, {'z': np.zeros((1, 2), np.float32)}, 0.3)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "\x1b" not in result.stderr and "unused" not in result.stderr, result.stderr
    assert "TimedOut" in result.stderr  # the script's own traceback: the only thing written


def test_the_map_measures_one_tile_before_it_batches():
    calls = []

    def slow(latents):
        calls.append(len(latents))
        time.sleep(0.01 * len(latents))
        return np.zeros((len(latents), 1, 28, 28), dtype=np.float32)

    job = MapJob(np.zeros((64 * 64, 2), dtype=np.float32), np.array([[0.0, 1.0], [0.0, 1.0]]), np.zeros(0))
    job.advance(slow, budget_s=0.008)
    assert calls == [1]  # once a whole row: 64 tiles, 0.64 s here and 3-4.6 s with a real slow decoder
