"""Bundle validation: the shipped bundle loads; each broken bundle gets one line and exit status 2."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import shutil
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

from latent_common.errors import printable
from tests.helpers import SHIPPED, assert_one_line_error, run_module
from viewer.bundle import (
    DECODER,
    EMBEDDING,
    ENCODER,
    FORMAT_VERSION,
    MAX_CLASSES,
    MAX_POINTS,
    METADATA,
    BundleError,
    BundleMeta,
    check_no_external_data,
    check_replaceable,
    load_bundle,
    sha256_file,
    view_bounds,
    write_bundle,
)
from viewer.bundle import read as bundle_read


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
    assert bundle.meta.format_version == 1  # kept at format 1: it proves old bundles open
    assert bundle.meta.test_mse <= 0.035  # the seed's Keras model ends at 0.0377
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
    return EMBEDDING  # the embedding disagrees first; the decoder check is covered in tests/scenarios/test_contract.py


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
    meta = BundleMeta.from_dict(json.loads(before))
    with pytest.raises(BundleError, match="--force"):
        write_bundle(bundle, files, meta)
    assert (bundle / METADATA).read_bytes() == before


def test_write_bundle_replaces_with_force_and_leaves_no_temp(tmp_path: Path):
    files = {name: SHIPPED / name for name in ("decoder.onnx", "encoder.onnx", "embedding.npz")}
    meta = BundleMeta.from_dict(json.loads((SHIPPED / METADATA).read_text()) | {"name": "copy"})
    out = tmp_path / "out"
    write_bundle(out, files, meta)
    write_bundle(out, files, dataclasses.replace(meta, name="second"), force=True)
    assert load_bundle(out, strict=True).name == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_write_bundle_failure_leaves_previous_bundle_intact(tmp_path: Path):
    files = {name: SHIPPED / name for name in ("decoder.onnx", "encoder.onnx", "embedding.npz")}
    meta = BundleMeta.from_dict(json.loads((SHIPPED / METADATA).read_text()))
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


# embedding.npz: each member's header is checked before its data is read, and the real problem is named.


def write_npz(path: Path, **arrays) -> None:
    """embedding.npz holding exactly these arrays (compressed, as export writes it), hashes updated."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    (path / EMBEDDING).write_bytes(buffer.getvalue())
    rehash(path)


def shipped_arrays() -> dict[str, np.ndarray]:
    with np.load(SHIPPED / EMBEDDING) as npz:
        return {key: npz[key] for key in npz.files}


def zip_members(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path / EMBEDDING, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    rehash(path)


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_a_deflate_bomb_is_refused_without_inflating_it(bundle: Path):
    """images.npy declares the right shape but inflates to 200 MB: the reader stops at the declared size."""
    arrays = shipped_arrays()
    header = npy_bytes(arrays["images"])
    with zipfile.ZipFile(bundle / EMBEDDING, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("z.npy", npy_bytes(arrays["z"]))
        archive.writestr("labels.npy", npy_bytes(arrays["labels"]))
        with archive.open("images.npy", "w", force_zip64=True) as member:
            member.write(header)
            for _ in range(200):
                member.write(bytes(1 << 20))
    rehash(bundle)
    tracemalloc.start()
    try:
        with pytest.raises(BundleError, match="'images' holds more data than its header declares"):
            load_bundle(bundle)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20, peak  # the 200 MB are never held


@pytest.mark.parametrize(
    "member, dtype, shape, fragment",
    [
        ("z.npy", "<f4", (10**9, 2), f"'z' must hold 1 to {MAX_POINTS} points, got 1000000000"),
        ("z.npy", "<f4", (0, 2), f"'z' must hold 1 to {MAX_POINTS} points, got 0"),
        ("z.npy", "<f4", (10, 2, 2), "'z' must be a float32 [M, 2] array, got shape [10, 2, 2]"),
        ("z.npy", "<f8", (10, 2), "'z' must be float32, got float64"),
        ("z.npy", "|O", (10, 2), "'z' holds pickled Python objects"),
        ("z.npy", [("a", "<f4")], (10,), "'z' must be float32"),
    ],
)
def test_a_declared_shape_or_dtype_is_refused_before_any_data_is_read(bundle: Path, member, dtype, shape, fragment):
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False, "shape": shape})
    zip_members(bundle, {member: buffer.getvalue()})
    with pytest.raises(BundleError, match=re.escape(fragment)):
        load_bundle(bundle)


