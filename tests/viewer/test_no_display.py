"""Without a display, the viewer says so in one line and exits 2 (it hung, or failed in SDL, before)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers import ROOT, SHIPPED, assert_one_line_error


def viewer_without_display(**extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")}
    env |= {"PYGAME_HIDE_SUPPORT_PROMPT": "1", **extra}
    return subprocess.run([sys.executable, "-m", "viewer", str(SHIPPED), "--frames", "1"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="DISPLAY and WAYLAND_DISPLAY are Linux's")
def test_no_display_is_one_line_and_exit_2():
    assert_one_line_error(viewer_without_display(), "no display", "--headless")


def test_a_video_driver_that_fails_to_start_is_one_line_and_exit_2():
    assert_one_line_error(viewer_without_display(SDL_VIDEODRIVER="no-such-driver"), "no display")
