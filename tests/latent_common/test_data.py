"""The IDX reader and MNIST loading, on tiny generated files."""

from __future__ import annotations

import gzip
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from latent_common.data import DataError, load_split, read_idx, write_idx
from tests.conftest import make_tiny_mnist
from tests.helpers import assert_one_line_error, run_module


def test_idx_round_trip_plain_and_gzipped(tmp_path: Path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a", array)
    np.testing.assert_array_equal(read_idx(tmp_path / "a"), array)
    (tmp_path / "a.gz").write_bytes(gzip.compress((tmp_path / "a").read_bytes()))
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz"), array)


def test_idx_big_endian_types(tmp_path: Path):
    array = np.array([[1, -2], [300000, 4]], dtype=np.int32)
    write_idx(tmp_path / "b", array)
    assert read_idx(tmp_path / "b").tolist() == array.tolist()


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "bad magic"),
        (b"\x12\x34\x08\x01", "bad magic"),
        (b"\x00\x00\x08\x03\x00\x00", "truncated IDX header"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x05abc", "header (5,) says 13"),
    ],
)
def test_idx_errors_name_the_file(tmp_path: Path, content: bytes, message: str):
    path = tmp_path / "broken-idx"
    path.write_bytes(content)
    with pytest.raises(DataError, match=re.escape(message)) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_load_tiny_split(tiny_root: Path):
    split = load_split("mnist", tiny_root, "train")
    assert split.images.shape == (512, 1, 28, 28) and split.images.dtype == np.uint8
    assert split.labels.shape == (512,) and split.labels.max() <= 9


def test_missing_files_name_the_files_and_the_flag(tmp_path: Path):
    with pytest.raises(DataError) as info:
        load_split("mnist", tmp_path, "test")
    assert "t10k-images-idx3-ubyte" in str(info.value) and "--data-root" in str(info.value)


def test_training_cli_reports_missing_data_in_one_line(tmp_path: Path):
    # torchvision tries to download first; this machine has no network, so the answer is the clear error.
    result = run_module(
        "training", "--data-root", str(tmp_path / "nowhere"), "--run-dir", str(tmp_path / "run"), "--epochs", "1"
    )
    assert_one_line_error(result, "train-images-idx3-ubyte", "--data-root")
    assert not (tmp_path / "run").exists()


def test_truncated_training_file_is_one_line(tmp_path: Path):
    root = make_tiny_mnist(tmp_path / "data")
    images = root / "MNIST" / "raw" / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:1000])
    result = run_module("training", "--data-root", str(root), "--run-dir", str(tmp_path / "run"), "--epochs", "1")
    assert_one_line_error(result, "train-images-idx3-ubyte", "header")


def test_gzipped_files_load(tmp_path: Path):
    root = make_tiny_mnist(tmp_path / "data")
    raw = root / "MNIST" / "raw"
    for path in list(raw.iterdir()):
        with path.open("rb") as src, gzip.open(f"{path}.gz", "wb") as dst:
            shutil.copyfileobj(src, dst)
        path.unlink()
    assert load_split("mnist", root, "test").images.shape == (256, 1, 28, 28)


def test_idx_folder_dataset_trains_and_exports_with_its_own_classes(tmp_path: Path):
    from export import export as export_module
    from training import train as train_module
    from training.config import TrainConfig
    from viewer.bundle import load_bundle

    root = make_tiny_mnist(tmp_path / "data")
    folder = tmp_path / "mine"
    shutil.copytree(root / "MNIST" / "raw", folder)
    for path in folder.iterdir():  # the user's own data, gzipped
        path.with_name(path.name + ".gz").write_bytes(gzip.compress(path.read_bytes()))
        path.unlink()
    config = TrainConfig(
        data_root="unused",
        dataset=f"idx:{folder}",
        run_dir=str(tmp_path / "run"),
        epochs=1,
        batch_size=64,
        device="cpu",
        hidden="32",
    )
    train_module.run(config)
    export_module.export(tmp_path / "run", tmp_path / "bundle", data_root=None, name=None, force=False)
    bundle = load_bundle(tmp_path / "bundle", strict=True)
    assert bundle.meta.dataset == f"idx:{folder}" and bundle.class_names == [str(i) for i in range(10)]


def test_unknown_dataset_and_missing_fashion_files_are_one_line(tmp_path: Path):
    assert_one_line_error(
        run_module("training", "--dataset", "cifar", "--run-dir", str(tmp_path / "r")), "--dataset cifar"
    )
    result = run_module(
        "training", "--dataset", "fashion-mnist", "--data-root", str(tmp_path), "--run-dir", str(tmp_path / "r")
    )
    assert_one_line_error(result, "FashionMNIST", "train-images-idx3-ubyte")
