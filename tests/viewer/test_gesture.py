"""A zoom or pan follows from the last exact picture; the exact one arrives once the gesture stops. And a bundle
without stored errors reaches its first frame without computing them."""

from __future__ import annotations

import dataclasses

import numpy as np
import pygame

from tests.helpers import SHIPPED
from tests.viewer.harness import ev, move
from viewer import app, cli, dots
from viewer import models as models_module
from viewer.events import handle
from viewer.state import accept_picture
from viewer.stats import FrameStats
from viewer.update import update

FRAME_S = 1 / 60  # the test's clock steps a frame at a time: no timing depends on the machine


def open_scene(*flags: str, bundle=SHIPPED):
    args = cli.build_parser().parse_args([str(bundle), "--headless", *flags])
    models, homes = app.open_models(args)
    fonts = app.open_window(True)
    state = app.start_state(models, homes, args)
    return app.fit_window(None, state, fonts, models, FrameStats(1)), state, models


def frame(scene, state, models, events=()) -> None:
    for event in events:
        state = handle(event, state, scene.layout, models.plane)
    scene.refresh(state, models)
    scene.draw(pygame.display.get_surface(), state)


def test_a_gesture_previews_and_the_exact_picture_follows(monkeypatch):
    monkeypatch.setattr(dots, "SPRITE_LIMIT", 1000)  # the shipped 10,000 points drawn as a large embedding's raster
    monkeypatch.setattr(dots, "SLICE", 3000)  # binned in 4 slices once the gesture stops
    scene, state, models = open_scene()
    plot = scene.panel("plot")
    now = [0.0]
    plot.glide.clock = lambda: now[0]
    centre = scene.layout.plot.center
    frame(scene, state, models, [move(centre)])
    assert plot.builds == 1 and plot.glide.previews == 0  # the first frame is exact
    steps = [ev(pygame.MOUSEWHEEL, x=0, y=1, flipped=False)] * 3 + [ev(pygame.MOUSEWHEEL, x=0, y=-1, flipped=False)]
    for step in steps * 5:  # a scripted zoom: the view changes every frame
        now[0] += FRAME_S
        frame(scene, state, models, [step])
    assert plot.glide.previews == 20  # every step drawn, from the first picture scaled
    assert plot.builds - plot.glide.previews == 1  # and no full render during the gesture
    for _ in range(30):  # the gesture stopped: the view settles, the dots are binned a slice a frame
        now[0] += FRAME_S
        frame(scene, state, models)
    assert plot.builds - plot.glide.previews == 2  # one exact render, once
    fresh, _, _ = open_scene()
    fresh.refresh(state, models)
    np.testing.assert_array_equal(
        pygame.surfarray.array3d(plot.surface), pygame.surfarray.array3d(fresh.panel("plot").surface)
    )


def test_a_bundle_without_stored_errors_draws_its_first_frame_before_computing_them(monkeypatch):
    computed = []
    real = models_module.scale_for
    monkeypatch.setattr(models_module, "scale_for", lambda *args: computed.append(1) or real(*args))
    scene, state, models = open_scene()
    models.bundle = dataclasses.replace(models.bundle, errors=None)  # as an older export left it
    accept_picture(state, models.bundle.images_chw[0].astype(np.float32) / 255.0, "digit.png")  # as --encode does
    update(state, models)
    frame(scene, state, models)
    assert computed == [] and models.errors is None  # the first frame: its error, not yet ranked
    frame(scene, state, models)
    assert computed == [1] and models.errors is not None  # then ranked, after the first frame
