"""Bundle validation: the shipped bundle loads; each broken bundle gets one line and exit status 2."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import SHIPPED, assert_one_line_error, run_module
from viewer.bundle import (
    DECODER,
    EMBEDDING,
    FORMAT_VERSION,
    METADATA,
    BundleError,
    load_bundle,
    sha256_file,
    view_bounds,
    write_bundle,
)


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    """A private copy of the shipped bundle to break."""
    copy = tmp_path / "bundle"
    shutil.copytree(SHIPPED, copy)
    return copy


def rehash(path: Path) -> None:
    """Make bundle.json's hashes match again, so a test hits the check it means to, not the hash check."""
    meta = json.loads((path / METADATA).read_text())
    meta["files"] = {name: sha256_file(path / name) for name in meta["files"]}
    (path / METADATA).write_text(json.dumps(meta))


def edit_meta(path: Path, **changes) -> None:
    meta = json.loads((path / METADATA).read_text())
    meta.update(changes)
    (path / METADATA).write_text(json.dumps(meta))


def rewrite_embedding(path: Path, **arrays) -> None:
    with np.load(path / EMBEDDING) as npz:
        current = {key: npz[key] for key in npz.files}
    current.update(arrays)
    buffer = io.BytesIO()
    np.savez(buffer, **current)
    (path / EMBEDDING).write_bytes(buffer.getvalue())
    rehash(path)


def test_shipped_bundle_meets_the_contract():
    bundle = load_bundle(SHIPPED, strict=True)
    assert bundle.warnings == []
    assert bundle.z.shape == (10_000, bundle.latent_dim) and bundle.z.dtype == np.float32
    assert bundle.images.shape == (10_000, 28, 28) and bundle.labels.max() == 9
    assert bundle.meta["format_version"] == FORMAT_VERSION
    assert bundle.meta["test_mse"] <= 0.035  # the seed's Keras model ends at 0.0377
    low, high = bundle.bounds[:, 0], bundle.bounds[:, 1]
    inside = ((bundle.z >= low) & (bundle.z <= high)).all(axis=1).mean()
    assert inside > 0.98  # the view frames nearly every digit


def test_view_bounds_frame_the_bulk_and_pad_it():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(10_000, 2)).astype(np.float32) * [3.0, 0.5]
    bounds = np.array(view_bounds(z))
    assert bounds.shape == (2, 2)
    assert (bounds[:, 0] < np.percentile(z, 1, axis=0)).all()
    assert (bounds[:, 1] > np.percentile(z, 99, axis=0)).all()
    assert bounds[0, 1] - bounds[0, 0] > 4 * (bounds[1, 1] - bounds[1, 0])  # each axis keeps its own scale


def break_missing_dir(path):
    shutil.rmtree(path)
    return path.name


def break_missing_json(path):
    (path / METADATA).unlink()
    return METADATA


def break_bad_json(path):
    (path / METADATA).write_text("{ not json")
    return "not valid JSON"


def break_missing_key(path):
    meta = json.loads((path / METADATA).read_text())
    del meta["latent_dim"]
    (path / METADATA).write_text(json.dumps(meta))
    return "latent_dim"


def break_newer_version(path):
    edit_meta(path, format_version=FORMAT_VERSION + 1)
    return "newer"


def break_missing_decoder(path):
    (path / DECODER).unlink()
    return DECODER


def break_not_onnx(path):
    (path / DECODER).write_bytes(b"this is not an onnx model")
    rehash(path)
    return DECODER


