"""The timeline in the window: its state actions, the bar under the plot, scrubbing, stepping and playing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pygame
import pytest

from tests.helpers import ROOT
from tests.viewer.harness import key, move, press, release, run_viewer
from viewer.state import (
    SNAPSHOTS_PER_S,
    ViewState,
    advance_timeline,
    configure_timeline,
    grab_timeline,
    let_go_timeline,
    scrub,
    step_timeline,
    toggle_play,
)
from viewer.state.record import Canvas, Pointer, View

VAE = ROOT / "models" / "mnist-vae"


def bare_state(count: int) -> ViewState:
    bounds = np.array([[-1.0, 1.0], [-1.0, 1.0]])
    state = ViewState(np.zeros((1, 2), np.float32), (800, 600), View(bounds, bounds, np.zeros(0)), Pointer(np.zeros(2)),
                      Canvas(np.zeros((1, 28, 28), np.float32)))  # fmt: skip
    configure_timeline(state, count)
    return state


def test_the_timeline_starts_at_the_bundle_and_steps_between_snapshots():
    state = bare_state(12)
    assert state.timeline.position == 11  # the last snapshot: the bundle itself
    step_timeline(state, 1)
    assert state.timeline.position == 11  # no further
    step_timeline(state, -1)
    assert state.timeline.position == 10
    scrub(state, 0.5)
    assert state.timeline.position == 5.5
    step_timeline(state, -1)
    assert state.timeline.position == 5  # from between two, to the nearer end that way
    scrub(state, 0.5)
    step_timeline(state, 1)
    assert state.timeline.position == 6


def test_play_runs_to_the_end_and_stops_there():
    state = bare_state(12)
    toggle_play(state)  # at the end: play starts over from the untrained model
    assert state.timeline.playing and state.timeline.position == 0
    advance_timeline(state, 1.0)
    assert state.timeline.position == SNAPSHOTS_PER_S
    toggle_play(state)
    advance_timeline(state, 1.0)
    assert state.timeline.position == SNAPSHOTS_PER_S and not state.timeline.playing  # paused
    toggle_play(state)
    advance_timeline(state, 100.0)
    assert state.timeline.position == 11 and not state.timeline.playing
    grab_timeline(state, 0.0)
    assert state.timeline.dragging and state.timeline.position == 0
    let_go_timeline(state)
    assert not state.timeline.dragging


def test_without_a_timeline_the_keys_do_nothing():
    state = bare_state(0)
    step_timeline(state, -1)
    toggle_play(state)
    scrub(state, 0.3)
    assert state.timeline.position == 0 and not state.timeline.playing


def tile_pixels(surface: pygame.Surface, layout_tile: pygame.Rect) -> np.ndarray:
    return pygame.surfarray.array3d(surface.subsurface(layout_tile)).astype(np.int64)


@pytest.mark.parametrize("size", [(600, 460), (1280, 800)])
def test_up_goes_back_to_the_untrained_model_and_the_bar_shows_it(tmp_path: Path, size):
    """Up eleven times: the plot is the untrained model's knot and the tile is its decode (a grey blur); the
    bar's words name step 0. Compared with the same cursor at the last snapshot."""
    seen = {}

    def script(frame, layout):
        seen["layout"] = layout
        events = [pygame.event.Event(pygame.VIDEORESIZE, w=size[0], h=size[1], size=size)] if frame == 0 else []
        if frame == 2:
            events.append(move(layout.plot.center))
        if frame == 4 and seen.get("back"):
            events += [key(pygame.K_UP)] * 11
        return events

    _, last = run_viewer(tmp_path, script, 8, bundle=VAE)
    seen["back"] = True
    _, first = run_viewer(tmp_path, script, 8, bundle=VAE)
    layout = seen["layout"]
    assert layout.size == size and layout.timeline is not None
    assert layout.timeline.bottom <= layout.footer.top and layout.timeline.top >= layout.plot.bottom
    untrained, trained = tile_pixels(first, layout.tile), tile_pixels(last, layout.tile)
    assert np.abs(untrained - trained).mean() > 10  # another model decodes under the same cursor
    assert untrained.std() < trained.std()  # the untrained decoder's blur has less contrast
    bar_first = pygame.surfarray.array3d(first.subsurface(layout.timeline))
    bar_last = pygame.surfarray.array3d(last.subsurface(layout.timeline))
    assert (bar_first != bar_last).any()  # the knob and the words moved


