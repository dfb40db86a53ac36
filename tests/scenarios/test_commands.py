"""Every command ends the same way (docs/reliability.md, "Interrupts" and "Odd names and small inputs").

latent_common.cli.command is each main's outermost frame: a user error is one printable line and status 2,
Ctrl-C one line and 130; interrupts_while_loading covers a `__main__`'s imports; interrupts_held covers the
renames that put a result in place. Names are shown through latent_common.files.shown / errors.printable.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import ROOT, SHIPPED, assert_one_line_error, run_module
from viewer import catalog
from viewer.bundle import write as bundle_write
from viewer.bundle import write_bundle
from viewer.explore import nearest
from viewer.session_file import SessionError, check_savable

# Interrupts


def test_ctrl_c_during_the_swap_is_held_off(tmp_path: Path, monkeypatch):
    """A SIGINT between the two renames of write_bundle's swap: the new bundle still lands, whole."""
    real_replace = os.replace

    def replace_then_interrupt(src, dst):
        real_replace(src, dst)
        os.kill(os.getpid(), signal.SIGINT)  # ignored inside interrupts_held: no KeyboardInterrupt here

    files = {name: SHIPPED / name for name in ("decoder.onnx", "encoder.onnx", "embedding.npz")}
    from viewer.bundle import load_bundle

    meta = load_bundle(SHIPPED).meta
    out = tmp_path / "bundle"
    write_bundle(out, files, meta)
    monkeypatch.setattr(bundle_write.os, "replace", replace_then_interrupt)
    write_bundle(out, files, meta, force=True)  # once: KeyboardInterrupt after the first rename, no bundle at out
    monkeypatch.undo()
    assert load_bundle(out).meta.name == meta.name


@pytest.mark.parametrize("module", ["export", "training", "export.map"])
def test_ctrl_c_while_a_command_starts_is_one_line(tmp_path: Path, module: str):
    """SIGINT at a few moments of start-up (modules loading): never a traceback, one line, 130 (or the command's
    own one-line error, when it got that far first)."""
    if module == "training":
        pytest.importorskip("torch")  # the viewer's venv has no training at all
    args = {
        "export": ["--encoder", "e.onnx", "--decoder", "d.onnx", "--dataset", "mnist", "--out", str(tmp_path / "b")],
        "training": ["--run-dir", str(tmp_path / "none"), "--resume"],
        "export.map": [str(tmp_path / "none")],
    }[module]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for delay in (0.15, 0.4):  # Python itself starts in ~30 ms: a Ctrl-C before any of our code is its own
        process = subprocess.Popen(
            [sys.executable, "-m", module, *args], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True
        )
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
        lines = [line for line in err.splitlines() if line.strip()]
        assert "Traceback" not in err, err
        # -2: the signal came as the process exited, its line already printed (a shell shows 130 for it too)
        assert len(lines) <= 1 and process.returncode in (2, 130, -signal.SIGINT), (process.returncode, err)
        if process.returncode == 130:
            assert lines and lines[0].startswith("interrupted: "), err


# Odd names and small inputs


def test_list_shows_a_hostile_folder_name_on_one_line(tmp_path: Path, monkeypatch):
    for name in ("bad\x1b]2;pwned\x07", "two\nlines"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "bundle.json").write_text("{}")
    monkeypatch.setattr(catalog, "shipped_dir", lambda: tmp_path)
    lines = catalog.list_lines()
    assert len(lines) == 3  # the header and one line each: a newline in a name no longer splits the table
    assert all(ch.isprintable() for line in lines for ch in line), lines


def test_a_five_thousand_character_name_is_one_line():
    result = run_module("viewer", "a" * 5000, "--info")
    line = assert_one_line_error(result, "no such bundle folder")
    assert len(line) < 1000


@pytest.mark.parametrize("points", [1, 2, 3])
def test_a_tiny_embedding_answers_every_neighbour_it_has(points: int):
    z = np.arange(points * 2, dtype=np.float32).reshape(points, 2)
    assert sorted(nearest(z, z[0], 4)) == list(range(points))  # once: kth out of bounds


def test_a_session_that_could_not_be_saved_is_refused_at_start(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SessionError, match="cannot write there"):
        check_savable(blocker / "session.json")  # under a file: found at quit, the pins were lost
    os.mkfifo(tmp_path / "pipe.json")
    with pytest.raises(SessionError, match="not a regular file"):
        check_savable(tmp_path / "pipe.json")
    check_savable(tmp_path / "new.json")
    result = run_module("viewer", "--headless", "--frames", "1", "--session", str(blocker / "s.json"))
    assert_one_line_error(result, "pick another --session")


def test_a_run_whose_config_is_not_json_is_named():
    pytest.importorskip("torch")
    from training.checkpoint import RunFileError, read_json

    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"config-{os.getpid()}.json"
    path.write_text("{not json")
    try:
        with pytest.raises(RunFileError, match="config-.*not valid JSON"):
            read_json(path)
    finally:
        path.unlink()
    assert json  # the module's own JSON files are read through latent_common.files
