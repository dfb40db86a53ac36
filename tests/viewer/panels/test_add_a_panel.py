"""A panel added the documented way (a Panel subclass in its own file, one line in scene.PANELS) is drawn, and
rebuilt only when its key changes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pygame

from tests.viewer.harness import key, move, run_viewer
from viewer import scene
from viewer.panels.base import Panel

COLOUR = (200, 30, 160)


class ClassesPanel(Panel):
    """What viewer/panels/classes.py would hold: a square whose content is the set of hidden classes."""

    name = "classes"
    made: list[ClassesPanel] = []
    keys_asked = 0

    def __init__(self, scene_):
        super().__init__(scene_)
        ClassesPanel.made.append(self)

    def slot(self, state) -> pygame.Rect:
        return pygame.Rect(self.scene.layout.footer.right - 20, self.scene.layout.footer.top + 2, 16, 16)

    def key(self, state):
        ClassesPanel.keys_asked += 1
        return state.view.hidden

    def build(self, state) -> pygame.Surface:
        surface = pygame.Surface((16, 16))
        surface.fill(COLOUR if not state.view.hidden else (0, 0, 0))
        return surface


def test_a_new_panel_is_drawn_and_rebuilt_only_when_its_key_changes(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(scene, "PANELS", [*scene.PANELS, ClassesPanel])  # the one line in the scene's list
    ClassesPanel.made.clear()

    def script(frame, layout):
        plot = layout.plot
        if frame < 6:  # the mouse moves: the point, the tile and the HUD change, this panel's key doesn't
            return [move((plot.left + 20 * frame + 10, plot.centery))]
        return {6: [key(pygame.K_3, "3")], 8: [key(pygame.K_3, "3")]}.get(frame, [])

    _, shot = run_viewer(tmp_path, script, 11, "--mouse", "still")
    panel = ClassesPanel.made[-1]
    assert ClassesPanel.keys_asked >= 11  # asked every frame
    assert panel.builds == 3  # once at the start, then class 3 hidden, then shown again: no rebuild on hover
    pixels = pygame.surfarray.array3d(shot)
    rect = panel.slot(None)
    np.testing.assert_array_equal(pixels[rect.centerx, rect.centery], COLOUR)  # drawn in the window
