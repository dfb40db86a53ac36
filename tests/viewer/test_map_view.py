"""The window on a bundle with a map: it opens on the map, decodes each dot's own latent there, fades the decode
where the map is empty, switches to the PCA plane with M, and keeps the projection in a session and the CSV."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pygame
import pytest

from tests.helpers import ROOT
from tests.viewer.harness import key, move, run_viewer
from viewer import app, cli, words
from viewer.bundle import load_bundle
from viewer.events import handle
from viewer.explore import Plane
from viewer.mapping import REACH, MapProjection
from viewer.panels.tile import fade
from viewer.update import update

EIGHT_D = ROOT / "models" / "mnist-ae-8d"
pytestmark = pytest.mark.skipif(not (EIGHT_D / "map.npz").exists(), reason="models/mnist-ae-8d ships no map")


def opened(*flags: str):
    """The models and a first state, as the window makes them (a --session restored)."""
    args = cli.build_parser().parse_args([str(EIGHT_D), "--headless", *flags])
    models, homes = app.open_models(args)
    return models, app.start_state(models, homes, args, app.read_session(models, args)), args


def test_a_mapped_bundle_opens_on_its_map_and_says_so():
    models, state, _ = opened()
    assert models.projection == "map" and isinstance(models.plane, MapProjection)
    assert state.view.projection == "map" and set(state.view.homes) == {"map", "pca"}
    text = words.plot_words(models)
    assert "UMAP map" in text.title and text.x_label.startswith("UMAP 1")
    # each dot sits where the map put it, and lifting a dot gives that image's own latent: its reconstruction
    stored = np.load(EIGHT_D / "map.npz")["xy"]
    np.testing.assert_allclose(models.points, stored, atol=1e-6)
    picks = np.arange(0, len(models.points), 997)
    np.testing.assert_allclose(models.plane.lift(models.points[picks]), models.bundle.z[picks], atol=1e-5)
    assert isinstance(models.pca, Plane)  # traversals and the neighbour index stay on the linear projection


def test_m_switches_to_the_pca_plane_and_back(tmp_path: Path):
    models, state, _ = opened()
    layout = app.fit_window(None, state, app.open_window(True), models, _stats()).layout
    map_home = state.view.home.copy()
    state = handle(key(pygame.K_m, "m"), state, layout, models.plane)
    update(state, models)
    assert state.view.projection == "pca" and models.projection == "pca" and isinstance(models.plane, Plane)
    assert not np.array_equal(state.view.home, map_home) and len(state.view.offsets) == models.bundle.latent_dim - 2
    assert "PC1" in words.plot_words(models).title
    np.testing.assert_allclose(state.z, models.plane.lift(state.pointer.uv, state.view.offsets), atol=1e-6)
    state = handle(key(pygame.K_m, "m"), state, layout, models.plane)
    update(state, models)
    assert models.projection == "map" and len(state.view.offsets) == 0
    np.testing.assert_array_equal(state.view.home, map_home)


def test_the_pca_plane_first_with_projection_pca():
    models, state, _ = opened("--projection", "pca")
    assert models.projection == state.view.projection == "pca" and list(state.view.homes) == ["pca", "map"]


def test_m_on_a_2d_latent_says_why_it_does_nothing():
    from tests.helpers import SHIPPED

    args = cli.build_parser().parse_args([str(SHIPPED), "--headless"])
    models, homes = app.open_models(args)
    state = app.start_state(models, homes, args)
    layout = app.fit_window(None, state, app.open_window(True), models, _stats()).layout
    state = handle(key(pygame.K_m, "m"), state, layout, models.plane)
    assert state.view.projection == "plane" and state.notice == words.NO_MAP_NEEDED


def test_the_decode_fades_and_the_caption_says_so_off_the_map():
    models, state, _ = opened()
    layout = app.fit_window(None, state, app.open_window(True), models, _stats()).layout
    dot = layout.to_screen(models.points[:1], state.view.bounds)[0]
    state = handle(move(tuple(int(v) for v in dot)), state, layout, models.plane)
    update(state, models)
    assert state.pointer.gap < 1 and words.panel_captions(state, models.bundle)[0] == "decoded at the cursor"
    far = state.view.bounds[:, 1] + 50 * (state.view.bounds[:, 1] - state.view.bounds[:, 0])  # far past a corner
    state.pointer.uv = far  # as a pan far out would leave it
    update(state, models)
    assert state.pointer.gap > 3 and words.panel_captions(state, models.bundle)[0].startswith("off the map")
    assert fade(0.5) == 1.0 and 0.25 <= fade(state.pointer.gap) < 1.0


def test_a_session_keeps_the_projection(tmp_path: Path):
    session = tmp_path / "s.json"
    script = lambda frame, layout: [key(pygame.K_m, "m")] if frame == 1 else []  # noqa: E731
    run_viewer(tmp_path, script, 4, "--session", str(session), bundle=EIGHT_D)
    saved = json.loads(session.read_text())
    assert saved["extra"]["projection"] == "pca" and len(saved["offsets"]) == 6
    models, state, _ = opened("--session", str(session))
    assert state.view.projection == models.projection == "pca"
    run_viewer(tmp_path, lambda f, layout: [key(pygame.K_m, "m")] if f == 1 else [], 4, "--session", str(session),
               bundle=EIGHT_D)  # fmt: skip
    assert json.loads(session.read_text())["extra"]["projection"] == "map"
    models, state, _ = opened("--session", str(session))
    assert state.view.projection == models.projection == "map" and len(state.view.offsets) == 0


def test_the_csv_has_map_columns(tmp_path: Path):
    out = tmp_path / "e.csv"
    assert cli.main([str(EIGHT_D), "--export-csv", str(out)]) == 0
    with out.open() as handle_:
        rows = list(csv.reader(handle_))
    assert rows[0][:7] == ["index", "label", "class", "plane_x", "plane_y", "map_x", "map_y"]
    stored = np.load(EIGHT_D / "map.npz")["xy"]
    np.testing.assert_allclose([float(v) for v in rows[1][5:7]], stored[0], rtol=1e-6)
    assert len(rows[1]) == 7 + load_bundle(EIGHT_D).latent_dim


def _stats():
    from viewer.stats import FrameStats

    return FrameStats(1)


def test_pins_and_waypoints_off_the_map_are_refused_with_a_notice():
    from viewer.state import add_pin, add_waypoint

    models, state, _ = opened()
    state.pointer.gap = 50.0  # as the update step measures far from every dot
    add_pin(state, models.plane.lift(state.pointer.uv))
    add_waypoint(state, models.plane.lift(state.pointer.uv))
    assert state.route.pins == [] and state.route.waypoints == [] and state.notice.startswith("off the map")
    state.pointer.gap = 0.5
    add_pin(state, models.plane.lift(models.points[:1]))
    assert len(state.route.pins) == 1


def test_a_walk_off_the_map_or_through_nan_is_one_line(tmp_path: Path):
    from tests.helpers import assert_one_line_error, run_module

    def walk(*places: str, out: Path):
        return run_module("viewer", str(EIGHT_D), "--waypoints", *places, "--export-walk", str(out))

    far = walk("0", "0", "5", "5", out=tmp_path / "w.gif")
    assert_one_line_error(far, "--waypoints: (0, 0) is off the map")
    nan = walk("0", "0", "5", "nan", out=tmp_path / "n.gif")
    assert_one_line_error(nan, "--waypoints", "nan")
    assert not (tmp_path / "w.gif").exists() and not (tmp_path / "n.gif").exists()


def test_a_session_keeps_the_chosen_component(tmp_path: Path):
    session = tmp_path / "s.json"
    keys = {1: [key(pygame.K_m, "m")], 2: [key(pygame.K_RIGHTBRACKET, "]")]}
    run_viewer(tmp_path, lambda frame, layout: keys.get(frame, []), 4, "--session", str(session), bundle=EIGHT_D)
    assert json.loads(session.read_text())["extra"]["component"] == 1
    models, state, _ = opened("--session", str(session))
    assert state.view.component == 1


def test_info_names_the_map_and_verifies_its_file():
    from viewer.catalog import info_lines

    lines = info_lines(EIGHT_D)
    assert any(line.startswith("  map            UMAP (umap-learn") and "seed 0" in line for line in lines)
    assert any(line.strip().startswith("map.npz") and line.endswith("verified") for line in lines)
    assert "  test MSE       0.0136 (PCA of the same latent size: 0.0364)" in lines  # the model beats its baseline


@pytest.mark.parametrize("points", [1, 2, 3])
def test_an_8d_bundle_of_one_to_three_points_opens_and_exports(tmp_path: Path, points: int):
    """A hostile pass found a 1-point 8-D embedding ending in a traceback (the PCA plane had one direction)."""
    import dataclasses
    import io

    from tests.helpers import run_module
    from viewer.bundle import DECODER, EMBEDDING, ENCODER, write_bundle

    source = load_bundle(EIGHT_D)
    buffer = io.BytesIO()
    np.savez(buffer, z=source.z[:points], labels=source.labels[:points], images=source.images[:points])
    files = {DECODER: EIGHT_D / DECODER, ENCODER: EIGHT_D / ENCODER, EMBEDDING: buffer.getvalue()}
    out = tmp_path / "tiny"
    write_bundle(out, files, dataclasses.replace(source.meta, files={}, map=None, timeline=None))
    for flags in ((), ("--projection", "pca")):
        viewed = run_module("viewer", str(out), "--headless", "--frames", "5", "--fps", "0", *flags)
        assert viewed.returncode == 0, viewed.stderr
    assert run_module("viewer", str(out), "--export-csv", str(tmp_path / "e.csv")).returncode == 0


def test_a_success_line_prints_a_hostile_path_printably(tmp_path: Path):
    from tests.helpers import run_module

    out = tmp_path / "e\x1b[31mvil\x07.csv"
    result = run_module("viewer", str(EIGHT_D), "--export-csv", str(out))
    assert result.returncode == 0 and out.exists()
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout and "saved" in result.stdout


def test_info_strict_refuses_a_map_or_timeline_the_viewer_would_refuse(tmp_path: Path):
    import shutil

    from tests.helpers import assert_one_line_error, run_module

    copy = tmp_path / "8d"
    shutil.copytree(EIGHT_D, copy)
    (copy / "map.npz").write_bytes((copy / "map.npz").read_bytes()[:100])  # truncated
    assert_one_line_error(run_module("viewer", str(copy), "--info"), "map.npz")
    vae = tmp_path / "vae"
    shutil.copytree(ROOT / "models" / "mnist-vae", vae)
    latents = next((vae / "timeline").glob("*.npz"))
    latents.write_bytes(latents.read_bytes() + b"x")  # its hash now differs
    assert run_module("viewer", str(vae), "--info").returncode == 0
    assert_one_line_error(run_module("viewer", str(vae), "--info", "--strict"), "timeline")


def test_n_shows_the_nearest_on_the_map_instead_of_in_the_latent():
    from viewer.state import refresh_latent

    models, state, _ = opened()
    scene = app.fit_window(None, state, app.open_window(True), models, _stats())
    between = (models.points[0] + models.points[1]) / 2 + 0.37  # near the dots, not on one
    state.pointer.uv = between  # as a hover there leaves it
    refresh_latent(state, models.plane)
    assert words.panel_captions(state, models.bundle)[1] == "nearest test images"  # in z, the default
    state = handle(key(pygame.K_n, "n"), state, scene.layout, models.plane)
    assert state.view.near_on_plot and words.panel_captions(state, models.bundle)[1] == "nearest on the map"
    on_map = scene.nearest(state, 4)
    gaps = np.hypot(*(models.points - between).T)
    assert sorted(gaps[on_map]) == pytest.approx(np.sort(gaps)[:4])  # the four dots nearest the cursor on the map


def test_a_walk_put_on_the_map_goes_along_it_and_says_so(tmp_path: Path):
    """Issue 21: on the map a walk is a straight path on the map lifted through its inverse, not a straight line
    in z (whose points land anywhere on the map); put on the PCA plane, or with slerp, it stays in z."""
    from viewer.state import add_waypoint, toggle_walk

    models, state, _ = opened()
    places = models.points[[0, 1]]  # two test images' dots, of different classes
    for place in places:
        add_waypoint(state, models.plane.lift(place)[0], place)
    toggle_walk(state)
    update(state, models)
    route = state.route
    assert route.along is not None and np.allclose(route.along[[0, -1]], places)
    near = models.plane.distance_to_data(route.along) < REACH  # lifted near the dots; straight in z across gaps
    assert near[[0, -1]].all()
    np.testing.assert_allclose(route.path[near], models.plane.lift(route.along[near]), atol=1e-6)
    mean = models.plane.origin  # what the lift gives past its reach: no frame of the walk is it
    assert not np.isclose(route.path, mean, atol=1e-3).all(axis=1).any()
    straight = (models.bundle.z[0] + models.bundle.z[1]) / 2
    assert not np.allclose(route.path[len(route.path) // 2], straight, atol=1e-3)  # not the latent midpoint
    assert "along the map" in words.focus_words(state)
    out = tmp_path / "w.gif"
    done = cli.main([str(EIGHT_D), "--waypoints", *(f"{v:.6f}" for v in places.ravel()), "--export-walk", str(out)])
    assert done == 0 and out.exists()
