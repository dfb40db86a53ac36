"""The one keymap: the handler dispatches from it, the help overlay draws it, the README documents it."""

from __future__ import annotations

import re

import numpy as np
import pygame
import pytest

from tests.helpers import ROOT, SHIPPED
from tests.viewer.harness import key
from viewer.bundle import load_bundle
from viewer.controls import CONTROLS, control_for
from viewer.events import handle
from viewer.explore import make_plane, plane_bounds
from viewer.layout import make_layout, window_size
from viewer.state import Focus, Request, initial_state

LAYOUT = make_layout(window_size())


def readme_controls() -> list[str]:
    """The first column of the README's controls table, without the markdown."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("| control | does |", 1)[1].split("\n\n", 1)[0]
    rows = [line.split("|")[1].strip() for line in table.splitlines()[2:] if line.startswith("|")]
    return [re.sub(r"[`*]", "", row) for row in rows]


def fresh():
    bundle = load_bundle(SHIPPED)
    plane = make_plane(bundle.z)
    home = plane_bounds(plane, plane.project(bundle.z), bundle.bounds)
    return plane, initial_state(plane, home, LAYOUT.size, bundle.image_shape, class_count=len(bundle.class_names))


def test_the_readme_table_lists_every_control_and_nothing_else():
    assert readme_controls() == [control.label for control in CONTROLS]


def test_no_key_is_bound_twice():
    keys = [k for control in CONTROLS for k in control.keys]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("control", [c for c in CONTROLS if c.keys], ids=lambda c: c.label)
def test_every_bound_key_reaches_its_control(control):
    for code in control.keys:
        assert control_for(code, "") is control


@pytest.mark.parametrize(
    "code, char, changed",
    [
        (pygame.K_g, "g", lambda s: s.view.show_map),
        (pygame.K_h, "h", lambda s: s.show_help),
        (pygame.K_SLASH, "?", lambda s: s.show_help),
        (pygame.K_s, "s", lambda s: Request.SCREENSHOT in s.requests),
        (pygame.K_p, "p", lambda s: Request.SAMPLE in s.requests),
        (pygame.K_d, "d", lambda s: s.focus == Focus.DRAW),
        (pygame.K_3, "3", lambda s: s.view.hidden == {3}),
        (pygame.K_q, "q", lambda s: not s.running),
    ],
)
def test_keys_dispatch_through_the_table(code, char, changed):
    plane, state = fresh()
    state = handle(key(code, char), state, LAYOUT, plane)
    assert changed(state)


def test_a_digit_key_beyond_the_class_count_does_nothing():
    plane, state = fresh()
    state.class_count = 3
    state = handle(key(pygame.K_7, "7"), state, LAYOUT, plane)
    assert state.view.hidden == frozenset()


def test_esc_closes_the_help_before_it_quits():
    plane, state = fresh()
    state = handle(key(pygame.K_h, "h"), state, LAYOUT, plane)
    state = handle(key(pygame.K_ESCAPE), state, LAYOUT, plane)
    assert not state.show_help and state.running
    state = handle(key(pygame.K_ESCAPE), state, LAYOUT, plane)
    assert not state.running


def test_esc_closes_the_traversal_grid_but_leaves_the_anomaly_view():
    plane, state = fresh()
    for name in ("t", "a"):
        state = handle(key(getattr(pygame, f"K_{name}"), name), state, LAYOUT, plane)
    state = handle(key(pygame.K_ESCAPE), state, LAYOUT, plane)
    assert not state.show_traversal and state.anomaly.on and state.running
    state = handle(key(pygame.K_ESCAPE), state, LAYOUT, plane)
    assert not state.running


def test_esc_leaves_draw_mode_before_it_quits():
    plane, state = fresh()
    state = handle(key(pygame.K_d, "d"), state, LAYOUT, plane)
    assert state.focus == Focus.DRAW
    state = handle(key(pygame.K_ESCAPE), state, LAYOUT, plane)
    assert state.focus == Focus.HOVER and state.running
    state = handle(key(pygame.K_ESCAPE), state, LAYOUT, plane)
    assert not state.running


def test_the_help_overlay_draws_a_line_per_control():
    from latent_common.style import PIN
    from tests.viewer.harness import scene_for

    _, state = fresh()
    overlay = pygame.surfarray.pixels3d(scene_for(state).panel("help").build(state))
    label_column = np.abs(overlay[60:290].astype(int) - PIN).sum(axis=2).min(axis=0) < 40  # (y,) rows with label ink
    starts = np.flatnonzero(label_column[1:] & ~label_column[:-1])  # top of each label line
    assert len(starts) >= len(CONTROLS)
