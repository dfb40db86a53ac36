"""The legend under its heading: a dot and a name per class (click one to hide it), or in the anomaly view the
error scale as a colour bar."""

from __future__ import annotations

import pygame

from latent_common.style import AXIS, DIM_TEXT, PIN, TEXT, class_color
from viewer import words
from viewer.layout import CAPTION
from viewer.panels.base import Panel
from viewer.panels.paint import blank
from viewer.text import Keep, blit_text

LEGEND_NAME_CAP = 200  # pixels a class name may ask for: longer names are shortened, and share a row


def legend_font(class_names: list[str], fonts) -> pygame.font.Font:
    """The text font for short names (digits), the small one when names are words, so more fit a row."""
    return fonts["text"] if max(len(name) for name in class_names) <= 3 else fonts["small"]


def legend_cell(class_names: list[str], font: pygame.font.Font) -> int:
    """The width one legend entry needs: dot, gap and the widest name (capped, so long names share a row)."""
    return 28 + min(max(font.size(words.legend_name(i, name))[0] for i, name in enumerate(class_names)),
                    LEGEND_NAME_CAP)  # fmt: skip


class LegendPanel(Panel):
    name, layer = "legend", "back"

    def slot(self, state) -> pygame.Rect:
        legend = self.scene.layout.legend
        return pygame.Rect(legend.left, legend.top - CAPTION, legend.width, legend.height + CAPTION)

    def key(self, state):
        pictures = self.scene.panel("plot").placed is not None
        return state.view.hidden, state.anomaly.on, words.legend_heading(state, pictures)

    def build(self, state) -> pygame.Surface:
        layout, models = self.scene.layout, self.scene.models
        surface = blank(self.slot(state).size)
        heading = words.legend_heading(state, self.scene.panel("plot").placed is not None)
        blit_text(surface, self.scene.fonts["small"], heading, pygame.Rect(0, 0, layout.legend.width, CAPTION - 2),
                  DIM_TEXT)  # fmt: skip
        body = surface.subsurface(pygame.Rect(0, CAPTION, layout.legend.width, layout.legend.height))
        names = models.bundle.class_names
        if state.anomaly.on:
            scale = models.error_scale()
            hidden = [names[index] for index in sorted(state.view.hidden)]
            colour_bar(body, scale.edges, scale.colors, self.scene.fonts["small"], hidden)
        else:
            class_legend(body, layout, names, state.view.hidden, legend_font(names, self.scene.fonts))
        return surface


def class_legend(surface: pygame.Surface, layout, class_names: list[str], hidden: frozenset[int], font) -> None:
    """A dot and a name per class, as many as fit; past that, one cell says how many more there are."""
    capacity = layout.legend_capacity
    shown = class_names if len(class_names) <= capacity else class_names[: capacity - 1]
    for index, name in enumerate(shown):
        item = layout.legend_item(index).move(-layout.legend.left, -layout.legend.top)
        off = index in hidden
        pygame.draw.circle(surface, class_color(index), (item.left + 8, item.centery), 6, width=2 if off else 0)
        box = pygame.Rect(item.left + 18, item.top, item.width - 20, item.height)
        blit_text(surface, font, words.legend_name(index, name), box, DIM_TEXT if off else TEXT)
    if len(shown) < len(class_names):
        item = layout.legend_item(len(shown)).move(-layout.legend.left, -layout.legend.top)
        blit_text(surface, font, words.legend_more(len(class_names) - len(shown)), item.inflate(-4, 0), DIM_TEXT)


def colour_bar(surface: pygame.Surface, edges, colors: list, font, hidden: list[str]) -> None:
    """The error scale as a bar of its colours, ticked in error units (log scale), what the errors are, and the
    classes left out (the class legend that would show it isn't there); lines that don't fit the height are left
    off, the hidden classes first."""
    width, line = surface.get_width() - 16, font.get_linesize()
    cell = width / len(colors)
    for i, color in enumerate(colors):
        pygame.draw.rect(surface, color, (8 + int(i * cell), 2, int(cell) + 1, 10))
    for i in (0, len(colors) // 2, len(colors)):
        x = 8 + int(i * cell)
        pygame.draw.line(surface, AXIS, (x, 12), (x, 15))
        centre = min(max(x, 24), width - 16)
        blit_text(surface, font, f"{edges[i]:.3g}", pygame.Rect(centre - 24, 16, 48, line), DIM_TEXT, Keep.END,
                  align="center")  # fmt: skip
    y = 16 + line
    for text, colour in ((words.ERROR_BAR_NOTE, DIM_TEXT), (words.hidden_classes(hidden) if hidden else "", PIN)):
        if text and y + line <= surface.get_height():
            blit_text(surface, font, text, pygame.Rect(8, y, width, line), colour)
            y += line
