"""Every word the window draws goes through `fit`: wrapped, or shortened with an ellipsis, so it stays in its box.

`Fit.record`, when a list, gets (text drawn, its width in pixels, the box's width) for each line: a test renders
every panel and checks that nothing drawn is wider than its box.
"""

from __future__ import annotations

from enum import Enum

import pygame

ELLIPSIS = "…"


class Keep(str, Enum):
    """Which part of a line a shortening keeps."""

    START = "start"  # "Smileys & Emo… #12": the start, and the end after the last `tail` marker
    END = "end"  # "…/pictures/cat.png": the end (a path, a number)


class Fit:
    record: list | None = None  # set by a test: (text, width, box width) per line drawn


def shorten(font: pygame.font.Font, text: str, width: int, keep: Keep = Keep.START, tail: str = "") -> str:
    """The text, cut with an ellipsis to fit `width` pixels. With `tail` (a marker such as " #"), what follows its
    last occurrence is kept whole, and the cut falls before it: a class name shortens, its index stays."""
    if font.size(text)[0] <= width:
        return text
    kept = ""
    if tail and tail in text:
        text, kept = text[: text.rindex(tail)], text[text.rindex(tail) :]
        if font.size(kept)[0] > width:
            text, kept = text + kept, ""
    low, high = 0, len(text)  # the longest cut that fits, by bisection
    while low < high:
        mid = (low + high + 1) // 2
        part = text[:mid] if keep == Keep.START else text[len(text) - mid :]
        candidate = f"{part.rstrip()}{ELLIPSIS}{kept}" if keep == Keep.START else f"{ELLIPSIS}{part}"
        if font.size(candidate)[0] <= width:
            low = mid
        else:
            high = mid - 1
    part = text[:low] if keep == Keep.START else text[len(text) - low :]
    return f"{part.rstrip()}{ELLIPSIS}{kept}" if keep == Keep.START else f"{ELLIPSIS}{part}"


def wrap(font: pygame.font.Font, text: str, width: int) -> list[str]:
    """Words into lines no wider than `width` pixels (a word too long for a line is shortened)."""
    if font.size(text)[0] <= width:
        return [text]
    lines, line = [], ""
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else word
        if line and font.size(candidate)[0] > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    return [shorten(font, line, width) for line in [*lines, line]]


def fit(
    font: pygame.font.Font, text: str, width: int, colour, keep: Keep = Keep.START, tail: str = ""
) -> pygame.Surface:
    """One line rendered to fit `width` pixels (see shorten). `font` may be a tuple, largest first: the first in
    which the whole line fits draws it, else the last, shortened."""
    if isinstance(font, tuple):
        font = next((f for f in font if f.size(text)[0] <= width), font[-1])
    line = shorten(font, text, max(width, 1), keep, tail)
    surface = font.render(line, True, colour)
    if Fit.record is not None:
        Fit.record.append((line, surface.get_width(), width))
    return surface


def fit_lines(font: pygame.font.Font, text: str, width: int, colour) -> list[pygame.Surface]:
    """A paragraph rendered as wrapped lines of at most `width` pixels."""
    return [fit(font, line, width, colour) for line in wrap(font, text, max(width, 1))]


def blit_text(surface: pygame.Surface, font, text: str, box: pygame.Rect, colour, keep: Keep = Keep.START,
              tail: str = "", align: str = "left") -> pygame.Rect:  # fmt: skip
    """Draw one line fitted to box's width, vertically centred in it; align "left", "center" or "right"."""
    line = fit(font, text, box.width, colour, keep, tail)
    where = line.get_rect(centery=box.centery)  # a font tuple: see fit
    setattr(where, align if align != "center" else "centerx", getattr(box, align if align != "center" else "centerx"))
    if Fit.record is not None and not surface.get_rect().contains(where):  # a box off its surface clips the text
        Fit.record.append((f"{text} (off its surface)", line.get_width() + 1, line.get_width()))
    surface.blit(line, where)
    return where


def outlined(surface: pygame.Surface, font, text: str, colour, pos: tuple[int, int], width: int, rim) -> None:
    """Text fitted to `width`, with a one-pixel rim of colour `rim`, so a label over dense dots of its own hue
    still reads."""
    ring = fit(font, text, width, rim)
    x, y = pos
    for dx, dy in ((-1, -1), (0, -1), (1, -1), (-1, 0), (1, 0), (-1, 1), (0, 1), (1, 1)):
        surface.blit(ring, (x + dx, y + dy))
    surface.blit(fit(font, text, width, colour), pos)
