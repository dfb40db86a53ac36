"""Keeping what you found: a session restored on start and saved on quit, and the embedding as CSV."""

from __future__ import annotations

import csv

import numpy as np
import pygame

from latent_common.style import class_color
from tests.helpers import ROOT, SHIPPED, assert_one_line_error, run_module
from tests.viewer.harness import click, ev, key, move, press, run_viewer
from viewer.bundle import load_bundle
from viewer.explore import make_plane
from viewer.layout import make_layout, window_size
from viewer.session_file import load_session

LAYOUT = make_layout(window_size())
CLASS = 3


def plot_pixels(shot: pygame.Surface) -> np.ndarray:
    image = pygame.surfarray.array3d(shot)
    return image[LAYOUT.plot.left : LAYOUT.plot.right, LAYOUT.plot.top : LAYOUT.plot.bottom].reshape(-1, 3).astype(int)


def near(pixels: np.ndarray, colour) -> int:
    return int((np.abs(pixels - colour).sum(axis=1) < 30).sum())


def test_a_session_is_saved_on_quit_and_restored_on_start(tmp_path):
    session = tmp_path / "s.json"
    a, b = (LAYOUT.plot.left + 80, LAYOUT.plot.top + 90), (LAYOUT.plot.left + 300, LAYOUT.plot.top + 320)

    def first(frame, layout):
        if frame == 1:
            return [move(layout.plot.center), ev(pygame.MOUSEWHEEL, x=0, y=1), key(pygame.K_3, "3")]
        if frame == 2:
            return click(a)
        if frame == 3:
            return click(b)
        if frame == 4:
            return [move(a), press(a), ev(pygame.MOUSEBUTTONUP, pos=a, button=1, mod=pygame.KMOD_SHIFT)]  # a waypoint
        return []

    _, shot = run_viewer(tmp_path, first, 6, "--mouse", "still", "--session", str(session))
    saved = load_session(session, 2, 10)
    assert saved.hidden == {CLASS} and len(saved.pins) == 2 and len(saved.extra["waypoints"]) == 1
    assert np.ptp(saved.view, axis=1).max() < 0.9 * np.ptp(load_bundle(SHIPPED).bounds, axis=1).max()  # zoomed in
    assert near(plot_pixels(shot), class_color(CLASS)) == 0

    # A second run restores it (no input: what it saves again is what it started with) and draws it.
    _, shot = run_viewer(tmp_path, lambda f, layout: [], 3, "--mouse", "still", "--session", str(session))
    again = load_session(session, 2, 10)
    np.testing.assert_array_equal(again.view, saved.view)
    np.testing.assert_array_equal(np.array(again.pins), np.array(saved.pins))
    assert again.hidden == {CLASS} and again.extra["waypoints"] == saved.extra["waypoints"]
    pixels = plot_pixels(shot)
    assert near(pixels, class_color(CLASS)) == 0 and near(pixels, class_color(CLASS + 1)) > 50


def test_a_missing_session_starts_fresh_and_a_bad_one_is_one_line(tmp_path):
    fresh = tmp_path / "new.json"
    result = run_module("viewer", "--headless", "--frames", "2", "--session", str(fresh))
    assert result.returncode == 0, result.stderr
    assert load_session(fresh, 2, 10).hidden == frozenset()
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert_one_line_error(run_module("viewer", "--headless", "--frames", "2", "--session", str(bad)), "bad.json")
    eight = tmp_path / "eight.json"  # saved with the 8-D bundle, opened with the 2-D one
    result = run_module("viewer", str(ROOT / "models" / "mnist-ae-8d"), "--headless", "--frames", "2",
                        "--session", str(eight))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert_one_line_error(run_module("viewer", "--headless", "--frames", "2", "--session", str(eight)), "8-D")
    vae = tmp_path / "vae.json"  # saved with mnist-vae, opened with mnist-ae: both 2-D, but not the same space
    result = run_module("viewer", "mnist-vae", "--headless", "--frames", "2", "--session", str(vae))
    assert result.returncode == 0, result.stderr
    before = vae.read_bytes()
    refused = run_module("viewer", "--headless", "--frames", "2", "--session", str(vae))
    assert_one_line_error(refused, "'mnist-vae'", "'mnist-ae'")
    assert vae.read_bytes() == before  # not overwritten by the other bundle's state


def test_export_csv_writes_every_test_image_and_exits(tmp_path):
    out = tmp_path / "embedding.csv"
    result = run_module("viewer", "--export-csv", str(out))
    assert result.returncode == 0, result.stderr
    bundle = load_bundle(ROOT / "models" / "mnist-ae")  # the default bundle
    with out.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:5] == ["index", "label", "class", "plane_x", "plane_y"]
    assert len(rows) == len(bundle.z) + 1
    plane_xy = np.array([[float(r[3]), float(r[4])] for r in rows[1:]])
    np.testing.assert_allclose(plane_xy, make_plane(bundle.z).project(bundle.z), rtol=1e-6, atol=1e-6)
    assert [int(r[1]) for r in rows[1:]] == bundle.labels.tolist()
