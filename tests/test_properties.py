"""Property tests: random and truncated inputs to the parsers raise only the project's own errors."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import SHIPPED
from training.data import DataError, read_idx
from viewer.bundle import METADATA, BundleError, _read_metadata

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
