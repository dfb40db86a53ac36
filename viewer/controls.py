"""Every control of the viewer in one table: the key handler dispatches from it, the help overlay draws it,
and a test checks the README's controls table against it.

A row with keys is a key binding; a row without (the mouse) is documentation only: events.py handles it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pygame

from viewer.state import (
    Request,
    ViewState,
    back_out,
    choose_class,
    clear_canvas,
    clear_pins,
    move_along_component,
    pick_component,
    quit_viewer,
    request,
    reset_view,
    step_direction,
    step_slider,
    step_timeline,
    toggle_anomaly,
    toggle_direction,
    toggle_draw,
    toggle_help,
    toggle_map,
    toggle_nearest,
    toggle_play,
    toggle_projection,
    toggle_slerp,
    toggle_traversal,
    toggle_walk,
)

Action = Callable[[ViewState, int], None]  # (state, the key pressed)


@dataclass(frozen=True)
class Control:
    label: str  # how help and the README name it
    does: str  # one line for the help overlay
    keys: tuple[int, ...] = ()  # pygame key codes; empty for mouse-only rows
    action: Action | None = None
    chars: tuple[str, ...] = ()  # typed characters that also trigger it, whatever the keyboard layout


def _quit(state: ViewState, key: int) -> None:
    if key == pygame.K_ESCAPE and back_out(state):
        return
    quit_viewer(state)


def _class_key(state: ViewState, key: int) -> None:
    choose_class(state, key - pygame.K_0)


def _timeline_key(state: ViewState, key: int) -> None:
    if key == pygame.K_SPACE:
        toggle_play(state)
    else:
        step_timeline(state, -1 if key == pygame.K_UP else 1)


UP_KEYS = (pygame.K_EQUALS, pygame.K_PLUS, pygame.K_KP_PLUS, pygame.K_PAGEUP)
DOWN_KEYS = (pygame.K_MINUS, pygame.K_KP_MINUS, pygame.K_PAGEDOWN)

CONTROLS = [
    Control("move over the scatter", "decode the point under the cursor"),
    Control(
        "wheel / drag / R",
        "zoom about the cursor (close up: the images) / pan / reset the view",
        (pygame.K_r,),
        lambda s, k: reset_view(s),
    ),
    Control("G", "manifold map: decoded images tiling the view", (pygame.K_g,), lambda s, k: toggle_map(s)),
    Control(
        "M",
        "a latent above 2-D: its map (UMAP, t-SNE) or its PCA plane",
        (pygame.K_m,),
        lambda s, k: toggle_projection(s),
    ),
    Control(
        "N",
        "a latent above 2-D: nearest test images in z, or on the plot",
        (pygame.K_n,),
        lambda s, k: toggle_nearest(s),
    ),
    Control("click, click", "pin A, then B: decodes along A->B below"),
    Control(
        "Left / Right, or hover the strip",
        "slide along A->B",
        (pygame.K_LEFT, pygame.K_RIGHT),
        lambda s, k: step_slider(s, 1 if k == pygame.K_RIGHT else -1),
    ),
    Control("E", "export the strip as a PNG", (pygame.K_e,), lambda s, k: request(s, Request.EXPORT_STRIP)),
    Control("shift+click", "add a waypoint: the walk's path is drawn on the scatter"),
    Control(
        "W",
        "play the walk through the waypoints in the big tile;  W again stops",
        (pygame.K_w,),
        lambda s, k: toggle_walk(s),
    ),  # fmt: skip
    Control(
        "Shift+W", "export the walk as an animated GIF", (), lambda s, k: request(s, Request.EXPORT_WALK), chars=("W",)
    ),  # fmt: skip
    Control(
        "L",
        "walk along great circles (slerp) or lines: a variational model",
        (pygame.K_l,),
        lambda s, k: toggle_slerp(s),
    ),  # fmt: skip
    Control("X", "clear the pins and the waypoints", (pygame.K_x,), lambda s, k: clear_pins(s)),
    Control(
        "D, then draw on the tile", "draw to encode;  D again to leave", (pygame.K_d,), lambda s, k: toggle_draw(s)
    ),
    Control("C", "clear the drawing", (pygame.K_c,), lambda s, k: clear_canvas(s)),
    Control("drop a picture file on the window", "encode it as the training images were; see it land"),
    Control("0-9 or click the legend", "show or hide a class", tuple(range(pygame.K_0, pygame.K_9 + 1)), _class_key),
    Control(
        "F, then two classes",
        "a direction between two classes' mean latents;  F again clears",
        (pygame.K_f,),
        lambda s, k: toggle_direction(s),
    ),
    Control(
        ", .",
        "move the point along it, from -1 to +2;  R resets",
        (pygame.K_COMMA, pygame.K_PERIOD),
        lambda s, k: step_direction(s, 1 if k == pygame.K_PERIOD else -1),
    ),
    Control(
        "[ ]",
        "pick a further principal component (latent above 2-D)",
        (pygame.K_LEFTBRACKET, pygame.K_RIGHTBRACKET),
        lambda s, k: pick_component(s, 1 if k == pygame.K_RIGHTBRACKET else -1),
    ),
    Control(
        "+ -  (or PgUp / PgDn)",
        "move along that component",
        UP_KEYS + DOWN_KEYS,
        lambda s, k: move_along_component(s, 1 if k in UP_KEYS else -1),
    ),
    Control(
        "T",
        "traversals: decodes from -2σ to +2σ along each direction through the point",
        (pygame.K_t,),
        lambda s, k: toggle_traversal(s),
    ),
    Control(
        "A",
        "anomaly view: dots by reconstruction error, the worst listed (click one)",
        (pygame.K_a,),
        lambda s, k: toggle_anomaly(s),
    ),
    Control(
        "Up / Down / Space, or drag the bar",
        "timeline: Up earlier, Down later; Space plays or pauses",
        (pygame.K_UP, pygame.K_DOWN, pygame.K_SPACE),
        _timeline_key,
    ),
    Control("S", "screenshot to a PNG", (pygame.K_s,), lambda s, k: request(s, Request.SCREENSHOT)),
    Control(
        "P",
        "a variational model: decode a sample from the prior N(0, I)",
        (pygame.K_p,),
        lambda s, k: request(s, Request.SAMPLE),
    ),
    Control("H or ?", "this help", (pygame.K_h,), lambda s, k: toggle_help(s), chars=("?",)),
    Control(
        "Esc or Q",
        "quit (Esc first closes the help, traversals, F's direction, a walk, draw mode)",
        (pygame.K_ESCAPE, pygame.K_q),
        _quit,
    ),
]


def control_for(key: int, char: str) -> Control | None:
    """The control bound to a key press, if any: a typed character first (Shift+W types "W"), then the key."""
    for control in CONTROLS:
        if char and char in control.chars:
            return control
    for control in CONTROLS:
        if key in control.keys:
            return control
    return None
