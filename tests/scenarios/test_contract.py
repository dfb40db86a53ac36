"""ONNX graphs that break the bundle contract: each gets one line naming the file and what is wrong."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from tests.helpers import SHIPPED, assert_one_line_error, run_module
from tests.viewer.bundle.test_read import rehash
from viewer.bundle import DECODER, ENCODER


def dense_sigmoid(in_name, in_shape, out_name, out_shape, elem=TensorProto.FLOAT, dtype=np.float32, fill=0.0) -> bytes:
    """A one-layer graph: input -> flatten -> matmul -> sigmoid -> reshape, with chosen names and shapes."""
    fan_in = int(np.prod([n for n in in_shape[1:]]))
    fan_out = int(np.prod([n for n in out_shape[1:]]))
    weight = numpy_helper.from_array(np.full((fan_in, fan_out), fill, dtype), "w")
    shape = numpy_helper.from_array(np.array([-1, *out_shape[1:]], np.int64), "shape")
    nodes = [
        helper.make_node("Flatten", [in_name], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "w"], ["mm"]),
        helper.make_node("Sigmoid", ["mm"], ["sig"]),
        helper.make_node("Reshape", ["sig", "shape"], [out_name]),
    ]
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info(in_name, elem, in_shape)],
        [helper.make_tensor_value_info(out_name, elem, out_shape)],
        initializer=[weight, shape],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    onnx.checker.check_model(model)
    return model.SerializeToString()


CASES = {
    "decoder_input_name": (DECODER, dense_sigmoid("latent", ["N", 2], "image", ["N", 28, 28]), "named 'latent'"),
    "decoder_output_name": (DECODER, dense_sigmoid("z", ["N", 2], "pixels", ["N", 28, 28]), "named 'pixels'"),
    "decoder_rank": (DECODER, dense_sigmoid("z", ["N", 2], "image", ["N", 784]), "rank 2"),
    "decoder_dtype": (
        DECODER,
        dense_sigmoid("z", ["N", 2], "image", ["N", 28, 28], TensorProto.DOUBLE, np.float64),
        "tensor(double)",
    ),
    "decoder_latent_dim": (DECODER, dense_sigmoid("z", ["N", 3], "image", ["N", 28, 28]), "size 3 on axis 1"),
    "decoder_image_size": (DECODER, dense_sigmoid("z", ["N", 2], "image", ["N", 32, 32]), "size 32 on axis 1"),
    "decoder_fixed_batch": (DECODER, dense_sigmoid("z", [1, 2], "image", [1, 28, 28]), "fixed batch size"),
    "encoder_output_dim": (ENCODER, dense_sigmoid("image", ["N", 28, 28], "z", ["N", 4]), "size 4 on axis 1"),
    "encoder_swapped": (ENCODER, dense_sigmoid("z", ["N", 2], "image", ["N", 28, 28]), "named 'z', expected 'image'"),
}


@pytest.mark.parametrize("case", CASES)
def test_contract_violation_is_one_line(case: str, tmp_path: Path):
    file, graph, fragment = CASES[case]
    bundle = tmp_path / "bundle"
    shutil.copytree(SHIPPED, bundle)
    (bundle / file).write_bytes(graph)
    rehash(bundle)
    result = run_module("viewer", str(bundle), "--headless", "--frames", "1")
    assert_one_line_error(result, file, fragment)


def test_a_conforming_hand_made_decoder_is_accepted(tmp_path: Path):
    bundle = tmp_path / "bundle"
    shutil.copytree(SHIPPED, bundle)
    (bundle / DECODER).write_bytes(dense_sigmoid("z", ["batch", 2], "image", ["batch", 28, 28]))
    rehash(bundle)
    result = run_module("viewer", str(bundle), "--headless", "--frames", "3")
    assert result.returncode == 0, result.stderr


def test_a_decoder_that_outputs_nan_draws_a_marked_blank(tmp_path: Path):
    import pygame

    bundle, shot = tmp_path / "bundle", tmp_path / "shot.png"
    shutil.copytree(SHIPPED, bundle)
    (bundle / DECODER).write_bytes(dense_sigmoid("z", ["N", 2], "image", ["N", 28, 28], fill=np.nan))
    rehash(bundle)
    result = run_module("viewer", str(bundle), "--headless", "--frames", "20", "--screenshot", str(shot))
    assert result.returncode == 0, result.stderr
    from latent_common.style import WARN
    from viewer.layout import make_layout, window_size

    layout = make_layout(window_size())
    pixels = pygame.surfarray.array3d(pygame.image.load(str(shot)))
    assert tuple(pixels[layout.tile.centerx, layout.tile.centery]) == WARN  # the cross through the blank tile
