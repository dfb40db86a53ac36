"""latent_common.images: the picture conversion training and the viewer share, on tiny arrays with exact values."""

from __future__ import annotations

import numpy as np
import pytest

from latent_common.images import axis_weights, has_colour, to_model_input


def grey(rows: list[list[int]]) -> np.ndarray:
    return np.array(rows, dtype=np.uint8)


def test_alpha_is_composited_onto_the_background():
    pixel = np.array([[[255, 0, 0, 128]]], dtype=np.uint8)  # half-transparent red
    # 255 * 128/255 + 255 * 127/255 = 255; 0 + 255 * 127/255 = 127
    assert to_model_input(pixel, (1, 1), 3).ravel().tolist() == [255, 127, 127]
    assert to_model_input(pixel, (1, 1), 3, background=(0, 0, 0)).ravel().tolist() == [128, 0, 0]
    clear = np.array([[[10, 200, 30, 0]]], dtype=np.uint8)  # fully transparent: only the background shows
    assert to_model_input(clear, (1, 1), 3, background=(1, 2, 3)).ravel().tolist() == [1, 2, 3]


def test_grey_uses_bt601_luma_and_keeps_greys_exact():
    pixels = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [77, 77, 77]]], dtype=np.uint8)
    # 0.299 * 255 = 76.2, 0.587 * 255 = 149.7, 0.114 * 255 = 29.1
    assert to_model_input(pixels, (1, 4), 1).ravel().tolist() == [76, 150, 29, 77]


def test_area_average_when_shrinking():
    image = grey([[0, 4, 8, 12], [4, 8, 12, 16], [100, 100, 0, 0], [100, 100, 0, 0]])
    assert to_model_input(image, (2, 2), 1)[0].tolist() == [[4, 12], [100, 0]]
    # 3 -> 2: each output pixel covers 1.5 source pixels: (30 + 0.5 * 60) / 1.5 = 40, (0.5 * 60 + 90) / 1.5 = 80
    assert to_model_input(grey([[30, 60, 90]] * 3), (2, 2), 1)[0].tolist() == [[40, 80], [40, 80]]


def test_bilinear_with_half_pixel_centres_when_growing():
    # source centres at 0.5 and 1.5; output centres at 0.25, 0.75, 1.25, 1.75 in source units: 0, 25, 75, 100
    out = to_model_input(grey([[0, 100], [0, 100]]), (4, 4), 1)[0]
    assert out.tolist() == [[0, 25, 75, 100]] * 4


def test_other_aspect_ratios_are_padded_with_the_background_not_stretched():
    wide = grey([[0, 0, 0, 0], [0, 0, 0, 0]])  # 2 high, 4 wide: a row of white above and below
    assert to_model_input(wide, (4, 4), 1)[0].tolist() == [[255] * 4, [0] * 4, [0] * 4, [255] * 4]
    tall = np.zeros((3, 1, 4), dtype=np.uint8)
    tall[..., 3] = 255  # opaque black, 3 high and 1 wide: one column each side
    assert to_model_input(tall, (3, 3), 3, background=(9, 9, 9))[:, 0].tolist() == [[9, 0, 9]] * 3


def test_shapes_layout_and_identity():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    out = to_model_input(rgb, (5, 7), 3)
    assert out.dtype == np.uint8 and out.shape == (3, 5, 7)
    np.testing.assert_array_equal(out, rgb.transpose(2, 0, 1))  # right size, opaque: unchanged
    rgba = np.concatenate([rgb, np.full((5, 7, 1), 255, np.uint8)], axis=2)
    np.testing.assert_array_equal(to_model_input(rgba, (5, 7), 3), out)
    assert to_model_input(rgb, (10, 14), 1).shape == (1, 10, 14)


def test_a_grey_picture_in_one_channel_is_the_first_plane_of_its_rgb_conversion():
    """Training converts pictures to RGB and keeps one plane when none has colour: that must equal the
    one-channel conversion the viewer does, bit for bit, whatever the resize and the alpha."""
    rng = np.random.default_rng(1)
    for _ in range(100):
        height, width = rng.integers(1, 30, size=2)
        value, alpha = rng.integers(0, 256, size=(2, height, width), dtype=np.uint8)
        rgba = np.stack([value, value, value, alpha], axis=-1)
        size = tuple(int(n) for n in rng.integers(1, 40, size=2))
        one, three = to_model_input(rgba, size, 1), to_model_input(rgba, size, 3)
        np.testing.assert_array_equal(one[0], three[0])
        np.testing.assert_array_equal(three[0], three[2])


def test_resize_weights_keep_a_flat_image_flat():
    for n_in, n_out in ((28, 64), (64, 28), (5, 3), (3, 5), (256, 8)):
        weights = axis_weights(n_in, n_out)
        np.testing.assert_allclose(weights.sum(axis=1), 1.0)
        assert (weights >= 0).all()


def test_colour_detection_ignores_invisible_pixels():
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    rgba[0, 0] = (255, 0, 0, 0)  # red, but fully transparent
    assert not has_colour(rgba) and not has_colour(rgba[..., 0])
    rgba[0, 0, 3] = 1
    assert has_colour(rgba)


@pytest.mark.parametrize(
    "pixels, size, channels",
    [
        (np.zeros((2, 2, 2), np.uint8), (2, 2), 1),  # two channels: neither grey nor RGB(A)
        (np.zeros((2, 2), np.float32), (2, 2), 1),  # floats: this converts decoded pixels, uint8
        (np.zeros((2, 2), np.uint8), (2, 2), 2),
        (np.zeros((2, 2), np.uint8), (0, 2), 1),
    ],
)
def test_bad_arguments_are_value_errors(pixels, size, channels):
    with pytest.raises(ValueError):
        to_model_input(pixels, size, channels)
