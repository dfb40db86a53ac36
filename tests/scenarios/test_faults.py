"""Writes that fail (a full disk, a read-only folder) leave every earlier artifact exactly as it was."""

from __future__ import annotations

import errno
import json
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from export import export as export_module
from latent_common.atomic import WriteError
from tests.helpers import SHIPPED
from training import train as train_module
from training.checkpoint import CHECKPOINT, METRICS
from training.config import TrainConfig
from viewer import bundle as bundle_module
from viewer.bundle import write as bundle_write


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def tiny(root: Path, run_dir: Path, **changes) -> TrainConfig:
    return TrainConfig(data_root=str(root), run_dir=str(run_dir), batch_size=64, device="cpu", hidden="32", **changes)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_failed_checkpoint_write_keeps_the_previous_one(tiny_root: Path, tmp_path: Path, monkeypatch, code, capsys):
    run = tmp_path / "run"
    train_module.run(tiny(tiny_root, run, epochs=1))
    before = snapshot(run)
    real_save = torch.save

    def failing_save(obj, handle, *args, **kwargs):
        real_save(obj, handle, *args, **kwargs)  # half the work is done when the disk says no
        raise OSError(code, "simulated failure")

    monkeypatch.setattr(torch, "save", failing_save)
    status = train_module.main(["--data-root", str(tiny_root), "--run-dir", str(run), "--epochs", "2",
                                "--batch-size", "64", "--hidden", "32", "--device", "cpu", "--overwrite"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert err[-1].startswith("error: ") and CHECKPOINT in err[-1] and "unchanged" in err[-1]
    after = snapshot(run)
    assert after[CHECKPOINT] == before[CHECKPOINT] and after[METRICS] == before[METRICS]
    assert not [name for name in after if name.endswith(".tmp")]


def test_failed_bundle_write_keeps_the_previous_bundle(tmp_path: Path, monkeypatch):
    out = tmp_path / "bundle"
    shutil.copytree(SHIPPED, out)
    before = snapshot(out)
    real_write = Path.write_bytes

    def full_disk(self, data):
        if self.name == "embedding.npz":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    files = {name: (SHIPPED / name).read_bytes() for name in bundle_module.DATA_FILES}
    with pytest.raises(WriteError, match="No space left"):
        meta = bundle_module.BundleMeta.from_dict(json.loads((SHIPPED / "bundle.json").read_text()))
        bundle_module.write_bundle(out, files, meta, force=True)
    assert snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["bundle"]


def test_export_cli_reports_a_failed_write_in_one_line(tiny_root: Path, tmp_path: Path, monkeypatch, capsys):
    run = tmp_path / "run"
    train_module.run(tiny(tiny_root, run, epochs=1))

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(bundle_write, "tempfile", SimpleNamespace(mkdtemp=read_only))
    status = export_module.main([str(run), "--out", str(tmp_path / "b")])
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error")]
    assert status == 2 and len(err) == 1 and "Read-only file system" in err[0]
    assert not (tmp_path / "b").exists()


@pytest.fixture
def small_tmpfs(tmp_path: Path):
    """A real 1 MiB tmpfs, so a write fails with the ENOSPC the kernel gives, wrapped however torch wraps it."""
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True)
    except OSError as exc:
        pytest.skip(f"cannot run mount ({exc.strerror})")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_real_disk_full_during_torch_save_is_one_line(tiny_root: Path, small_tmpfs: Path, capsys):
    run = small_tmpfs / "run"
    # hidden 32: a ~0.3 MB checkpoint fits (the snapshots, the decoder over and over, would not)
    train_module.run(tiny(tiny_root, run, epochs=1, no_snapshots=True))
    before = snapshot(run)
    # hidden 512: the new checkpoint (~6 MB with Adam's state) cannot fit in what is left
    status = train_module.main(["--data-root", str(tiny_root), "--run-dir", str(run), "--epochs", "1",
                                "--batch-size", "64", "--hidden", "512", "--device", "cpu", "--overwrite",
                                "--no-snapshots"])  # fmt: skip
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error")]
    assert status == 2 and len(err) == 1, err
    assert CHECKPOINT in err[0] and "No space left on device" in err[0] and "unchanged" in err[0]
    assert snapshot(run) == before  # checkpoint, config and metrics of the earlier run, byte for byte
