"""Feature directions (F): between two classes' mean latents, the point moved along them with , and ."""

from __future__ import annotations

import numpy as np

from latent_common.errors import UserError
from viewer import words
from viewer.state.actions import notify, toggle_class, toggle_draw, toggle_help, toggle_traversal
from viewer.state.record import Focus, ViewState
from viewer.state.walks import toggle_walk
from viewer.walk import group_direction

DIRECTION_STEPS = 10  # , and . move a tenth of the class-to-class distance: the amount is steps / 10, exact
DIRECTION_REACH = (-10, 20)  # in steps: from one distance back past the first class to twice the way to the second


def toggle_direction(state: ViewState) -> None:
    """F: start picking two classes (from, then towards); F while picking cancels; F with a direction clears it."""
    direction = state.direction
    if direction.classes is not None:
        clear_direction(state)
        notify(state, words.DIRECTION_CLEARED)
    elif direction.picking is not None:
        cancel_picking(state)
    elif direction.means is None:
        notify(state, words.DIRECTION_NO_MEANS)
    else:
        direction.picking = ()  # the HUD asks for the classes while picking


def choose_class(state: ViewState, index: int) -> None:
    """A class key (0-9) or a click on the legend: while F is picking, the next class of the direction; else
    show or hide the class."""
    if state.direction.picking is None:
        toggle_class(state, index)
    elif 0 <= index < state.class_count:
        pick_class(state, index)


def pick_class(state: ViewState, index: int) -> None:
    """The next class of the direction being picked: the one to go from, then the one to go towards."""
    direction = state.direction
    means = direction.means
    if not np.isfinite(means[index]).all():
        notify(state, words.DIRECTION_EMPTY_CLASS.format(index=index))
    elif not direction.picking:
        direction.picking = (index,)
    elif index == direction.picking[0]:
        notify(state, words.DIRECTION_SAME_CLASS)
    else:
        start = direction.picking[0]
        try:
            group_direction(means[start], means[index])  # refuses two classes with the same mean
        except UserError as exc:
            notify(state, str(exc))
            return
        direction.picking, direction.classes = None, (start, index)
        direction.ends, direction.steps = np.stack([means[start], means[index]]), 0


def cancel_picking(state: ViewState) -> None:
    state.direction.picking = None
    notify(state, words.DIRECTION_CANCELLED)


def clear_direction(state: ViewState) -> None:
    direction = state.direction
    direction.classes, direction.ends, direction.steps = None, None, 0


def step_direction(state: ViewState, step: int) -> None:
    """, and .: move the point a tenth of the class-to-class distance back or on, from -1 to +2 distances."""
    direction = state.direction
    if direction.classes is None:
        notify(state, words.DIRECTION_NEEDS_ONE)
        return
    steps = int(np.clip(direction.steps + step, *DIRECTION_REACH))
    if steps == direction.steps:
        notify(state, words.DIRECTION_REACH)
    elif state.focus not in (Focus.HOVER, Focus.SLIDER):
        notify(state, words.DIRECTION_MOVES)
    direction.steps = steps


def back_out(state: ViewState) -> bool:
    """Esc: close the first of these that is open: the help, the traversal grid, F's picking or its direction, a
    playing walk, draw mode. False when none is, and Esc quits (a student pressing Esc to dismiss something
    shouldn't lose the window). The map and the anomaly view are ways of looking, not things opened: they stay."""
    if state.show_help:
        toggle_help(state)
    elif state.show_traversal:
        toggle_traversal(state)
    elif state.direction.picking is not None or state.direction.classes is not None:
        toggle_direction(state)
    elif state.focus == Focus.WALK:
        toggle_walk(state)
    elif state.focus == Focus.DRAW:
        toggle_draw(state)
    else:
        return False
    return True
