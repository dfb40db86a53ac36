"""Turning numpy images into pygame surfaces: the only numpy -> Surface code, shared by the panels."""

from __future__ import annotations

import numpy as np
import pygame

from latent_common.style import BACKGROUND, WARN

# Ink palette for 8-bit grey image surfaces: dark blue-black paper to warm white ink.
INK = [(int(18 + 237 * t), int(20 + 230 * t), int(28 + 212 * t**1.2)) for t in np.linspace(0, 1, 256)]
MAP_ALPHA = 150  # the manifold map sits under the dots, dimmed so the colours still read


def blank(size: tuple[int, int], alpha: bool = False) -> pygame.Surface:
    """A panel's empty surface: the window's background colour, or transparent."""
    if alpha:
        return pygame.Surface(size, pygame.SRCALPHA)
    surface = pygame.Surface(size).convert()
    surface.fill(BACKGROUND)
    return surface


def _pixels(images: np.ndarray) -> np.ndarray:
    """Floats in [0, 1] (NaN as 0) -> uint8, rounded."""
    return (np.clip(np.nan_to_num(images, nan=0.0), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def image_surface(image: np.ndarray, size: tuple[int, int]) -> pygame.Surface:
    """(C, H, W) floats in [0, 1] -> a surface scaled to size with sharp pixels: grey through the ink
    palette, colour as it is."""
    pixels = _pixels(image)
    if pixels.shape[0] == 1:
        small = pygame.surfarray.make_surface(np.ascontiguousarray(pixels[0].T))  # surfarray is (x, y)
        small.set_palette(INK)
    else:
        small = pygame.surfarray.make_surface(np.ascontiguousarray(pixels.transpose(2, 1, 0)))  # (W, H, 3)
    return pygame.transform.scale(small, size)


def image_or_cross(image: np.ndarray, size: tuple[int, int]) -> pygame.Surface:
    """The image, or a crossed-out blank where the model answered NaN or Inf."""
    return image_surface(image, size) if np.isfinite(image).all() else nan_tile(size)


def tile_images(images: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """(rows * columns, C, H, W), row-major -> one (C, rows * H, columns * W) image."""
    _, c, h, w = images.shape
    return images.reshape(rows, columns, c, h, w).transpose(2, 0, 3, 1, 4).reshape(c, rows * h, columns * w)


def map_surface(images: np.ndarray, n: int, size: tuple[int, int]) -> pygame.Surface:
    """(n * n, C, H, W) decodes, rows from the top, tiled into one surface covering the plot; a tile the
    model answered with NaN or Inf for is crossed out rather than shown blank."""
    surface = image_surface(tile_images(images, n, n), size)
    for index in np.flatnonzero(~np.isfinite(images).reshape(len(images), -1).all(axis=1)):
        row, column = divmod(int(index), n)
        cell = pygame.Rect(column * size[0] // n, row * size[1] // n, size[0] // n, size[1] // n)
        pygame.draw.line(surface, WARN, cell.topleft, cell.bottomright, 2)
        pygame.draw.line(surface, WARN, cell.bottomleft, cell.topright, 2)
    surface.set_alpha(MAP_ALPHA)
    return surface


def nan_tile(size: tuple[int, int]) -> pygame.Surface:
    blank_tile = pygame.Surface(size)
    blank_tile.fill(INK[0])
    pygame.draw.line(blank_tile, WARN, (0, 0), (size[0] - 1, size[1] - 1), 3)
    pygame.draw.line(blank_tile, WARN, (0, size[1] - 1), (size[0] - 1, 0), 3)
    return blank_tile


class ImageTile:
    """An upscaled image drawn into surfaces made once: no allocation per frame on the hover path."""

    def __init__(self, image_shape: tuple[int, int, int], size: tuple[int, int]):
        channels, height, width = image_shape
        self.size, self.grey = size, channels == 1
        depth = 8 if self.grey else 24  # grey through the ink palette, colour as it is
        self.small = pygame.Surface((width, height), depth=depth)  # surfaces are (width, height)
        self.surface = pygame.Surface(size, depth=depth)
        if self.grey:
            self.small.set_palette(INK)
            self.surface.set_palette(INK)

    def update(self, image: np.ndarray) -> pygame.Surface:
        """(C, H, W) float in [0, 1] -> the tile, pixels kept sharp. NaN draws as a marked blank."""
        if not np.isfinite(image).all():
            return nan_tile(self.size)
        pixels = _pixels(image)
        # surfarray is (x, y[, rgb]); images are (channel, row, column)
        pygame.surfarray.blit_array(self.small, pixels[0].T if self.grey else pixels.transpose(2, 1, 0))
        return pygame.transform.scale(self.small, self.size, self.surface)
