"""Every reader bounded and every special file answered (docs/reliability.md, "Classes of fault").

Each reader goes through latent_common.files (open_regular, read_limited, inflate, read_json) and, for .npz,
latent_common.npz: a FIFO, a folder or /dev/zero is one line naming what it is; a size is checked before the
allocation it would cost; compressed data is inflated only to what its header declares. numpy only: these
run in the viewer's torch-free venv as well.
"""

from __future__ import annotations

import gzip
import io
import json
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

from export.onnx_pair import open_session
from latent_common import data, datasets
from latent_common.errors import UserError
from latent_common.files import read_json, read_limited
from latent_common.pictures import PictureError, read_picture
from latent_common.split import DataError, DataOptions
from tests.helpers import SHIPPED, SPECIAL_WORDS, special
from viewer.bundle import MAX_METADATA_BYTES, BundleError, load_bundle
from viewer.session_file import Session, SessionError, load_session, save_session

# Special files: one line naming what the path is, never a wait


READERS = {
    "session": lambda path: load_session(path, 2, 10, missing_ok=True),
    "picture": read_picture,
    "idx": data.read_idx,
    "npz dataset": lambda path: datasets.read_npz(path, DataOptions()),
    "emoji index": lambda path: datasets.list_emoji(path.parent),
    "onnx pair": lambda path: open_session(path, str(path)),
}


@pytest.mark.parametrize("kind", list(SPECIAL_WORDS))
@pytest.mark.parametrize("reader", list(READERS))
def test_every_reader_refuses_a_special_file_in_one_line(tmp_path: Path, reader: str, kind: str):
    path = special(tmp_path, kind)
    if reader == "emoji index":
        path.rename(tmp_path / "emoji.json")
        path = tmp_path / "emoji.json"
    with pytest.raises(UserError, match=SPECIAL_WORDS[kind]) as caught:
        READERS[reader](path)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("kind", list(SPECIAL_WORDS))
@pytest.mark.parametrize("name", ["bundle.json", "decoder.onnx", "embedding.npz"])
def test_a_bundle_file_that_is_special_is_named(tmp_path: Path, kind: str, name: str):
    from tests.helpers import SPECIAL_WORDS, special

    bundle = tmp_path / "bundle"
    bundle.mkdir()
    for file in SHIPPED.iterdir():
        (bundle / file.name).symlink_to(file)
    (bundle / name).unlink()
    special(tmp_path, kind).rename(bundle / name)
    with pytest.raises(BundleError, match=SPECIAL_WORDS[kind]):
        load_bundle(bundle)


def test_a_bundle_path_that_is_a_fifo_says_so(tmp_path: Path):
    with pytest.raises(BundleError, match="is a FIFO"):
        load_bundle(special(tmp_path, "fifo"))


# Sizes checked before the work


def test_a_limited_read_stops_at_the_limit(tmp_path: Path):
    path = tmp_path / "big"
    with path.open("wb") as handle:
        handle.truncate(MAX_METADATA_BYTES + 1)  # sparse: costs no disk
    with pytest.raises(UserError, match="too large"):
        read_limited(path, MAX_METADATA_BYTES)
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    path.rename(bundle / "bundle.json")
    with pytest.raises(BundleError, match="too large"):
        load_bundle(bundle)  # 500 MB of JSON once cost 5.6 GB and 5 minutes


def idx_header(shape: tuple[int, ...]) -> bytes:
    return bytes([0, 0, 0x08, len(shape)]) + b"".join(n.to_bytes(4, "big") for n in shape)


def peak_bytes(call) -> int:
    tracemalloc.start()
    try:
        call()
    except UserError:
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_a_gzipped_idx_header_declaring_gigabytes_is_refused_before_inflating(tmp_path: Path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_header((5_000_000, 28, 28)) + bytes(32 << 20)))  # declares 3.9 GB
    with pytest.raises(DataError, match="declares") as caught:
        data.read_idx(path)
    assert "\n" not in str(caught.value)
    assert peak_bytes(lambda: data.read_idx(path)) < 8 << 20  # the 32 MB of zeros are never inflated


def test_a_gzipped_idx_bomb_inflates_only_to_its_declared_size(tmp_path: Path):
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_header((10,)) + bytes(64 << 20)))  # 10 labels, then 64 MB more
    with pytest.raises(DataError, match="but its header"):
        data.read_idx(path)
    assert peak_bytes(lambda: data.read_idx(path)) < 8 << 20
    path.write_bytes(gzip.compress(idx_header((3,)) + b"\x01\x02\x03"))
    assert data.read_idx(path).tolist() == [1, 2, 3]


def npz_with(path: Path, **members: bytes) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, payload in members.items():
            archive.writestr(f"{name}.npy", payload)


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def declared_npy(shape: tuple[int, ...], tail: bytes = b"") -> bytes:
    """A .npy header declaring shape (uint8), followed by only tail: the data a header promises need not exist."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "|u1", "fortran_order": False, "shape": shape})
    return buffer.getvalue() + tail


def test_an_npz_dataset_reads_only_its_members_and_checks_their_headers_first(tmp_path: Path):
    path = tmp_path / "data.npz"
    images = np.zeros((12, 8, 8), np.uint8)
    labels = np.arange(12, dtype=np.uint8) % 2
    npz_with(path, images=npy(images), labels=npy(labels), unused=declared_npy((3 << 30,), bytes(16 << 20)))
    assert peak_bytes(lambda: datasets.read_npz(path, DataOptions())) < 8 << 20  # 'unused' is never read
    assert len(datasets.read_npz(path, DataOptions()).images) == 12
    npz_with(path, images=declared_npy((10**9, 28, 28)), labels=npy(labels))
    with pytest.raises(DataError, match="over the limit") as caught:
        datasets.read_npz(path, DataOptions())  # once: numpy's allocator died on 784 GB
    assert "'images'" in str(caught.value) and "\n" not in str(caught.value)


def test_an_idx_dataset_with_no_images_is_one_line(tmp_path: Path):
    for name in ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte"):
        data.write_idx(tmp_path / name, np.zeros((0, 28, 28), np.uint8))
    for name in ("train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"):
        data.write_idx(tmp_path / name, np.zeros(0, np.uint8))
    for split, words in (("train", "nothing to train on"), ("test", "nothing to measure")):
        with pytest.raises(DataError, match=f"the {split} split has 0 images; {words}"):
            data.load_split(f"idx:{tmp_path}", "unused", split)  # once: max() of an empty array, a traceback


# JSON: sessions read as bundle.json is


def test_json_past_pythons_limits_is_one_error(tmp_path: Path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(UserError, match="not valid JSON"):
        read_json(path, 1 << 20)
    with pytest.raises(SessionError, match="invalid JSON"):
        load_session(path, 2, 10)


def test_a_session_view_narrower_than_the_zoom_limit_is_refused(tmp_path: Path):
    path = tmp_path / "session.json"
    save_session(path, Session(view=np.array([[0.0, 1.0], [0.0, 1.0]])), latent_dim=2)
    saved = json.loads(path.read_text())
    saved["view"] = [[0.0, 1e-300], [0.0, 1.0]]
    path.write_text(json.dumps(saved))
    with pytest.raises(SessionError, match="'view' must be at least"):
        load_session(path, 2, 10)


def test_a_picture_that_is_a_fifo_is_one_line(tmp_path: Path):
    with pytest.raises(PictureError, match="is a FIFO"):
        read_picture(special(tmp_path, "fifo"))