def test_images_larger_than_the_limit_are_refused_before_allocation(bundle: Path, monkeypatch):
    monkeypatch.setattr(bundle_read, "MAX_EMBEDDING_BYTES", 1 << 20)  # the shipped 7.8 MB of images exceed it
    with pytest.raises(BundleError, match="exceed the viewer's limit of 1 MiB"):
        load_bundle(bundle)


def test_a_truncated_archive_says_truncated(bundle: Path):
    data = (bundle / EMBEDDING).read_bytes()
    (bundle / EMBEDDING).write_bytes(data[: len(data) // 2])
    rehash(bundle)
    with pytest.raises(BundleError, match="truncated"):
        load_bundle(bundle)


def test_random_bytes_are_not_a_zip(bundle: Path):
    (bundle / EMBEDDING).write_bytes(np.random.default_rng(0).bytes(4096))
    rehash(bundle)
    with pytest.raises(BundleError, match=r"not a readable \.npz archive"):
        load_bundle(bundle)


def test_corrupt_compressed_data_says_corrupt(bundle: Path):
    arrays = shipped_arrays()
    zip_members(bundle, {name + ".npy": npy_bytes(array) for name, array in arrays.items()})
    data = bytearray((bundle / EMBEDDING).read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("images.npy")
    middle = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    data[middle : middle + 64] = bytes(64)  # scribble over the deflate stream
    (bundle / EMBEDDING).write_bytes(bytes(data))
    rehash(bundle)
    with pytest.raises(BundleError, match="'images' is truncated or corrupt"):
        load_bundle(bundle)


def test_a_missing_member_is_named(bundle: Path):
    arrays = shipped_arrays()
    del arrays["labels"]
    write_npz(bundle, **arrays)
    with pytest.raises(BundleError, match="missing array 'labels'"):
        load_bundle(bundle)


def test_an_unreadable_archive_says_cannot_read(bundle: Path, monkeypatch):
    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(zipfile, "ZipFile", denied)
    with pytest.raises(BundleError, match=r"cannot read \(Permission denied\)"):
        load_bundle(bundle)


def test_fortran_order_and_big_endian_arrays_are_read_as_they_are(bundle: Path):
    arrays = shipped_arrays()
    write_npz(bundle, z=np.asfortranarray(arrays["z"]).astype(">f4"), labels=arrays["labels"], images=arrays["images"])
    loaded = load_bundle(bundle)
    np.testing.assert_array_equal(loaded.z, arrays["z"])
    assert loaded.z.dtype == np.float32 and loaded.z.flags.c_contiguous


# What the project itself can produce opens: a 1-D latent, up to MAX_CLASSES classes.


def test_a_one_dimensional_latent_bundle_loads(bundle: Path):
    arrays = shipped_arrays()
    write_npz(bundle, z=np.ascontiguousarray(arrays["z"][:, :1]), labels=arrays["labels"], images=arrays["images"])
    meta = json.loads((bundle / METADATA).read_text())
    edit_meta(bundle, latent_dim=1, latent_bounds=meta["latent_bounds"][:1])
    assert load_bundle(bundle).z.shape == (10_000, 1)


def test_every_class_count_up_to_the_limit_loads(bundle: Path):
    arrays = shipped_arrays()
    labels = (np.arange(10_000) % MAX_CLASSES).astype(np.uint8)
    write_npz(bundle, z=arrays["z"], labels=labels, images=arrays["images"])
    edit_meta(bundle, class_names=[f"class {i}" for i in range(MAX_CLASSES)])
    assert load_bundle(bundle).labels.max() == MAX_CLASSES - 1
    edit_meta(bundle, class_names=[f"class {i}" for i in range(MAX_CLASSES + 1)])
    with pytest.raises(BundleError, match=f"class_names must be a list of 1 to {MAX_CLASSES} strings"):
        load_bundle(bundle)


# bundle.json: every field's type and range, and its text, before anything uses it.

SURROGATE = json.loads('"bad \\ud800 name"')


@pytest.mark.parametrize(
    "changes, fragment",
    [
        ({"latent_dim": 0}, "latent_dim must be 1 to 1024, got 0"),
        ({"latent_dim": 10**30}, "latent_dim must be 1 to 1024"),
        ({"latent_dim": "2"}, "'latent_dim' should be an integer"),
        ({"format_version": 0}, "format version must be 1 to 2"),
        ({"format_version": 10**30}, "is newer than this viewer reads"),
        ({"image_shape": [10**9, 28]}, "image_shape must be two integers from 1 to 256"),
        ({"image_shape": [True, 28]}, "image_shape must be two integers"),
        ({"image_shape": ["28", "28"]}, "image_shape must be two integers"),
        ({"class_names": []}, "class_names must be a list of 1 to 256 strings"),
        ({"class_names": [0, 1]}, "class_names must be a list of 1 to 256 strings"),
        ({"name": "evil\x1b]0;title\x07"}, "'name' holds a control character"),
        ({"name": "nul\x00"}, "'name' holds a control character"),
        ({"name": SURROGATE}, "'name' holds a control character"),
        ({"class_names": ["0", "\x1b[2J"]}, "'class_names[1]' holds a control character"),
        ({"train_config": {"data_root": SURROGATE}}, "'train_config.data_root' holds"),
        ({"name": "x" * 1000}, "'name' is 1000 characters long; at most 200"),
        ({"latent_bounds": [[-1.7e308, 1.7e308], [0, 1]]}, "latent_bounds must be 2 finite [low, high] pairs"),
        ({"latent_bounds": [[0, 1e-9], [0, 1]]}, "at least 1e-06 apart"),
        ({"latent_bounds": [["0", "1"], [0, 1]]}, "latent_bounds must be"),
        ({"latent_bounds": [[True, 2], [0, 1]]}, "latent_bounds must be"),
        ({"latent_bounds": [0, 1]}, "latent_bounds must be"),
        ({"test_mse": 10**400}, "'test_mse' should be a number"),
        ({"knn_accuracy": "0.8"}, "'knn_accuracy' should be a number"),
        ({"knn_k": 0}, "'knn_k' must be 1 to"),
        ({"model_config": ["ae"]}, "'model_config' should be an object"),
        ({"model_config": {"kind": None}}, "'model_config.kind' should be a string"),
        ({"training_history": [1, 2]}, "'training_history' should be a list of objects"),
        ({"versions": "1.0"}, "'versions' should be an object"),
    ],
)
def test_a_field_of_the_wrong_type_or_range_is_one_error(bundle: Path, changes: dict, fragment: str):
    edit_meta(bundle, **changes)
    with pytest.raises(BundleError, match=re.escape(fragment)) as caught:
        load_bundle(bundle)
    assert printable(str(caught.value)) == str(caught.value)  # the line itself is safe to print


@pytest.mark.parametrize(
    "text, fragment",
    [
        ('{"latent_dim": ' + "9" * 5000 + "}", "not valid JSON"),  # past Python's int-parsing limit
        ("[" * 100_000 + "]" * 100_000, "not valid JSON"),  # nested past the recursion limit
        ('{"latent_dim": 1e400}', "'format_version'"),  # missing keys are found first; inf never crashes
        ("\xff\xfe", "not valid JSON"),
    ],
)
def test_hostile_json_text_is_one_error(bundle: Path, text: str, fragment: str):
    (bundle / METADATA).write_bytes(text.encode("latin-1") if text.startswith("\xff") else text.encode())
    with pytest.raises(BundleError, match=re.escape(fragment)):
        load_bundle(bundle)


def test_the_cli_prints_a_hostile_name_safely(bundle: Path):
    edit_meta(bundle, name=SURROGATE)
    assert_one_line_error(run_module("viewer", str(bundle), "--headless", "--frames", "1"), "holds a control character")


# ONNX external data: a graph must not load files that bundle.json doesn't hash.


def tensor_with_external_data() -> bytes:
    """A ModelProto (protobuf wire format) whose graph's one initializer says data_location: EXTERNAL."""

    def field(number: int, payload: bytes) -> bytes:
        return bytes([number << 3 | 2, len(payload)]) + payload

    entry = field(1, b"location") + field(2, b"decoder.onnx.data")
    tensor = field(8, b"w") + field(13, entry) + bytes([14 << 3 | 0, 1])
    return bytes([1 << 3 | 0, 8]) + field(7, field(5, tensor))


def test_onnx_external_data_is_refused(bundle: Path):
    (bundle / DECODER).write_bytes(tensor_with_external_data())
    (bundle / "decoder.onnx.data").write_bytes(bytes(16))
    rehash(bundle)
    with pytest.raises(BundleError, match="ONNX external data"):
        load_bundle(bundle, strict=True)
    assert_one_line_error(run_module("viewer", str(bundle), "--headless", "--frames", "1"), "external data")


def test_a_malformed_protobuf_is_not_loadable(bundle: Path):
    (bundle / DECODER).write_bytes(b"\x3a\xff\xff\xff\x0f")  # graph field with a 4 GB length
    rehash(bundle)
    with pytest.raises(BundleError, match="not a loadable ONNX model"):
        load_bundle(bundle)


def test_every_shipped_graph_passes_the_external_data_scan():
    for folder in sorted(SHIPPED.parent.iterdir()):
        for name in (DECODER, ENCODER):
            check_no_external_data(folder / name)


# --force replaces a bundle and nothing else.


def bundle_files() -> dict[str, Path]:
    return {name: SHIPPED / name for name in ("decoder.onnx", "encoder.onnx", "embedding.npz")}


def shipped_meta() -> BundleMeta:
    return BundleMeta.from_dict(json.loads((SHIPPED / METADATA).read_text()))


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    "make, fragment",
    [
        (lambda out: (out.mkdir(), (out / "checkpoint.pt").write_bytes(b"weights")), "not a bundle (no bundle.json)"),
        (lambda out: shutil.copytree(SHIPPED.parent, out), "not a bundle (no bundle.json)"),  # a folder of bundles
        (lambda out: (shutil.copytree(SHIPPED, out), (out / "notes.txt").write_text("mine")), "notes.txt"),
        (lambda out: out.write_text("a file"), "is a file, not a bundle folder"),
    ],
    ids=["run_dir", "folder_of_bundles", "bundle_with_other_files", "file"],
)
def test_force_replaces_only_a_bundle(tmp_path: Path, make, fragment: str):
    out = tmp_path / "out"
    make(out)
    before = tree(tmp_path)
    with pytest.raises(BundleError, match=re.escape(fragment)):
        write_bundle(out, bundle_files(), shipped_meta(), force=True)
    assert tree(tmp_path) == before


def test_an_out_folder_that_cannot_take_files_is_refused_before_any_work(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(BundleError, match="cannot write there.*pick another --out"):
        check_replaceable(tmp_path / "notes.txt" / "models" / "mine", force=False)
    assert tree(tmp_path) == {"notes.txt": b"mine"}


def test_force_refuses_a_symlink_and_keeps_its_target(tmp_path: Path):
    real = tmp_path / "real"
    shutil.copytree(SHIPPED, real)
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(BundleError, match="symbolic link"):
        write_bundle(tmp_path / "link", bundle_files(), shipped_meta(), force=True)
    assert (tmp_path / "link").is_symlink() and tree(real) == tree(SHIPPED)


def test_an_empty_folder_is_written_into_without_force(tmp_path: Path):
    (tmp_path / "out").mkdir()
    write_bundle(tmp_path / "out", bundle_files(), shipped_meta())
    assert load_bundle(tmp_path / "out", strict=True).name == shipped_meta().name


def test_write_bundle_refuses_meta_the_viewer_would_refuse(tmp_path: Path):
    with pytest.raises(BundleError, match="latent_dim must be 1 to"):
        write_bundle(tmp_path / "out", bundle_files(), dataclasses.replace(shipped_meta(), latent_dim=0))
    assert list(tmp_path.iterdir()) == []