def test_dragging_the_bar_scrubs_and_space_plays(tmp_path: Path, monkeypatch):
    positions = []

    def script(frame, layout):
        bar = layout.timeline
        left, right = layout.timeline_track()
        if frame == 1:
            return [move((left, bar.centery)), press((left, bar.centery))]
        if frame == 2:
            return [move(((left + right) // 2, bar.centery), held=True)]
        if frame == 3:
            return [release(((left + right) // 2, bar.centery)), key(pygame.K_SPACE, " ")]
        return []

    from viewer import app

    real_update = app.update

    def spy(state, models):
        positions.append(state.timeline.position)
        return real_update(state, models)

    monkeypatch.setattr(app, "update", spy)
    run_viewer(tmp_path, script, 10, bundle=VAE)
    assert positions[1] == 0 and positions[2] == pytest.approx(5.5, abs=0.1)
    assert positions[-1] > positions[3]  # Space plays on from where the drag left it


def test_r_frames_the_snapshot_shown_and_the_home_view_at_the_last(tmp_path: Path, monkeypatch):
    """At step 0 the untrained model's dots are a knot a hundredth of the final width: R frames them, and at the
    last snapshot R goes back to the home view (the bundle's own bounds)."""
    from viewer import app

    views = []
    real_update = app.update

    def spy(state, models):
        notices = real_update(state, models)
        views.append((state.timeline.position, state.view.bounds.copy(), state.view.home.copy(), models.points))
        return notices

    def script(frame, layout):
        if frame == 1:
            return [key(pygame.K_UP)] * 11
        if frame == 3:
            return [key(pygame.K_r, "r")]
        if frame == 5:
            return [key(pygame.K_DOWN)] * 11
        if frame == 6:
            return [key(pygame.K_r, "r")]
        return []

    monkeypatch.setattr(app, "update", spy)
    run_viewer(tmp_path, script, 8, bundle=VAE)
    position, bounds, home, dots = views[4]
    assert position == 0 and np.ptp(bounds, axis=1).max() < np.ptp(home, axis=1).max() / 10
    inside = ((dots >= bounds[:, 0]) & (dots <= bounds[:, 1])).all(axis=1)
    assert inside.mean() > 0.95  # the knot fills the view
    assert np.isclose(*np.ptp(bounds, axis=1))  # equal scales, as the home view has
    position, bounds, home, _ = views[-1]
    assert position == 11 and np.allclose(bounds, home)


@pytest.mark.parametrize("size", [(600, 460), (1280, 800)])
def test_the_bar_says_both_its_words_and_its_keys_whole(tmp_path: Path, monkeypatch, size):
    """Dragged between two snapshots, then played: the words say whose model decodes and that the dots are
    between two snapshots, the hint says which way Up goes and that R frames, and nothing is cut; the help's
    timeline row fits too."""
    from viewer import words
    from viewer.controls import CONTROLS
    from viewer.text import ELLIPSIS, Fit

    record: list = []
    monkeypatch.setattr(Fit, "record", record)

    def script(frame, layout):
        bar = layout.timeline
        left, right = layout.timeline_track()
        x = left + (right - left) * 10 // 22  # between the fifth and sixth snapshots, nearer the fifth
        steps = {
            0: [pygame.event.Event(pygame.VIDEORESIZE, w=size[0], h=size[1], size=size)],
            2: [move((x, bar.centery)), press((x, bar.centery))],
            3: [release((x, bar.centery))],
            5: [key(pygame.K_SPACE, " ")],
            7: [key(pygame.K_h, "h")],
        }
        return steps.get(frame, [])

    run_viewer(tmp_path, script, 9, bundle=VAE)
    texts = [text for text, _, _ in record]
    between = [text for text in texts if text.startswith("dots between") and "decode" in text]
    hints = [text for text in texts if text.startswith("Up") and "·" in text]
    assert between and all(ELLIPSIS not in text for text in between), between
    assert hints and all(ELLIPSIS not in text and "R: frame" in text for text in hints), hints
    assert any("earlier" in text for text in hints) and any("pause" in text for text in hints)
    timeline_row = next(control.does for control in CONTROLS if control.label.startswith("Up"))
    assert timeline_row in texts  # the help overlay's row, whole
    assert not [(text, width, box) for text, width, box in record if width > box]
    assert words.TIMELINE_KEYS[0].startswith("Up: earlier · Down: later")


def test_the_hud_says_whose_z_and_test_mse_it_shows_at_an_earlier_snapshot(tmp_path: Path, monkeypatch):
    """Scrubbed back, the decoder's input is that snapshot's own z, not the plot's aligned axes: the HUD says so
    and gives the plot's coordinates too; its test MSE is that snapshot's, with the final one beside it."""
    from viewer import app, words

    seen = []
    real_update = app.update

    def spy(state, models):
        notices = real_update(state, models)
        lines = [text for text, _ in words.hud_lines(state, models, (0.0, 0.0), 0.0)]
        seen.append((state.timeline.position, state.pointer.uv.copy(), state.z[0].copy(), lines))
        return notices

    def script(frame, layout):
        if frame == 1:
            return [move((layout.plot.centerx + 20, layout.plot.centery - 10))]
        if frame == 2:
            return [key(pygame.K_UP)] * 11
        return []

    monkeypatch.setattr(app, "update", spy)
    run_viewer(tmp_path, script, 5, bundle=VAE)
    position, uv, z, lines = seen[1]
    assert position == 11 and lines[0].startswith("z = (") and lines[-1].startswith("test MSE 0.03")
    position, uv, z, lines = seen[-1]
    assert position == 0 and lines[0].startswith("step 0's z = (")
    assert lines[1] == f"plot z1, z2 = ({uv[0]:+.3f}, {uv[1]:+.3f})"
    assert not np.allclose(z, uv, atol=1e-3)  # two different numbers: the point of saying which is which
    assert any(line.startswith("test MSE ") and "0.2311 (final 0.03" in line for line in lines), lines


def test_a_large_moments_neighbours_are_found_once_the_timeline_rests(monkeypatch):
    """Past INDEX_MIN_POINTS an earlier moment's neighbours are a full scan of its latents (11 ms at a million):
    while the dots move (playing, dragging) the side panel keeps the last answer; at rest it finds them."""
    from tests.viewer.harness import scene_for
    from viewer import explore, scene
    from viewer.update import show_moment

    monkeypatch.setattr(scene, "INDEX_MIN_POINTS", 0)  # mnist-vae's 10,000 count as many
    state = bare_state(12)
    built = scene_for(state, VAE)
    models, scans = built.models, []
    real = explore.nearest
    monkeypatch.setattr(scene, "nearest", lambda *args: scans.append(1) or real(*args))
    state.z = models.bundle.z[:1].copy()
    for position, moving in ((3.0, True), (3.4, True), (1.2, True), (1.2, False)):
        state.timeline.position = position
        show_moment(state, models, [])
        assert models.timeline.moving == moving
        before = len(scans)
        found = built.nearest(state, 4)
        if position == 3.0:
            assert len(scans) == before + 1  # the first answer at an earlier moment: found
            first = found
        elif moving:
            assert len(scans) == before and np.array_equal(found, first)  # dots in flight: the last answer kept
        else:
            assert len(scans) == before + 1  # at rest on snapshot 1: its own neighbours
            assert np.array_equal(found, explore.nearest(models.timeline.timeline.z[1], state.z[0], 4))