def break_truncated_onnx(path):
    data = (path / DECODER).read_bytes()
    (path / DECODER).write_bytes(data[: len(data) // 2])
    rehash(path)
    return DECODER


def break_embedding_dim(path):
    with np.load(path / EMBEDDING) as npz:
        z = npz["z"]
    rewrite_embedding(path, z=np.concatenate([z, z[:, :1]], axis=1))
    return "latent dimension"


def poison_embedding(path, row, column, value):
    with np.load(path / EMBEDDING) as npz:
        z = npz["z"].copy()
    z[row, column] = value
    rewrite_embedding(path, z=z)


def break_nan_embedding(path):
    poison_embedding(path, 5, 0, np.nan)
    return "NaN"


def break_inf_embedding(path):
    poison_embedding(path, 7, 1, np.inf)
    return "Inf"


def break_image_shape(path):
    edit_meta(path, image_shape=[32, 32])
    return "'images' must be uint8 [10000, 32, 32]"


def break_format_version_type(path):
    edit_meta(path, format_version="1")
    return "'format_version' should be an integer, got \"1\""


def break_labels_range(path):
    with np.load(path / EMBEDDING) as npz:
        labels = npz["labels"].copy()
    labels[0] = 12
    rewrite_embedding(path, labels=labels)
    return "out of range"


def break_pickled_embedding(path):
    buffer = io.BytesIO()
    np.savez(
        buffer,
        z=np.array([{"a": 1}], dtype=object),
        labels=np.zeros(1, np.uint8),
        images=np.zeros((1, 28, 28), np.uint8),
    )
    (path / EMBEDDING).write_bytes(buffer.getvalue())
    rehash(path)
    return "pickled"


def break_not_npz(path):
    (path / EMBEDDING).write_bytes(b"PK\x03\x04garbage")
    rehash(path)
    return EMBEDDING


def break_strict_hash(path):
    with (path / EMBEDDING).open("ab") as handle:
        handle.write(b"\0")
    return "SHA-256"


def break_bounds(path):
    edit_meta(path, latent_bounds=[[1.0, 0.0]])
    return "latent_bounds"


def break_meta_disagrees_with_decoder(path):
    meta = json.loads((path / METADATA).read_text())
    meta["latent_dim"] = meta["latent_dim"] + 1
    meta["latent_bounds"] = meta["latent_bounds"] + [[-1.0, 1.0]]
    (path / METADATA).write_text(json.dumps(meta))
    return EMBEDDING  # the embedding disagrees first; the decoder check is covered in tests/test_contract.py


BREAKS = [
    break_missing_dir, break_missing_json, break_bad_json, break_missing_key, break_newer_version,
    break_missing_decoder, break_not_onnx, break_truncated_onnx, break_embedding_dim, break_nan_embedding,
    break_inf_embedding, break_image_shape, break_format_version_type,
    break_labels_range, break_pickled_embedding, break_not_npz, break_strict_hash, break_bounds,
    break_meta_disagrees_with_decoder,
]  # fmt: skip


@pytest.mark.parametrize("breaker", BREAKS, ids=lambda f: f.__name__.removeprefix("break_"))
def test_broken_bundle_gets_one_line_and_status_2(bundle: Path, breaker):
    fragment = breaker(bundle)
    before = {p.name: p.read_bytes() for p in bundle.iterdir()} if bundle.exists() else {}
    result = run_module("viewer", str(bundle), "--headless", "--frames", "1", "--strict")
    line = assert_one_line_error(result, fragment)
    assert line.startswith("error: ")
    after = {p.name: p.read_bytes() for p in bundle.iterdir()} if bundle.exists() else {}
    assert after == before  # the viewer only reads


def test_hash_mismatch_warns_but_opens_without_strict(bundle: Path, tmp_path: Path):
    break_strict_hash(bundle)
    result = run_module("viewer", str(bundle), "--headless", "--frames", "3")
    assert result.returncode == 0, result.stderr
    assert "SHA-256 differs" in result.stderr and "Traceback" not in result.stderr


def test_load_bundle_raises_only_bundle_error(bundle: Path):
    break_bad_json(bundle)
    with pytest.raises(BundleError, match="bundle.json"):
        load_bundle(bundle)


def test_write_bundle_keeps_the_old_bundle_without_force(bundle: Path):
    before = (bundle / METADATA).read_bytes()
    files = {name: bundle / name for name in ("decoder.onnx", "encoder.onnx", "embedding.npz")}
    meta = json.loads(before)
    with pytest.raises(BundleError, match="--force"):
        write_bundle(bundle, files, meta)
    assert (bundle / METADATA).read_bytes() == before


def test_write_bundle_replaces_with_force_and_leaves_no_temp(tmp_path: Path):
    files = {name: SHIPPED / name for name in ("decoder.onnx", "encoder.onnx", "embedding.npz")}
    meta = json.loads((SHIPPED / METADATA).read_text()) | {"name": "copy"}
    out = tmp_path / "out"
    write_bundle(out, files, meta)
    write_bundle(out, files, meta | {"name": "second"}, force=True)
    assert load_bundle(out, strict=True).name == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_write_bundle_failure_leaves_previous_bundle_intact(tmp_path: Path):
    files = {name: SHIPPED / name for name in ("decoder.onnx", "encoder.onnx", "embedding.npz")}
    meta = json.loads((SHIPPED / METADATA).read_text())
    out = tmp_path / "out"
    write_bundle(out, files, meta)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(KeyError):
        write_bundle(out, {DECODER: files[DECODER]}, meta, force=True)  # fails midway: a file is missing
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_schema_accessors_read_every_shipped_bundle():
    for path in sorted((SHIPPED.parent).iterdir()):
        bundle = load_bundle(path, strict=True)
        assert bundle.kind in ("ae", "vae", "conv-ae", "conv-vae")
        assert bundle.variational == bundle.kind.endswith("vae")
        assert 0 < bundle.test_mse < 0.05 and 0.5 < bundle.knn_accuracy <= 1.0
        assert bundle.training_history and bundle.versions["opset"] >= 17


def test_optional_keys_may_be_absent(bundle: Path):
    meta = json.loads((bundle / METADATA).read_text())
    for key in ("test_mse", "knn_accuracy", "model_config", "training_history", "versions"):
        del meta[key]
    (bundle / METADATA).write_text(json.dumps(meta))
    loaded = load_bundle(bundle)
    assert (loaded.kind, loaded.variational, loaded.test_mse, loaded.knn_accuracy) == ("ae", False, None, None)
    assert loaded.training_history == [] and loaded.versions == {}


@pytest.mark.parametrize(
    "changes, fragment",
    [
        ({"test_mse": "0.03"}, "'test_mse' should be a number"),
        ({"knn_accuracy": True}, "'knn_accuracy' should be a number"),
        ({"model_config": ["ae"]}, "'model_config' should be an object"),
        ({"model_config": {"kind": 3}}, "'model_config.kind' should be a string"),
        ({"training_history": {}}, "'training_history' should be a list"),
    ],
)
def test_optional_keys_of_the_wrong_type_get_one_line(bundle: Path, changes: dict, fragment: str):
    edit_meta(bundle, **changes)
    assert_one_line_error(run_module("viewer", str(bundle), "--headless", "--frames", "2"), fragment)
