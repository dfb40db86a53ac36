"""A large timeline opens at no cost to the first frame: its latents read and checked a snapshot at a time as they
are shown, its hash checked after the first frame (viewer/bundle/timeline.py, verify.py, snapshots.py); and
whatever is wrong with one, a notice or one line, never a traceback, a fault or a hang."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import ROOT
from viewer.bundle import METADATA, TIMELINE_LATENTS, BundleError, load_bundle, sha256_file
from viewer.bundle import timeline as timeline_module
from viewer.bundle.timeline import read_timeline
from viewer.bundle.verify import check_later

VAE = ROOT / "models" / "mnist-vae"


def stored_copy(tmp_path: Path, poison: int | None = None, key: str = "xy") -> Path:
    """mnist-vae with its timeline's latents stored uncompressed (as a large one is written), bundle.json's hash
    updated; poison: a snapshot whose `key` (xy, its plot, or z, its latents) has a NaN."""
    copy = tmp_path / "vae"
    shutil.copytree(VAE, copy)
    file = copy / TIMELINE_LATENTS
    with np.load(file) as stored:
        arrays = {key: stored[key].copy() for key in stored.files}
    if poison is not None:
        arrays[key][poison, 5] = np.nan
    np.savez(file, **arrays)
    meta = json.loads((copy / METADATA).read_text())
    meta["files"][TIMELINE_LATENTS] = sha256_file(file)
    (copy / METADATA).write_text(json.dumps(meta))
    return copy


@pytest.fixture
def large(monkeypatch):
    """Every stored timeline counts as large: read as used, and its hash deferred."""
    monkeypatch.setattr(timeline_module, "LAZY_BYTES", 0)
    monkeypatch.setattr(timeline_module, "DEFER_HASH_BYTES", 0)


def test_a_large_stored_timeline_is_read_and_checked_as_each_snapshot_is_shown(tmp_path: Path, large):
    found = read_timeline(load_bundle(stored_copy(tmp_path, poison=2)), strict=True)
    assert set(found.stored) == {"z", "xy"} and found.z is None and not found.loaded  # nothing read yet
    z, xy = found.at(0)
    assert set(found.loaded) == {("z", 0), ("xy", 0)} and xy.shape == (10_000, 2) and np.isfinite(xy).all()
    found.places(1)
    assert ("xy", 1) in found.loaded and ("z", 1) not in found.loaded  # the moving dots need xy alone
    with pytest.raises(BundleError, match=r"'xy\[2\]' must be finite"):
        found.at(2)
    assert ("xy", 2) not in found.loaded  # still refused the next time
    with np.load(VAE / TIMELINE_LATENTS) as original:
        np.testing.assert_array_equal(found.latents(5), original["z"][5])


def test_a_small_or_compressed_timeline_is_read_and_checked_at_once(tmp_path: Path, monkeypatch):
    found = read_timeline(load_bundle(VAE), strict=True)  # the shipped one: compressed
    assert not found.stored and found.z is not None
    with pytest.raises(BundleError, match=r"'xy' must be finite"):
        read_timeline(load_bundle(stored_copy(tmp_path, poison=2)), strict=True)  # stored, but under LAZY_BYTES


def test_a_file_cut_short_while_open_is_a_notice_not_a_fault(tmp_path: Path, large):
    """Copying a new export over latents.npz truncates it first: a snapshot read after that is refused."""
    bundle = load_bundle(stored_copy(tmp_path))
    found = read_timeline(bundle)
    found.places(0)
    with (bundle.path / TIMELINE_LATENTS).open("r+b") as handle:
        handle.truncate(1_000_000)
    with pytest.raises(BundleError, match=r"'xy\[7\]' is cut short"):
        found.places(7)
    assert found.places(0).shape == (10_000, 2)  # what was read stays


def test_a_large_timelines_hash_is_checked_after_opening_and_still_warns(tmp_path: Path, large):
    bundle = load_bundle(stored_copy(tmp_path))
    assert read_timeline(bundle, defer_hash=True) is not None
    assert bundle.unhashed == (TIMELINE_LATENTS,) and not bundle.warnings
    said = []
    check_later(bundle, [], said.append, delay=60).finish()
    assert said == []  # the file is as bundle.json says
    bundle.meta.files[TIMELINE_LATENTS] = "0" * 64  # as if the file changed after export
    check_later(bundle, [], said.append, delay=60).finish()
    assert len(said) == 1 and "latents.npz: SHA-256 differs" in said[0]


def test_strict_checks_a_large_timelines_hash_at_once(tmp_path: Path, large):
    copy = stored_copy(tmp_path)
    meta = json.loads((copy / METADATA).read_text())
    meta["files"][TIMELINE_LATENTS] = "0" * 64
    (copy / METADATA).write_text(json.dumps(meta))
    bundle = load_bundle(copy)
    with pytest.raises(BundleError, match="SHA-256 differs"):
        read_timeline(bundle, strict=True, defer_hash=True)
    # without strict a large one is shown with a warning, whether the hash is checked now (--info) or later (the
    # window): the same answer either way
    assert read_timeline(bundle) is not None and "SHA-256 differs" in bundle.warnings[-1]


def test_a_snapshot_refused_while_scrubbing_holds_the_timeline_with_a_notice(tmp_path: Path, large):
    from viewer import app, cli
    from viewer.update import show_moment

    args = cli.build_parser().parse_args([str(stored_copy(tmp_path, poison=3)), "--headless"])
    models, homes = app.open_models(args)
    state = app.start_state(models, homes, args)
    notices: list[str] = []
    state.timeline.position = 5.0
    assert show_moment(state, models, notices) and not notices
    state.timeline.position = 2.5  # between the third and the poisoned fourth
    assert not show_moment(state, models, notices)
    assert state.timeline.position == 5.0 and models.timeline.shown == 5.0
    assert len(notices) == 1 and "'xy[3]' must be finite" in notices[0] and "deleted" not in notices[0]
    assert notices[0].endswith(f"staying at step {models.timeline.timeline.info.snapshots[5]['step']:,}")


def test_a_large_timelines_snapshots_are_made_ready_beside_the_frame_loop(tmp_path: Path, large):
    """SnapshotModels.prepare: every earlier snapshot's columns and decoder, on a thread; a refused one is skipped
    there and still reported when shown."""
    from viewer import app, cli

    args = cli.build_parser().parse_args([str(stored_copy(tmp_path, poison=3)), "--headless"])
    models, _ = app.open_models(args)
    snapshots = models.timeline
    snapshots.prepare(models.bundle).join(timeout=60)
    earlier = set(range(len(snapshots) - 1))
    assert set(snapshots.decoders) == set(snapshots.rows) == earlier - {3}
    np.testing.assert_array_equal(snapshots.rows[0], snapshots.timeline.places(0).T)
    with pytest.raises(BundleError, match=r"'xy\[3\]'"):
        snapshots.show(models, 3.0)
    snapshots.stop()
    assert not snapshots.preparing.is_alive()


def test_info_checks_every_snapshot_of_a_large_timeline(tmp_path: Path, large):
    """--info looks at what the window checks as it goes: a refused snapshot says NOT usable, --strict fails."""
    from viewer.catalog import timeline_line

    bundle = load_bundle(stored_copy(tmp_path, poison=4))
    line = timeline_line(bundle, strict=False)
    assert "NOT usable" in line and "'xy[4]' must be finite" in line
    with pytest.raises(BundleError, match=r"'xy\[4\]'"):
        timeline_line(load_bundle(bundle.path), strict=True)
    assert "its files verify" in timeline_line(load_bundle(stored_copy(tmp_path / "clean")), strict=True)


@pytest.mark.parametrize("key", ["xy", "z"])
def test_a_snapshots_bad_latents_hold_the_timeline_too(tmp_path: Path, large, key: str):
    """Its latents (z) are what its neighbours are found among: refused as it is shown, like its plot."""
    from viewer import app, cli
    from viewer.update import show_moment

    args = cli.build_parser().parse_args([str(stored_copy(tmp_path, poison=3, key=key)), "--headless"])
    models, homes = app.open_models(args)
    state = app.start_state(models, homes, args)
    notices: list[str] = []
    state.timeline.position = 3.0
    assert not show_moment(state, models, notices)
    assert len(notices) == 1 and f"'{key}[3]' must be finite" in notices[0]
    models.timeline.stop()


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_latents_that_are_not_a_file_are_one_line(tmp_path: Path, kind: str):
    import os

    copy = tmp_path / "vae"
    shutil.copytree(VAE, copy)
    file = copy / TIMELINE_LATENTS
    file.unlink()
    os.mkfifo(file) if kind == "fifo" else file.mkdir()
    bundle = load_bundle(copy)
    words = "is a FIFO" if kind == "fifo" else "is a directory"
    with pytest.raises(BundleError, match=words):
        read_timeline(bundle, strict=True)
    assert read_timeline(bundle) is None and words in bundle.warnings[-1]
