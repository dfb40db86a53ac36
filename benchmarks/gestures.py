"""`python -m benchmarks.gestures zoom|pan|scrub BUNDLE [viewer flags]`: the viewer, zooming, panning or
scrubbing its timeline every frame.

The viewer's command line can only hover (`--mouse path|still`); timing a re-render needs the view to
change every frame. This runs the real frame loop (`viewer.app.run`) with a script of wheel or drag
events, the hook the viewer's own tests use, so every frame time is a re-render as a user causes it:
the scatter redrawn for the new view, and the frame composed around it. Run headless, with --stats.
"""

from __future__ import annotations

import os
import sys

PAN_PX = 40  # the drag swings this far either side of where it grabbed: the view moves every frame


def motion(pos: tuple[int, int], held: bool = False):
    import pygame

    return pygame.event.Event(pygame.MOUSEMOTION, pos=pos, rel=(0, 0), buttons=(int(held), 0, 0))


def zoom(frame: int, layout) -> list:
    """The cursor at the plot's centre; the wheel one notch in on odd frames, out on even ones."""
    import pygame

    events = [motion(layout.plot.center)]
    if frame:
        events.append(pygame.event.Event(pygame.MOUSEWHEEL, x=0, y=1 if frame % 2 else -1, flipped=False))
    return events


def pan(frame: int, layout) -> list:
    """Grab the plot's centre on frame 0, then drag left and right of it, never letting go (a release would pin)."""
    import pygame

    x, y = layout.plot.center
    if frame == 0:
        return [motion((x, y)), pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(x, y), button=1)]
    return [motion((x + (PAN_PX if frame % 2 else -PAN_PX), y), held=True)]


SCRUB_PX = 7  # the timeline bar's knob moves this far a frame: 12 snapshots on a 600-pixel bar, ~4 frames each


def scrub(frame: int, layout) -> list:
    """Grab the timeline bar at its first snapshot on frame 0, then drag along it and back, never letting go:
    the dots move between snapshots every frame, as a class sees them when the teacher drags the bar."""
    import pygame

    from latent_common.errors import UserError

    if layout.timeline is None:
        raise UserError("scrub: this bundle has no timeline")
    left, right = layout.timeline_track()
    y = layout.timeline.centery
    if frame == 0:
        return [motion((left, y)), pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(left, y), button=1)]
    width = right - left
    sweep = (frame * SCRUB_PX) % (2 * width)  # out and back
    return [motion((left + (sweep if sweep <= width else 2 * width - sweep), y), held=True)]


GESTURES = {"zoom": zoom, "pan": pan, "scrub": scrub}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in GESTURES:
        print(f"usage: python -m benchmarks.gestures {{{','.join(GESTURES)}}} BUNDLE [viewer flags]", file=sys.stderr)
        return 2
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # before the viewer imports pygame, as its main() does
    from latent_common.errors import UserError
    from viewer import app, cli

    args = cli.build_parser().parse_args(argv[1:])
    args.headless = True
    try:
        app.run(args, script=GESTURES[argv[0]])
    except UserError as exc:  # a bundle the viewer refuses: one line, as the viewer's own main() says it
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
