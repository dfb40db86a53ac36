"""like_mnist: the MNIST size-and-centre normalisation, on synthetic shapes with known answers and on the
shipped test digits through the shipped encoder (k-NN agreement of the latents). Torch-free."""

from __future__ import annotations

import numpy as np
import pytest

from latent_common.images import resize
from tests.helpers import ROOT
from viewer.bundle import ENCODER, load_bundle
from viewer.inference import CPU, OnnxModel
from viewer.normalise import centre_of_mass, ink_box, like_mnist

K = 5


def box_size(image: np.ndarray) -> tuple[int, int]:
    top, bottom, left, right = ink_box(image)
    return bottom - top, right - left


def test_an_empty_canvas_stays_empty():
    assert not like_mnist(np.zeros((28, 28))).any()
    out = like_mnist(np.zeros((1, 28, 28), dtype=np.float32))
    assert out.shape == (1, 28, 28) and out.dtype == np.float32 and not out.any()
    assert not like_mnist(np.full((28, 28), 1e-4)).any()  # dimmer than any stroke: nothing drawn


def test_a_small_box_in_a_corner_grows_to_20_and_moves_to_the_centre():
    canvas = np.zeros((28, 28))
    canvas[1:11, 2:7] = 1.0  # 10 tall, 5 wide, top left
    out = like_mnist(canvas)
    assert out.shape == (28, 28) and out.dtype == np.float32
    height, width = box_size(out)
    assert height == 20 and width in (10, 11)  # the aspect ratio kept (an edge pixel may be partly covered)
    cy, cx = centre_of_mass(out)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5
    assert out.min() >= 0 and out.max() <= 1


def test_a_large_drawing_shrinks_to_fit_the_box_with_anti_aliasing():
    canvas = np.zeros((1, 28, 28))
    canvas[0, 1:27, 3:16] = 1.0  # 26 x 13
    out = like_mnist(canvas)[0]
    assert box_size(out) == (20, 10)
    assert 0 < out[out > 0].min() < 1 or np.isclose(out.sum(), 200)  # grey edges unless the box lands on pixels
    assert np.isclose(out.sum(), 26 * 13 * (20 / 26) ** 2, rtol=0.02)  # area averaging keeps the mean ink


def test_the_result_does_not_depend_on_where_the_drawing_was():
    rng = np.random.default_rng(0)
    shape = (rng.random((9, 7)) > 0.4).astype(float)
    first, second = np.zeros((28, 28)), np.zeros((28, 28))
    first[2:11, 3:10] = shape
    second[15:24, 18:25] = shape
    np.testing.assert_allclose(like_mnist(first), like_mnist(second), atol=1e-6)


def test_another_size_scales_the_box_with_it():
    canvas = np.zeros((28, 28))
    canvas[4:10, 4:10] = 1.0
    out = like_mnist(canvas, size=(56, 42))
    assert out.shape == (56, 42)
    assert box_size(out) == (30, 30)  # fit (20/28) of the narrower side, 42: a square stays square
    cy, cx = centre_of_mass(out)
    assert abs(cy - 28) <= 0.5 and abs(cx - 21) <= 0.5


def test_a_lopsided_shape_keeps_all_its_ink_inside_the_field():
    """A long bar with a heavy blob at one end: centring its mass would push the bar's far end off the field."""
    canvas = np.zeros((28, 28))
    canvas[2:26, 13] = 0.3  # a faint bar
    canvas[22:26, 10:17] = 1.0  # a heavy foot
    out = like_mnist(canvas)
    top, bottom, _, _ = ink_box(out)
    assert top >= 0 and bottom <= 28 and box_size(out)[0] == 20
    assert np.isclose(out.sum(), (0.3 * 20 + 28) * (20 * 6) / (24 * 7), rtol=0.01)  # the crop resized, nothing cut


@pytest.mark.parametrize("shape", [(3, 28, 28), (2, 1, 28, 28), (28,)])
def test_only_grey_canvases_are_taken(shape):
    with pytest.raises(ValueError, match="grey canvas"):
        like_mnist(np.zeros(shape))


def test_mnist_digits_are_already_normalised():
    """The test set's own digits come back almost unchanged: the steps are MNIST's."""
    bundle = load_bundle(ROOT / "models" / "mnist-ae")
    digits = bundle.images_chw[:500].astype(np.float64) / 255  # (500, 1, 28, 28)
    again = np.stack([like_mnist(d) for d in digits])
    assert np.abs(again - digits).mean() < 1e-3


def enlarge_and_shift(image: np.ndarray, dy: int, dx: int, scale: float = 1.4) -> np.ndarray:
    """A digit drawn bigger and off-centre: scaled about the centre, moved (dy, dx) pixels, cut to 28x28."""
    big_side = round(28 * scale)
    big = resize(image[None], big_side, big_side)[0]
    centre = (big_side - 28) // 2
    top, left = np.clip(centre - dy, 0, big_side - 28), np.clip(centre - dx, 0, big_side - 28)
    return big[top : top + 28, left : left + 28]


def knn_agreement(z: np.ndarray, index: np.ndarray, bundle) -> float:
    """Share of latents whose k nearest embedding points (leaving out the digit's own) vote for its true class."""
    distances = (bundle.z**2).sum(axis=1)[None, :] - 2 * z @ bundle.z.T  # (N, M), less |z|^2, which ranks nothing
    distances[np.arange(len(index)), index] = np.inf
    neighbours = np.argpartition(distances, K, axis=1)[:, :K]
    votes = np.zeros((len(index), len(bundle.class_names)), dtype=np.int32)
    np.add.at(votes, (np.arange(len(index))[:, None], bundle.labels[neighbours]), 1)
    return float((votes.argmax(axis=1) == bundle.labels[index]).mean())


@pytest.mark.parametrize("name", ["mnist-ae", "mnist-ae-8d"])
def test_enlarged_and_shifted_digits_land_among_their_class_once_normalised(name):
    bundle = load_bundle(ROOT / "models" / name)
    encoder = OnnxModel(bundle.path / ENCODER, "encoder", bundle.latent_dim, bundle.image_shape, [CPU])
    index = np.arange(0, len(bundle.z), 5)  # 2,000 of the 10,000 test digits
    digits = bundle.images_chw[index, 0].astype(np.float64) / 255  # (N, 28, 28)
    shifts = np.random.default_rng(0).integers(-3, 4, size=(len(index), 2))  # up to 3 px each way
    distorted = np.stack([enlarge_and_shift(d, dy, dx) for d, (dy, dx) in zip(digits, shifts)])
    normalised = np.stack([like_mnist(d) for d in distorted])

    def agreement(images):
        return knn_agreement(encoder(images[:, None].astype(np.float32)), index, bundle)

    original, raw, fixed = agreement(digits), agreement(distorted), agreement(normalised)
    print(
        f"{name} {K}-NN agreement: test digits {original:.3f}, x1.4 and shifted {raw:.3f}, then normalised {fixed:.3f}"
    )
    assert fixed > raw + 0.3  # measured: mnist-ae 0.308 -> 0.766, mnist-ae-8d 0.406 -> 0.895
    assert fixed > original - 0.06  # and close to the undistorted digits' own 0.805 / 0.941
