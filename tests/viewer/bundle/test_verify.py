"""A large embedding's hash is checked on a thread after load_bundle, and a change is still a warning."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import SHIPPED
from viewer.bundle import load_bundle
from viewer.bundle import read as read_module
from viewer.bundle.format import EMBEDDING, BundleError
from viewer.bundle.verify import check_later


@pytest.fixture
def changed(tmp_path: Path, monkeypatch) -> Path:
    """A copy of the shipped bundle whose embedding changed after export, counted as large."""
    monkeypatch.setattr(read_module, "DEFER_HASH_BYTES", 0)
    copy = tmp_path / "bundle"
    shutil.copytree(SHIPPED, copy)
    with (copy / EMBEDDING).open("ab") as handle:
        handle.write(b"\0")
    return copy


def test_the_deferred_hash_still_warns(changed: Path):
    bundle = load_bundle(changed, defer_hash=True)
    assert bundle.unhashed == (EMBEDDING,) and bundle.warnings == []  # opened without reading it all
    said = []
    check_later(bundle, [], said.append, delay=60).finish()  # finish() hashes at once
    assert len(said) == 1 and "SHA-256 differs" in said[0]


def test_strict_never_defers(changed: Path):
    with pytest.raises(BundleError, match="SHA-256 differs"):
        load_bundle(changed, strict=True, defer_hash=True)


def test_an_unchanged_embedding_says_nothing(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(read_module, "DEFER_HASH_BYTES", 0)
    bundle = load_bundle(SHIPPED, defer_hash=True)
    said = []
    check_later(bundle, [], said.append, delay=60).finish()  # finish() hashes at once
    assert bundle.unhashed == (EMBEDDING,) and said == []
