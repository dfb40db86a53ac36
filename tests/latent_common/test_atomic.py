"""atomic_write replaces only regular files, keeps the modes a user expects, and names a wrapped disk-full.

Standard library only (no torch, no pygame): runs in both test environments.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from latent_common.atomic import WriteError, atomic_write, check_writable, write_json
from latent_common.errors import printable, reason


def write_hello(handle) -> None:
    handle.write(b"hello")


def test_a_symlink_is_refused_and_its_target_kept(tmp_path: Path):
    target = tmp_path / "target.txt"
    target.write_text("keep me")
    link = tmp_path / "stats.json"
    link.symlink_to(target)
    with pytest.raises(WriteError, match="symbolic link"):
        atomic_write(link, write_hello)
    assert link.is_symlink() and target.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stats.json", "target.txt"]


def test_a_directory_and_a_pipe_are_refused(tmp_path: Path):
    (tmp_path / "folder").mkdir()
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(WriteError, match="is a directory, not a regular file"):
        atomic_write(tmp_path / "folder", write_hello)
    with pytest.raises(WriteError, match="named pipe"):
        atomic_write(tmp_path / "pipe", write_hello)
    assert (tmp_path / "folder").is_dir() and stat.S_ISFIFO(os.lstat(tmp_path / "pipe").st_mode)


def test_a_device_node_is_refused(tmp_path: Path):
    node = tmp_path / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o600, os.makedev(1, 3))  # the same device as /dev/null
    except (PermissionError, OSError) as exc:
        pytest.skip(f"cannot make a device node here ({exc.strerror})")
    with pytest.raises(WriteError, match="device node"):
        atomic_write(node, write_hello)
    assert stat.S_ISCHR(os.lstat(node).st_mode)


def test_a_new_file_gets_the_umask_mode_and_a_replaced_one_keeps_its_own(tmp_path: Path):
    old = os.umask(0o027)
    try:
        atomic_write(tmp_path / "new.txt", write_hello)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "new.txt").st_mode) == 0o640
    existing = tmp_path / "existing.txt"
    existing.write_text("x")
    existing.chmod(0o604)
    atomic_write(existing, write_hello)
    assert stat.S_IMODE(os.stat(existing).st_mode) == 0o604 and existing.read_bytes() == b"hello"


def test_a_disk_full_wrapped_in_a_runtime_error_is_a_write_error(tmp_path: Path):
    """torch.save raises RuntimeError('... unexpected pos ...') with the ENOSPC as its __context__."""
    target = tmp_path / "checkpoint.pt"
    target.write_bytes(b"previous")

    def torch_like_save(handle):
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError:
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704 vs 598") from None

    with pytest.raises(WriteError, match=r"cannot write \(No space left on device\); any earlier version"):
        atomic_write(target, torch_like_save)
    assert target.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]


def test_other_errors_pass_through(tmp_path: Path):
    with pytest.raises(ValueError, match="Out of range float"):
        write_json(tmp_path / "metrics.json", {"loss": float("nan")})
    assert list(tmp_path.iterdir()) == []


def test_library_text_is_made_printable():
    hostile = "node '\x1b]0;pwned\x07\x1b[31mred' failed\u202e\ud800\x00"
    line = reason(RuntimeError(hostile + "\nsecond line"))
    assert line == "node '?]0;pwned??[31mred' failed???"
    assert printable("日本語 ok") == "日本語 ok"  # ordinary text stays as it is
    assert reason(RuntimeError("")) == "RuntimeError"


def test_check_writable_leaves_nothing_behind_and_refuses_what_it_cannot_write(tmp_path):
    check_writable(tmp_path / "new" / "deeper")  # not there yet: probed in tmp_path, and not created
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "file").write_text("x")
    with pytest.raises(WriteError, match="cannot write there"):
        check_writable(tmp_path / "file" / "run")
