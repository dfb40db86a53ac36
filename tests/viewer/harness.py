"""Shared by the viewer tests: synthetic pygame events, and the real viewer run headless with a script."""

from __future__ import annotations

import os
from pathlib import Path

import pygame

from tests.helpers import SHIPPED
from viewer import app, cli


def ev(kind, **fields):
    return pygame.event.Event(kind, **fields)


def move(pos, held=False):
    return ev(pygame.MOUSEMOTION, pos=pos, rel=(0, 0), buttons=(1 if held else 0, 0, 0))


def press(pos):
    return ev(pygame.MOUSEBUTTONDOWN, pos=pos, button=1)


def release(pos):
    return ev(pygame.MOUSEBUTTONUP, pos=pos, button=1)


def key(code, char=""):
    return ev(pygame.KEYDOWN, key=code, unicode=char, mod=0)


def click(pos):
    return [move(pos), press(pos), release(pos)]


def scene_for(state, bundle: Path = SHIPPED, *flags: str):
    """A real scene (every panel) for the state, in a headless window of the state's size."""
    from viewer.stats import FrameStats

    args = cli.build_parser().parse_args([str(bundle), "--headless", *flags])
    models, _ = app.open_models(args)
    return app.fit_window(None, state, app.open_window(True), models, FrameStats(1))


def run_viewer(tmp_path: Path, script, frames: int, *flags: str, bundle: Path = SHIPPED) -> tuple[dict, pygame.Surface]:
    """Run the real frame loop headless, `script(frame, layout)` posting events; returns stats and the last frame."""
    shot = tmp_path / f"shot-{len(list(tmp_path.iterdir()))}.png"
    argv = [str(bundle), "--headless", "--frames", str(frames), "--fps", "0", "--screenshot", str(shot), *flags]
    stats = app.run(cli.build_parser().parse_args(argv), script=script)
    os.environ["SDL_VIDEODRIVER"] = "dummy"
    pygame.display.init()  # the run quit pygame; loading the PNG back needs the display
    return stats, pygame.image.load(str(shot))
