"""The viewer keeps running through what a real session throws at it: resizes, bursts, leaving, soak."""

from __future__ import annotations

import json
from pathlib import Path

import pygame
import pytest

from tests.helpers import assert_one_line_error, run_module
from tests.viewer.harness import move, run_viewer
from viewer import app
from viewer.layout import MIN_WINDOW


def run_headless(tmp_path: Path, script, frames: int = 12, *extra: str) -> tuple[dict, pygame.Surface]:
    return run_viewer(tmp_path, script, frames, *extra)


def test_a_burst_of_thousands_of_events_is_one_decode(tmp_path: Path):
    def burst(frame, layout):
        if frame == 3:
            return [move((layout.plot.left + i % layout.plot.width, layout.plot.top + i % 97)) for i in range(5000)]
        return []

    stats, _ = run_headless(tmp_path, burst)
    assert stats["frames"] == 12
    assert stats["decodes"] == 2  # the first frame, and once for the whole burst


def test_resize_rebuilds_the_layout(tmp_path: Path):
    def resize(frame, layout):
        if frame == 2:
            return [pygame.event.Event(pygame.VIDEORESIZE, w=900, h=600, size=(900, 600))]
        return app.scripted_mouse(frame, layout.plot)

    stats, shot = run_headless(tmp_path, resize)
    assert shot.get_size() == (900, 600)
    assert stats["decodes"] >= 10


def test_a_tiny_window_is_held_at_the_minimum(tmp_path: Path):
    def shrink(frame, layout):
        return [pygame.event.Event(pygame.WINDOWSIZECHANGED, x=120, y=80)] if frame == 1 else []

    _, shot = run_headless(tmp_path, shrink, 4)
    assert shot.get_size() == MIN_WINDOW


@pytest.mark.parametrize(
    "event_type", [pygame.WINDOWLEAVE, pygame.WINDOWMINIMIZED, pygame.WINDOWRESTORED, pygame.WINDOWFOCUSLOST]
)
def test_window_events_are_harmless(tmp_path: Path, event_type):
    def script(frame, layout):
        return [pygame.event.Event(event_type)] if frame % 3 == 0 else app.scripted_mouse(frame, layout.plot)

    stats, _ = run_headless(tmp_path, script)
    assert stats["frames"] == 12


def test_mouse_outside_the_plot_keeps_the_last_digit(tmp_path: Path):
    def script(frame, layout):
        return [move(layout.plot.center)] if frame == 1 else [move((layout.tile.centerx, layout.tile.bottom + 5))]

    stats, _ = run_headless(tmp_path, script)
    assert stats["decodes"] == 2  # start, then the one move inside the plot


def test_quit_event_ends_the_run(tmp_path: Path):
    stats, _ = run_headless(tmp_path, lambda frame, layout: [pygame.event.Event(pygame.QUIT)] if frame == 4 else [], 50)
    assert stats["frames"] == 5


def test_still_mouse_at_a_cap_redraws_almost_nothing(tmp_path: Path):
    stats, _ = run_headless(tmp_path, lambda frame, layout: [], 60, "--fps", "120")
    assert stats["decodes"] == 1
    assert stats["frames_drawn"] <= 3  # the first frame, and the HUD's twice-a-second refresh


def test_strict_provider_turns_the_fallback_into_an_error():
    result = run_module("viewer", "--headless", "--frames", "2", "--provider", "coreml", "--strict-provider")
    assert_one_line_error(result, "CoreMLExecutionProvider", "--strict-provider")


@pytest.mark.slow
def test_soak_memory_stays_flat(tmp_path: Path):
    """100,000 frames with a moving cursor: resident memory grows by less than 5 MB after the first 1,000."""
    stats = tmp_path / "soak.json"
    result = run_module("viewer", "--headless", "--frames", "100000", "--fps", "0", "--stats", str(stats), timeout=900)
    assert result.returncode == 0, result.stderr
    data = json.loads(stats.read_text())
    assert data["decodes"] >= 99_000
    growth = data["rss_mb"]["at_end"] - data["rss_mb"]["at_frame_1000"]
    assert growth < 5.0, data["rss_mb"]
