"""Property tests: random and truncated inputs to the parsers raise only the project's own errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from latent_common.data import DataError, read_idx
from latent_common.errors import printable
from tests.helpers import SHIPPED
from viewer.bundle import EMBEDDING, METADATA, BundleError, BundleMeta
from viewer.bundle.read import _read_embedding, _read_metadata

VALID_META = json.loads((SHIPPED / METADATA).read_text())
VALID_IDX = b"\x00\x00\x08\x03" + (2).to_bytes(4, "big") + (3).to_bytes(4, "big") + (3).to_bytes(4, "big") + bytes(18)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_subnormal=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


def only_own_errors(path: Path, content: bytes, parse, own_error) -> None:
    """Write content to path and parse it: the parser may raise its project error type and nothing else."""
    path.write_bytes(content)
    try:
        parse(path)
    except own_error:
        pass


def parse_metadata(tmp: Path, content: bytes) -> None:
    only_own_errors(tmp / METADATA, content, lambda path: _read_metadata(path.parent), BundleError)


@SETTINGS
@given(content=st.binary(max_size=200))
def test_random_bytes_as_bundle_json(tmp_path_factory, content):
    parse_metadata(tmp_path_factory.mktemp("b"), content)


@SETTINGS
@given(cut=st.integers(min_value=0, max_value=len(json.dumps(VALID_META))))
def test_truncated_bundle_json(tmp_path_factory, cut):
    parse_metadata(tmp_path_factory.mktemp("b"), json.dumps(VALID_META).encode()[:cut])


@SETTINGS
@given(key=st.sampled_from(sorted(VALID_META)), value=json_values)
def test_bundle_json_with_one_value_replaced(tmp_path_factory, key, value):
    meta = dict(VALID_META, **{key: value})
    parse_metadata(tmp_path_factory.mktemp("b"), json.dumps(meta).encode())


# Text from a stranger's bundle: any Unicode, surrogates and controls included. Accepted text is printable.
hostile_text = st.text(alphabet=st.characters(exclude_categories=()), max_size=12)
# Numbers at and past every limit: huge integers, floats near the float limits, NaN and infinities.
extreme_numbers = (
    st.integers()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=False)
    | st.sampled_from([1.7e308, -1.7e308, 1e-300, 0, -0.0, 2**63, 2**64])
)


@SETTINGS
@given(key=st.sampled_from(["name", "dataset"]), text=hostile_text)
def test_hostile_text_in_names(tmp_path_factory, key, text):
    meta = dict(VALID_META, **{key: text})
    tmp = tmp_path_factory.mktemp("b")
    (tmp / METADATA).write_text(json.dumps(meta))
    try:
        accepted = _read_metadata(tmp)
    except BundleError as exc:
        assert printable(str(exc)) == str(exc)
    else:
        assert printable(getattr(accepted, key)) == getattr(accepted, key)


@SETTINGS
@given(names=st.lists(hostile_text, min_size=0, max_size=300))
def test_hostile_class_names(tmp_path_factory, names):
    parse_metadata(tmp_path_factory.mktemp("b"), json.dumps(dict(VALID_META, class_names=names)).encode())


@SETTINGS
@given(
    dim=extreme_numbers,
    shape=st.lists(extreme_numbers, max_size=3),
    bounds=st.lists(st.lists(extreme_numbers, max_size=3), max_size=3),
)
def test_extreme_numbers_in_sizes_and_bounds(tmp_path_factory, dim, shape, bounds):
    meta = dict(VALID_META, latent_dim=dim, image_shape=shape, latent_bounds=bounds)
    parse_metadata(tmp_path_factory.mktemp("b"), json.dumps(meta).encode())


def small_npz() -> bytes:
    """A valid three-point embedding.npz for VALID_META's 2-D latent and 28x28 images."""
    buffer = io.BytesIO()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    np.savez_compressed(
        buffer, z=rng.normal(size=(3, 2)).astype(np.float32), labels=np.arange(3, dtype=np.uint8), images=images
    )
    return buffer.getvalue()


VALID_NPZ = small_npz()


def parse_embedding(tmp: Path, content: bytes) -> None:
    meta = BundleMeta.from_dict(VALID_META)
    only_own_errors(tmp / EMBEDDING, content, lambda path: _read_embedding(path.parent, meta), BundleError)


@SETTINGS
@given(content=st.binary(max_size=400))
def test_random_bytes_as_embedding(tmp_path_factory, content):
    parse_embedding(tmp_path_factory.mktemp("e"), content)


@SETTINGS
@given(cut=st.integers(min_value=0, max_value=len(VALID_NPZ)))
def test_truncated_embedding(tmp_path_factory, cut):
    parse_embedding(tmp_path_factory.mktemp("e"), VALID_NPZ[:cut])


@SETTINGS
@given(flips=st.lists(st.tuples(st.integers(0, len(VALID_NPZ) - 1), st.integers(0, 255)), min_size=1, max_size=4))
def test_embedding_with_scribbled_bytes(tmp_path_factory, flips):
    data = bytearray(VALID_NPZ)
    for position, value in flips:
        data[position] = value
    parse_embedding(tmp_path_factory.mktemp("e"), bytes(data))


def read_idx_bytes(tmp: Path, content: bytes) -> None:
    only_own_errors(tmp / "file-idx", content, read_idx, DataError)


@SETTINGS
@given(content=st.binary(max_size=64))
def test_random_bytes_as_idx(tmp_path_factory, content):
    read_idx_bytes(tmp_path_factory.mktemp("i"), content)


@SETTINGS
@given(cut=st.integers(min_value=0, max_value=len(VALID_IDX)), gz=st.booleans())
def test_truncated_idx(tmp_path_factory, cut, gz):
    import gzip

    content = gzip.compress(VALID_IDX) if gz else VALID_IDX
    read_idx_bytes(tmp_path_factory.mktemp("i"), content[:cut])


@SETTINGS
@given(
    header=st.binary(min_size=4, max_size=4),
    dims=st.lists(st.integers(0, 2**32 - 1), max_size=4),
    tail=st.binary(max_size=32),
)
def test_idx_with_random_header(tmp_path_factory, header, dims, tail):
    content = b"\x00\x00" + header[2:3] + bytes([len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims) + tail
    read_idx_bytes(tmp_path_factory.mktemp("i"), content)
