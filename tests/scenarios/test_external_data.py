"""The bundle reader's protobuf scan finds ONNX external data as the onnx package itself writes it."""

from __future__ import annotations

import shutil
from pathlib import Path

import onnx
import pytest

from tests.helpers import SHIPPED
from tests.viewer.bundle.test_read import rehash
from viewer.bundle import DECODER, BundleError, check_no_external_data, load_bundle


def test_a_decoder_saved_with_external_data_is_refused(tmp_path: Path):
    bundle = tmp_path / "bundle"
    shutil.copytree(SHIPPED, bundle)
    model = onnx.load(str(SHIPPED / DECODER))
    onnx.save_model(
        model,
        str(bundle / DECODER),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="decoder.onnx.data",
        size_threshold=0,
    )
    rehash(bundle)  # the hash matches: only the scan stands between a swapped .data file and the viewer
    assert (bundle / "decoder.onnx.data").is_file()
    with pytest.raises(BundleError, match="ONNX external data"):
        load_bundle(bundle, strict=True)


def test_a_graph_with_its_tensors_inline_passes(tmp_path: Path):
    model = onnx.load(str(SHIPPED / DECODER))
    onnx.save_model(model, str(tmp_path / DECODER))
    check_no_external_data(tmp_path / DECODER)
