"""The viewer, headless: it runs without torch, decodes at most once a frame, and draws what it should."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
import pygame  # noqa: E402

from latent_common.style import CLASS_COLORS  # noqa: E402
from tests.helpers import ROOT, SHIPPED, assert_one_line_error, run_module  # noqa: E402
from viewer.bundle import DECODER, load_bundle  # noqa: E402
from viewer.events import handle
from viewer.explore import make_plane, plane_bounds  # noqa: E402
from viewer.inference import CPU, OnnxModel, choose_providers  # noqa: E402
from viewer.layout import make_layout, window_size  # noqa: E402
from viewer.panels.paint import ImageTile  # noqa: E402
from viewer.state import initial_state  # noqa: E402

STATS_KEYS = {"frames", "frame_ms_p50", "frame_ms_p99", "decode_us_p50", "decode_us_p99", "provider"}


@pytest.mark.skipif(os.environ.get("TORCH_FREE") != "1", reason="only meaningful in the viewer-only environment")
def test_torch_is_not_installed_here():
    assert importlib.util.find_spec("torch") is None


def test_headless_run_writes_stats_and_screenshot(tmp_path: Path):
    stats, shot = tmp_path / "s.json", tmp_path / "shot.png"
    result = run_module(
        "viewer", "--headless", "--frames", "120", "--fps", "0", "--stats", str(stats), "--screenshot", str(shot)
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(stats.read_text())
    assert STATS_KEYS <= data.keys()
    assert data["frames"] == 120
    assert data["provider"] == "CPUExecutionProvider"
    # The scripted mouse moves every frame, posting several events each time: one decode per frame, no more.
    assert 100 <= data["decodes"] <= 121
    assert data["frame_ms_p99"] > 0 and data["decode_us_p50"] > 0

    image = pygame.surfarray.array3d(pygame.image.load(str(shot)))  # (x, y, 3)
    layout = make_layout(window_size())
    plot = image[layout.plot.left : layout.plot.right, layout.plot.top : layout.plot.bottom].reshape(-1, 3)
    for color in CLASS_COLORS:  # every class's dots are drawn (alpha-blended, so look for near matches)
        assert (np.abs(plot.astype(int) - color).sum(axis=1) < 60).sum() > 50, color
    digit = image[layout.tile.left : layout.tile.right, layout.tile.top : layout.tile.bottom]
    assert digit.max() > 200 and digit.min() < 40  # bright strokes on dark paper: a digit, not a blank


def test_viewer_never_imports_torch():
    code = (
        "import sys, runpy; sys.argv = ['viewer', '--headless', '--frames', '5'];"
        "import viewer.cli as cli; rc = cli.main(sys.argv[1:]);"
        "assert 'torch' not in sys.modules, 'torch imported'; sys.exit(rc)"
    )
    result = run_module("viewer", "--help")
    assert result.returncode == 0 and "--headless" in result.stdout
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, SDL_VIDEODRIVER="dummy"), cwd=ROOT)  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_missing_provider_falls_back_to_cpu_with_notice(tmp_path: Path):
    providers, notice = choose_providers("coreml")
    assert providers == [CPU] and "CoreMLExecutionProvider" in notice
    result = run_module(
        "viewer", "--headless", "--frames", "3", "--provider", "dml", "--stats", str(tmp_path / "s.json")
    )
    assert result.returncode == 0, result.stderr
    assert "DmlExecutionProvider is not available" in result.stderr
    assert json.loads((tmp_path / "s.json").read_text())["provider"] == CPU


def test_bad_flags_get_one_line():
    assert_one_line_error(run_module("viewer", "--headless", "--frames", "-1"), "--frames")


def test_unwritable_stats_path_is_one_line(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = run_module("viewer", "--headless", "--frames", "2", "--stats", str(blocker / "s.json"))
    assert_one_line_error(result, "s.json")


def setup(bundle_path=SHIPPED):
    bundle = load_bundle(bundle_path)
    plane = make_plane(bundle.z)
    home = plane_bounds(plane, plane.project(bundle.z), bundle.bounds)
    layout = make_layout(window_size())
    return bundle, plane, layout, initial_state(plane, home, layout.size, bundle.image_shape)


def test_motion_events_coalesce_into_one_latent_point():
    bundle, plane, layout, state = setup()
    before = state.z.copy()
    path = [(layout.plot.left + 10 * i, layout.plot.top + 7 * i) for i in range(1, 30)]
    for pos in path:
        state = handle(pygame.event.Event(pygame.MOUSEMOTION, pos=pos, buttons=(0, 0, 0)), state, layout, plane)
    assert not np.array_equal(state.z, before) and state.pointer.cursor == path[-1]
    np.testing.assert_allclose(state.z[0], layout.to_plane(path[-1], state.view.bounds), rtol=1e-6)


def test_still_or_outside_mouse_changes_nothing():
    bundle, plane, layout, state = setup()
    pos = layout.plot.center
    state = handle(pygame.event.Event(pygame.MOUSEMOTION, pos=pos, buttons=(0, 0, 0)), state, layout, plane)
    before = state.z.copy()
    state = handle(pygame.event.Event(pygame.MOUSEMOTION, pos=pos, buttons=(0, 0, 0)), state, layout, plane)
    outside = (layout.hud.centerx, layout.hud.centery)
    state = handle(pygame.event.Event(pygame.MOUSEMOTION, pos=outside, buttons=(0, 0, 0)), state, layout, plane)
    assert np.array_equal(state.z, before) and state.pointer.cursor is None  # left the plot: keep the image


def test_escape_quits():
    bundle, plane, layout, state = setup()
    state = handle(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_ESCAPE, unicode=""), state, layout, plane)
    assert not state.running


def test_layout_maps_plane_and_screen_both_ways():
    view = np.array([[-68.0, 15.0], [-11.0, 46.0]])  # a seed-style autoencoder's odd, lopsided scale
    layout = make_layout((1000, 640))
    corners = np.array([[-68.0, -11.0], [15.0, 46.0]])
    screen = layout.to_screen(corners, view)
    assert tuple(screen[0]) == (layout.plot.left, layout.plot.bottom - 1)  # y grows upward
    assert tuple(screen[1]) == (layout.plot.right - 1, layout.plot.top)
    for pos in [(layout.plot.left + 37, layout.plot.top + 91), layout.plot.center]:
        assert tuple(layout.to_screen(layout.to_plane(pos, view)[None], view)[0]) == pos


def test_decoder_follows_the_contract_and_decodes_batches():
    bundle = load_bundle(SHIPPED)
    decoder = OnnxModel(SHIPPED / DECODER, "decoder", bundle.latent_dim, bundle.image_shape, [CPU])
    for n in (1, 7, 256):
        images = decoder(bundle.z[:n])
        assert images.shape == (n, 1, 28, 28) and images.dtype == np.float32  # (N, C, H, W) inside the viewer
        assert images.min() >= 0.0 and images.max() <= 1.0
    # Decoding a test digit's latent gives back something close to that digit.
    error = ((decoder(bundle.z[:500]) - bundle.images_chw[:500] / 255.0) ** 2).mean()
    assert error < 0.05


def test_nan_decode_draws_a_marked_blank():
    pygame.display.init()
    pygame.display.set_mode((10, 10))
    image = np.full((1, 28, 28), np.nan, dtype=np.float32)
    surface = ImageTile(image.shape, (56, 56)).update(image)
    pixels = pygame.surfarray.array3d(surface)
    assert (
        pixels[28, 28].tolist() != pixels[28, 5].tolist()
    )  # a warning cross through the middle, blank paper elsewhere
