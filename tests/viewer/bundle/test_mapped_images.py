"""Images stored uncompressed are memory-mapped, not read: the same pixels, every check kept, no RAM budget."""

from __future__ import annotations

import io
import json
import mmap
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import SHIPPED
from viewer.bundle import EMBEDDING, METADATA, BundleError, load_bundle, sha256_file
from viewer.bundle import read as bundle_read


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    copy = tmp_path / "bundle"
    shutil.copytree(SHIPPED, copy)
    return copy


def shipped_arrays() -> dict[str, np.ndarray]:
    with np.load(SHIPPED / EMBEDDING) as npz:
        return {key: npz[key] for key in npz.files}


def rehash(path: Path) -> None:
    meta = json.loads((path / METADATA).read_text())
    meta["files"] = {name: sha256_file(path / name) for name in meta["files"]}
    (path / METADATA).write_text(json.dumps(meta))


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def write_members(path: Path, members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> None:
    """embedding.npz holding exactly these members, hashes updated."""
    with zipfile.ZipFile(path / EMBEDDING, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    rehash(path)


def backing(array: np.ndarray):
    """What an array's memory finally belongs to: an mmap for a mapped member, bytes for a read one."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array.base.obj if isinstance(array.base, memoryview) else array.base


def stored_members(arrays: dict[str, np.ndarray]) -> dict[str, bytes]:
    return {f"{key}.npy": npy_bytes(array) for key, array in arrays.items()}


def test_uncompressed_images_are_mapped_with_the_same_pixels(bundle: Path):
    arrays = shipped_arrays()
    np.savez(bundle / EMBEDDING, **arrays)  # as the bench writes a large embedding
    rehash(bundle)
    loaded = load_bundle(bundle, strict=True)
    assert isinstance(backing(loaded.images), mmap.mmap) and not loaded.images.flags.writeable  # the file's pages
    np.testing.assert_array_equal(loaded.images, arrays["images"])
    np.testing.assert_array_equal(loaded.images_chw[:, 0], arrays["images"])
    np.testing.assert_array_equal(loaded.z, arrays["z"])


def test_compressed_images_are_still_read_into_memory(bundle: Path):
    loaded = load_bundle(bundle, strict=True)  # the shipped bundle is compressed, as export writes it
    assert not isinstance(backing(loaded.images), mmap.mmap)
    np.testing.assert_array_equal(loaded.images, shipped_arrays()["images"])


def test_mapped_images_do_not_count_against_the_memory_budget(bundle: Path, monkeypatch):
    arrays = shipped_arrays()
    np.savez(bundle / EMBEDDING, **arrays)
    rehash(bundle)
    monkeypatch.setattr(bundle_read, "MAX_EMBEDDING_BYTES", 1 << 20)  # z and labels fit, the 7.8 MB of images don't
    assert load_bundle(bundle).images.shape == arrays["images"].shape


def test_compressed_images_past_the_budget_say_how_to_store_them(bundle: Path, monkeypatch):
    monkeypatch.setattr(bundle_read, "MAX_EMBEDDING_BYTES", 1 << 20)
    with pytest.raises(BundleError, match=r"limit of 1 MiB; store the images uncompressed \(np.savez\)"):
        load_bundle(bundle)


def test_zip_extra_fields_are_skipped_to_the_data(bundle: Path):
    """The data starts after the local header's own name and extra field, which may differ from the index's."""
    arrays = shipped_arrays()
    with zipfile.ZipFile(bundle / EMBEDDING, "w") as archive:
        for key, array in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy")
            info.extra = b"\xca\xfe\x04\x00abcd"  # an unknown extra field (id 0xfeca, 4 bytes)
            archive.writestr(info, npy_bytes(array))
    rehash(bundle)
    np.testing.assert_array_equal(load_bundle(bundle).images, arrays["images"])


def test_fortran_ordered_images_are_read_not_mapped(bundle: Path):
    arrays = shipped_arrays()
    arrays["images"] = np.asfortranarray(arrays["images"])
    write_members(bundle, stored_members(arrays))
    loaded = load_bundle(bundle)
    assert loaded.images.flags.c_contiguous
    np.testing.assert_array_equal(loaded.images, arrays["images"])


@pytest.mark.parametrize(
    "edit, fragment",
    [
        (lambda data: data[:-784], "'images' is truncated"),  # the header declares more than the member holds
        (lambda data: data + bytes(784), "'images' holds more data than its header declares"),
    ],
)
def test_a_mapped_member_must_match_its_header(bundle: Path, edit, fragment):
    arrays = shipped_arrays()
    members = stored_members(arrays)
    members["images.npy"] = edit(members["images.npy"])
    write_members(bundle, members)
    with pytest.raises(BundleError, match=fragment):
        load_bundle(bundle)


def test_a_mapped_member_gets_the_same_header_checks(bundle: Path):
    arrays = shipped_arrays()
    arrays["images"] = arrays["images"][:, :, :27]  # (M, 28, 27) against image_shape [28, 28]
    write_members(bundle, stored_members(arrays))
    with pytest.raises(BundleError, match=r"'images' must be uint8 \[10000, 28, 28\]"):
        load_bundle(bundle)


@pytest.mark.filterwarnings("ignore:invalid escape sequence")  # numpy parsing a scribbled header
def test_scribbled_stored_archives_raise_only_bundle_errors(bundle: Path):
    """Random bytes over a stored archive's headers and data: a BundleError or a bundle, never anything else."""
    arrays = shipped_arrays()
    np.savez(bundle / EMBEDDING, **arrays)
    clean = (bundle / EMBEDDING).read_bytes()
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(bundle / EMBEDDING) as archive:
        starts = [info.header_offset for info in archive.infolist()]  # each member's local header
    for _ in range(60):
        data = bytearray(clean)
        where = int(rng.choice(starts)) + int(rng.integers(0, 160))  # the local or .npy header
        data[where : where + 4] = rng.bytes(4)
        (bundle / EMBEDDING).write_bytes(bytes(data))
        rehash(bundle)
        try:
            load_bundle(bundle)
        except BundleError:
            pass
