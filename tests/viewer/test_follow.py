"""`--follow RUN_DIR`: a run still training, read as the trainer writes it (a fake run made from the shipped
mnist-vae's timeline, so no torch), moving on as snapshots come, surviving a half-written index and a stop."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pygame
import pytest

from latent_common.snapshots import ENCODER, INDEX, SNAPSHOTS, TEST, decoder_name, latents_name
from tests.helpers import ROOT, assert_one_line_error, run_module
from tests.viewer.harness import key, run_viewer
from viewer import app
from viewer.api import open_bundle
from viewer.follow import RunFollower

VAE = ROOT / "models" / "mnist-vae"


def fake_run(folder: Path) -> list[dict]:
    """A run directory's snapshots/ as the trainer writes them, from mnist-vae's timeline; returns every entry
    (index.json is written by the caller, listing as many as it wants)."""
    opened = open_bundle(VAE)
    snapshots = folder / SNAPSHOTS
    snapshots.mkdir(parents=True)
    bundle = opened.bundle
    np.savez(snapshots / TEST, images=bundle.images_chw, labels=bundle.labels)
    shutil.copyfile(VAE / "encoder.onnx", snapshots / ENCODER)
    found = opened.timeline
    entries = []
    for i, snap in enumerate(found):
        source = found[i]._timeline.decoders[i]
        shutil.copyfile(source, snapshots / decoder_name(snap.step))
        np.savez(snapshots / latents_name(snap.step), z=found[i]._timeline.latents(i))
        entries.append({"step": snap.step, "epoch": snap.epoch, "test_mse": snap.test_mse,
                        "decoder": decoder_name(snap.step), "latents": latents_name(snap.step)})  # fmt: skip
    return entries


def write_index(folder: Path, entries: list[dict], text: str | None = None) -> None:
    index = {"version": 1, "run_id": "x", "kind": "vae", "dataset": "mnist", "latent_dim": 2,
             "image_shape": [1, 28, 28], "class_names": [str(i) for i in range(10)], "steps_per_epoch": 235,
             "epochs": 30, "snapshots": entries}  # fmt: skip
    (folder / SNAPSHOTS / INDEX).write_text(text if text is not None else json.dumps(index))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> tuple[Path, list[dict]]:
    folder = tmp_path_factory.mktemp("follow") / "run"
    return folder, fake_run(folder)


def test_the_follower_reads_what_is_listed_and_skips_what_is_half_there(run_dir):
    folder, entries = run_dir
    write_index(folder, entries[:3])
    follower = RunFollower(folder)
    found = follower.wait_first(timeout=1)
    assert len(found.timeline) == 3 and found.bundle.z.shape == (10_000, 2)
    assert follower.poll() is None  # nothing new
    write_index(folder, entries, text='{"snapshots": [')  # half-written
    assert follower.poll() is None
    write_index(folder, entries[:4] + [{**entries[4], "decoder": "step-999999.onnx"}])  # a file not there yet
    assert follower.poll() is None
    write_index(folder, entries[:5])
    assert len(follower.poll().timeline) == 5


def test_following_moves_on_to_each_new_snapshot(run_dir, tmp_path: Path, monkeypatch):
    folder, entries = run_dir
    write_index(folder, entries[:2])
    monkeypatch.setattr(app, "POLL_S", 0.0)
    counts = []
    real_update = app.update

    def spy(state, models):
        counts.append((state.timeline.count, state.timeline.position))
        return real_update(state, models)

    def script(frame, layout):
        if frame == 3:
            write_index(folder, entries[:6])
        if frame == 6:
            write_index(folder, entries, text="{")  # the trainer's rename, seen half-way on some file system
        if frame == 9:
            write_index(folder, entries)
        return []

    monkeypatch.setattr(app, "update", spy)
    stats, _ = run_viewer(tmp_path, script, 14, "--follow", str(folder), bundle=VAE)
    assert counts[0] == (2, 1.0) and (6, 5.0) in counts and counts[-1] == (len(entries), len(entries) - 1.0)
    assert stats["frames"] == 14  # the half-written index cost nothing


def test_following_a_file_is_one_line(tmp_path: Path):
    (tmp_path / "run").write_text("")
    result = run_module("viewer", "--follow", str(tmp_path / "run"), "--headless", "--frames", "1")
    assert_one_line_error(result, "not a directory")


def test_following_waits_for_the_run_folder_then_says_so_in_one_line(tmp_path: Path, monkeypatch, capsys):
    """`python -m training ... &` then `--follow`: the folder may not be there yet. It is waited for, with a
    line saying so, and a folder that never comes is one line and exit status 2."""
    from viewer import cli, follow

    monkeypatch.setattr(follow, "WAIT_S", 0.3)
    assert cli.main(["--follow", str(tmp_path / "nowhere"), "--headless", "--frames", "1"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("waiting for ") and "up to 0 s" in lines[0]
    assert lines[-1].startswith("error: ") and "no such run directory after 0 s" in lines[-1] and len(lines) == 2


def test_following_a_run_whose_folder_comes_late(run_dir, tmp_path: Path):
    """The folder made while the follower waits: its first snapshot is picked up."""
    import threading

    folder, entries = run_dir
    late = tmp_path / "late"
    write_index(folder, entries[:2])
    timer = threading.Timer(0.4, shutil.copytree, (folder, late))
    timer.start()
    try:
        found = RunFollower(late).wait_first(timeout=20)
    finally:
        timer.join()
    assert len(found.timeline) == 2


def test_a_run_followed_from_its_first_snapshot_gets_the_bar_with_its_second(run_dir, tmp_path: Path, monkeypatch):
    """Opened on one snapshot there is no timeline; the second brings the bar (and a layout with room for it)."""
    folder, entries = run_dir
    write_index(folder, entries[:1])
    monkeypatch.setattr(app, "POLL_S", 0.0)
    bars = []

    def script(frame, layout):
        bars.append(layout.timeline)
        if frame == 2:
            write_index(folder, entries[:2])
        return []

    _, shot = run_viewer(tmp_path, script, 6, "--follow", str(folder), bundle=VAE)
    assert bars[0] is None and bars[-1] is not None
    assert bars[-1].bottom <= shot.get_height()


def test_a_followed_run_deleted_under_the_window_is_a_notice_not_a_crash(tmp_path: Path, monkeypatch):
    """The run's folder removed, then Up: the window stays open at the snapshot it shows and says why."""
    folder = tmp_path / "gone"
    entries = fake_run(folder)
    write_index(folder, entries[:3])
    monkeypatch.setattr(app, "POLL_S", 0.0)
    seen = []
    real_update = app.update

    def spy(state, models):
        notices = real_update(state, models)
        seen.append((state.timeline.position, notices))
        return notices

    def script(frame, layout):
        if frame == 2:
            shutil.rmtree(folder)
            return [key(pygame.K_UP), key(pygame.K_UP)]
        return []

    monkeypatch.setattr(app, "update", spy)
    stats, _ = run_viewer(tmp_path, script, 6, "--follow", str(folder), bundle=VAE)
    assert stats["frames"] == 6 and seen[-1][0] == 2.0
    said = [notice for _, notices in seen for notice in notices]
    assert any("missing" in notice and "staying at step" in notice for notice in said), said


