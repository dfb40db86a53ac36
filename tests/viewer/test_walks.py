"""Walks you can keep: waypoints added with Shift+click, the path drawn, W playing it in the big tile, and the
walk written as an animated GIF from the window (Shift+W) or headless (--export-walk)."""

from __future__ import annotations

import numpy as np
import pygame

from latent_common.style import WALK
from tests.helpers import ROOT, SHIPPED, assert_one_line_error, run_module
from tests.viewer.harness import ev, key, move, press, run_viewer
from tests.viewer.test_gif import decode
from viewer.bundle import load_bundle
from viewer.events import handle
from viewer.explore import make_plane, plane_bounds
from viewer.layout import make_layout, window_size
from viewer.state import Focus, Request, initial_state

LAYOUT = make_layout(window_size())
VAE = ROOT / "models" / "mnist-vae"
SPOTS = [(LAYOUT.plot.left + 80, LAYOUT.plot.top + 100), (LAYOUT.plot.left + 260, LAYOUT.plot.top + 300),
         (LAYOUT.plot.left + 420, LAYOUT.plot.top + 120)]  # fmt: skip


def shift_click(pos):
    return [move(pos), press(pos), ev(pygame.MOUSEBUTTONUP, pos=pos, button=1, mod=pygame.KMOD_LSHIFT)]


def fresh(path=SHIPPED):
    bundle = load_bundle(path)
    plane = make_plane(bundle.z)
    home = plane_bounds(plane, plane.project(bundle.z), bundle.bounds)
    state = initial_state(plane, home, LAYOUT.size, bundle.chw, class_count=len(bundle.class_names))
    state.route.variational = bundle.variational
    return plane, state


def feed(state, plane, events):
    for event in events:
        state = handle(event, state, LAYOUT, plane)
    return state


def test_export_walk_writes_a_gif_whose_frames_change_smoothly(tmp_path):
    out = tmp_path / "walk.gif"
    result = run_module("viewer", "--waypoints", "-3", "-2", "0", "1", "3", "-1", "--export-walk", str(out),
                        "--walk-frames", "10")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "21 frames through 3 waypoints" in result.stdout
    frames, _ = decode(out.read_bytes())
    frames = frames[..., 0].astype(np.float64)  # grey: every channel is the same
    assert frames.shape == (21, 28 * 4, 28 * 4)
    # frames k apart differ more the larger k is: a smooth walk, not a slideshow (a class boundary can still
    # make one step larger than the rest, so the comparison is of the mean over the walk)
    apart = [np.mean([np.abs(frames[i + k] - frames[i]).mean() for i in range(len(frames) - k)]) for k in (1, 2, 5, 10)]
    assert apart == sorted(apart) and apart[0] < 0.4 * apart[-1], apart


def test_export_walk_along_great_circles_and_its_usage_errors(tmp_path):
    out = tmp_path / "slerp.gif"
    result = run_module("viewer", str(VAE), "--slerp", "--waypoints", "-2", "-2", "2", "2", "--export-walk", str(out))
    assert result.returncode == 0 and "great circles" in result.stdout, result.stderr
    assert len(decode(out.read_bytes())[0]) == 17
    assert_one_line_error(run_module("viewer", "--export-walk", str(out)), "--waypoints")
    assert_one_line_error(run_module("viewer", "--waypoints", "1", "2", "3", "--export-walk", str(out)), "pairs")


def test_shift_click_adds_waypoints_w_plays_and_x_clears():
    plane, state = fresh()
    state = feed(state, plane, [key(pygame.K_w, "w")])
    assert state.focus == Focus.HOVER and "two waypoints" in state.notice
    state = feed(state, plane, [e for spot in SPOTS[:2] for e in shift_click(spot)])
    assert len(state.route.waypoints) == 2 and state.route.pins == []  # plain clicks still pin A and B
    state = feed(state, plane, [key(pygame.K_w, "w")])
    assert state.focus == Focus.WALK and len(state.route.path) == state.route.walk_frames + 1  # one leg
    np.testing.assert_allclose(state.z[0], state.route.waypoints[0])
    state = feed(state, plane, [move(SPOTS[2])])  # the mouse moving on does not stop the walk
    assert state.focus == Focus.WALK
    state = feed(state, plane, [key(pygame.K_x, "x")])
    assert state.route.waypoints == [] and state.focus == Focus.HOVER


def test_esc_stops_a_playing_walk_before_it_quits():
    plane, state = fresh()
    state = feed(state, plane, [e for spot in SPOTS[:2] for e in shift_click(spot)] + [key(pygame.K_w, "w")])
    assert state.focus == Focus.WALK
    state = feed(state, plane, [key(pygame.K_ESCAPE)])
    assert state.focus == Focus.HOVER and state.route.path is None and len(state.route.waypoints) == 2 and state.running
    state = feed(state, plane, [key(pygame.K_ESCAPE)])
    assert not state.running


def test_caps_lock_and_w_plays_the_walk_and_only_shift_exports_it():
    plane, state = fresh()
    state = feed(state, plane, [e for spot in SPOTS[:2] for e in shift_click(spot)])
    caps_w = ev(pygame.KEYDOWN, key=pygame.K_w, unicode="W", mod=pygame.KMOD_CAPS)  # Caps Lock on, no Shift
    state = feed(state, plane, [caps_w])
    assert state.focus == Focus.WALK and Request.EXPORT_WALK not in state.requests
    shift_caps_w = ev(pygame.KEYDOWN, key=pygame.K_w, unicode="w", mod=pygame.KMOD_CAPS | pygame.KMOD_LSHIFT)
    state = feed(state, plane, [shift_caps_w])
    assert Request.EXPORT_WALK in state.requests


def test_l_toggles_great_circles_for_a_variational_model_only():
    plane, state = fresh()
    state = feed(state, plane, [key(pygame.K_l, "l")])
    assert not state.route.slerp and "variational" in state.notice
    plane, state = fresh(VAE)
    state = feed(state, plane, [key(pygame.K_l, "l")])
    assert state.route.slerp


def test_the_walk_is_drawn_played_and_exported_in_the_window(tmp_path):
    record = tmp_path / "frames"
    record.mkdir()

    def script(frame, layout):
        if frame < 3:
            return shift_click(SPOTS[frame])
        if frame == 3:
            return [key(pygame.K_w, "w")]
        if frame == 20:
            return [key(pygame.K_w, "W")]  # Shift+W types a capital W
        return []

    _, shot = run_viewer(
        tmp_path, script, 24, "--mouse", "still", "--record", str(record), "--shots-dir", str(tmp_path)
    )
    # the path: its colour halfway between the first two waypoints
    image = pygame.surfarray.array3d(shot).astype(int)
    (x0, y0), (x1, y1) = SPOTS[:2]
    around = image[(x0 + x1) // 2 - 2 : (x0 + x1) // 2 + 3, (y0 + y1) // 2 - 2 : (y0 + y1) // 2 + 3]
    assert (np.abs(around - WALK).sum(axis=2) < 30).any()
    # playing: the big tile changes from drawn frame to drawn frame
    tiles = []
    for png in sorted(record.iterdir())[-12:]:
        pixels = pygame.surfarray.array3d(pygame.image.load(str(png)))
        tiles.append(pixels[LAYOUT.tile.left : LAYOUT.tile.right, LAYOUT.tile.top : LAYOUT.tile.bottom].tobytes())
    assert len(set(tiles)) >= 8
    gifs = list(tmp_path.glob("walk-*.gif"))
    assert len(gifs) == 1 and len(decode(gifs[0].read_bytes())[0]) == 2 * 16 + 1
