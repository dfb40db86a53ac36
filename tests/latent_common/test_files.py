"""latent_common/files.py: the one way a path is opened and read (regular files only, byte limits, capped
inflation); every reader using it is tested in tests/scenarios/test_readers.py."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from latent_common.errors import UserError
from latent_common.files import inflate, open_regular
from tests.helpers import SPECIAL_WORDS, special


@pytest.mark.parametrize("kind", list(SPECIAL_WORDS))
def test_open_regular_names_what_a_special_file_is(tmp_path: Path, kind: str):
    path = special(tmp_path, kind)
    with pytest.raises(UserError, match=SPECIAL_WORDS[kind]):
        open_regular(path)  # a FIFO with no writer: O_NONBLOCK, so this returns at once
    with pytest.raises(UserError, match="no such file"):
        open_regular(tmp_path / "absent")


def test_inflate_stops_at_its_cap():
    bomb = gzip.compress(bytes(64 << 20))  # 64 MB of zeros in 64 kB
    with pytest.raises(UserError, match="too large"):
        inflate(bomb, 1 << 20, "bomb.gz")
    assert inflate(gzip.compress(b"abc"), 3, "small.gz") == b"abc"
    with pytest.raises(UserError, match="corrupt"):
        inflate(gzip.compress(b"abc")[:-12], 100, "cut.gz")


def test_a_zlib_error_is_not_a_traceback():
    with pytest.raises(UserError):
        inflate(b"\x1f\x8b" + bytes(20), 100, "x.gz")