def test_a_missing_graph_is_missing_not_unloadable(tmp_path: Path):
    from viewer.bundle import BundleError
    from viewer.inference import OnnxModel

    with pytest.raises(BundleError, match=r"step-000000\.onnx: missing$"):
        OnnxModel(tmp_path / "step-000000.onnx", "decoder", 2, (1, 28, 28), ["CPUExecutionProvider"])


def test_a_fifo_or_endless_index_and_a_truncated_snapshot_are_not_ready_not_a_hang(tmp_path: Path):
    """What a hostile pass found: index.json as a FIFO blocked forever, as a link to /dev/zero ate memory, and a
    truncated snapshot archive ended in a traceback. All three are 'not there yet' now."""
    folder = tmp_path / "run"
    entries = fake_run(folder)
    index = folder / SNAPSHOTS / INDEX
    os.mkfifo(index)
    assert RunFollower(folder).poll() is None  # returns at once: the reader opens without blocking
    index.unlink()
    index.symlink_to("/dev/zero")
    assert RunFollower(folder).poll() is None
    index.unlink()
    write_index(folder, entries[:3])
    latents = folder / SNAPSHOTS / entries[2]["latents"]
    latents.write_bytes(latents.read_bytes()[:40])  # the newest snapshot cut short
    assert RunFollower(folder).poll() is None
