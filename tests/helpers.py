"""Helpers shared by the torch and torch-free test suites: numpy and the standard library only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The mnist-ae that shipped until the timelines came (format 1, 28x28 grey without a channel axis, test MSE
# 0.0344): kept here, byte for byte, as the bundle the contract and fault tests edit, and the proof that format-1
# bundles still open. models/mnist-ae is now a format-2 retrain with a timeline.
SHIPPED = ROOT / "tests" / "bundles" / "mnist-ae-format1"


def run_module(module: str, *args: str, python: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `python -m module args` from the project root, as a user would, capturing its output."""
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", PYGAME_HIDE_SUPPORT_PROMPT="1")
    return subprocess.run(
        [python or sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    """A user error: exit status 2, no traceback, one line on stderr that names what went wrong."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, lines
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def special(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"special-{kind}"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    else:
        path.symlink_to("/dev/zero")  # its size reads as 0: only the opened descriptor says what it is
    return path


SPECIAL_WORDS = {"fifo": "is a FIFO", "directory": "is a directory", "dev-zero": "is a character device"}
