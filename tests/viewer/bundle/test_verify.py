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


def test_the_check_waits_for_a_quiet_window(changed: Path, monkeypatch):
    """Hashing beside a gesture takes the memory bandwidth its frames need: the check starts IDLE_S after the
    window was last busy (input, or something playing), not while it is."""
    import time

    from viewer.bundle import verify

    monkeypatch.setattr(verify, "IDLE_S", 0.3)
    started, real = [], verify.subprocess.run
    monkeypatch.setattr(verify.subprocess, "run", lambda *a, **k: started.append(time.monotonic()) or real(*a, **k))
    bundle = load_bundle(changed, defer_hash=True)
    said = []
    check = check_later(bundle, [], said.append, delay=0.2)
    for _ in range(6):  # busy for 0.6 s: two IDLE_S and more
        check.busy()
        time.sleep(0.1)
    last_busy = check.last_busy[0]
    check.thread.join(timeout=30)
    assert started and started[0] >= last_busy + 0.3 - 0.01  # not before the window went quiet
    assert len(said) == 1 and "SHA-256 differs" in said[0]
