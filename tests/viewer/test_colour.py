"""Colour and any size inside the viewer: images cross the ONNX edge as (N, C, H, W) and every surface draws
C = 1 through the ink palette and C = 3 as it is."""

from __future__ import annotations

import numpy as np
import pygame
import pytest

from tests.helpers import SHIPPED
from viewer.bundle import ENCODER, load_bundle
from viewer.inference import CPU, OnnxModel
from viewer.panels.paint import INK, ImageTile, image_surface, map_surface, tile_images


@pytest.fixture(autouse=True)
def display():
    pygame.display.init()
    pygame.display.set_mode((10, 10))
    yield
    pygame.display.quit()


def solid(rgb, size=(8, 12)) -> np.ndarray:
    """A (3, H, W) image of one colour, floats in [0, 1]."""
    return np.broadcast_to(np.asarray(rgb, dtype=np.float32)[:, None, None] / 255.0, (3, *size)).copy()


def test_a_colour_image_draws_in_its_colours_at_any_size():
    surface = image_surface(solid((200, 30, 90)), (36, 24))
    assert surface.get_size() == (36, 24)
    assert tuple(surface.get_at((5, 5)))[:3] == (200, 30, 90)


def test_a_grey_image_draws_through_the_ink_palette():
    surface = image_surface(np.full((1, 4, 4), 1.0, dtype=np.float32), (8, 8))
    assert tuple(surface.get_at((3, 3)))[:3] == INK[255]


def test_the_tile_keeps_colour_and_rows_stay_rows():
    image = solid((0, 0, 0), size=(4, 6))
    image[:, 0, :] = np.array([1.0, 0.0, 0.0])[:, None]  # the top row red
    tile = ImageTile((3, 4, 6), (60, 40)).update(image)
    assert tuple(tile.get_at((30, 2)))[:3] == (255, 0, 0)
    assert tuple(tile.get_at((30, 38)))[:3] == (0, 0, 0)


def test_tiles_are_laid_out_row_major():
    images = np.stack([solid((i * 20, 0, 0), size=(2, 3)) for i in range(6)])  # (6, 3, 2, 3)
    tiled = tile_images(images, 2, 3)  # 2 rows of 3
    assert tiled.shape == (3, 4, 9)
    assert tiled[0, 0, 3] == pytest.approx(20 / 255) and tiled[0, 2, 0] == pytest.approx(60 / 255)
    square = np.stack([solid((0, i * 60, 0), size=(2, 2)) for i in range(4)])
    assert map_surface(square, 2, (40, 40)).get_size() == (40, 40)


def test_a_format_1_encoder_takes_channel_first_images():
    bundle = load_bundle(SHIPPED)
    encoder = OnnxModel(SHIPPED / ENCODER, "encoder", bundle.latent_dim, bundle.image_shape, [CPU])
    z = encoder(bundle.images_chw[:3].astype(np.float32) / 255.0)
    np.testing.assert_allclose(z, bundle.z[:3], atol=1e-4)
