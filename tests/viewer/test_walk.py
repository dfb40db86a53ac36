"""viewer.walk: paths through waypoints (lines and great circles), traversal grids, class directions and
reconstruction errors, on synthetic latents with known answers and on the shipped bundles. Torch-free."""

from __future__ import annotations

import numpy as np
import pytest

from latent_common.errors import UserError
from tests.helpers import ROOT, SHIPPED
from viewer.bundle import DECODER, ENCODER, load_bundle
from viewer.explore import make_plane
from viewer.inference import CPU, OnnxModel
from viewer.walk import (
    class_direction,
    group_direction,
    path,
    percentile_of,
    reconstruction_error,
    reconstruction_errors,
    slerp,
    traversal,
    traversal_directions,
    worst,
)

AE, VAE, AE_8D = (ROOT / "models" / name for name in ("mnist-ae", "mnist-vae", "mnist-ae-8d"))


def models(bundle):
    def load(file, role):
        return OnnxModel(bundle.path / file, role, bundle.latent_dim, bundle.image_shape, [CPU])

    return load(DECODER, "decoder"), load(ENCODER, "encoder")


@pytest.fixture(scope="module")
def ae():
    bundle = load_bundle(AE)
    return bundle, *models(bundle)


# Paths ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spherical", [False, True])
def test_the_path_passes_through_every_waypoint_in_order(spherical):
    waypoints = np.array([[1.0, 0.0, 0.5], [0.0, 2.0, 0.0], [-1.5, 0.5, 1.0], [3.0, -1.0, -2.0]])
    latents = path(waypoints, 10, spherical=spherical)
    assert latents.shape == (31, 3) and latents.dtype == np.float32
    np.testing.assert_allclose(latents[::10], waypoints, atol=1e-6)


def test_one_waypoint_is_a_one_frame_path_and_bad_input_is_refused():
    assert path(np.array([[1.0, 2.0]]), 5).tolist() == [[1.0, 2.0]]
    with pytest.raises(ValueError):
        path(np.zeros((0, 2)), 5)
    with pytest.raises(ValueError):
        path(np.zeros((2, 2)), 0)


@pytest.mark.parametrize("spherical", [False, True])
def test_adjacent_frames_are_closer_than_distant_ones(spherical):
    waypoints = np.array([[2.0, 0.0], [0.0, 3.0], [-2.0, 1.0]])  # no leg turns back on the one before
    latents = path(waypoints, 12, spherical=spherical).astype(np.float64)
    for gap in (2, 5, 12):
        near = np.linalg.norm(latents[1:] - latents[:-1], axis=1)
        far = np.linalg.norm(latents[gap:] - latents[:-gap], axis=1)
        assert near.max() < far.min()


def test_the_linear_path_takes_equal_steps_along_each_leg():
    latents = path(np.array([[0.0, 0.0], [4.0, 0.0]]), 8)
    np.testing.assert_allclose(np.diff(latents[:, 0]), 0.5, atol=1e-6)
    assert not latents[:, 1].any()


def test_slerp_keeps_norms_between_the_endpoints_and_leaves_the_line():
    a, b = np.array([3.0, 0.0, 0.0]), np.array([0.0, 1.0, 1.0])
    t = np.linspace(0, 1, 21)
    curve, line = slerp(a, b, t), (1 - t[:, None]) * a + t[:, None] * b
    norms = np.linalg.norm(curve, axis=1)
    np.testing.assert_allclose(norms, (1 - t) * 3 + t * np.sqrt(2), atol=1e-9)  # linear in t: between the two
    assert np.abs(curve - line).max() > 0.5  # a straight line dips to norm ~1.2 between them; the arc doesn't
    angle_to_a = np.arccos(np.clip(curve @ a / (norms * 3), -1, 1))
    np.testing.assert_allclose(angle_to_a, t * np.pi / 2, atol=1e-9)  # constant angular speed
    normal = np.cross(a, b)
    np.testing.assert_allclose(curve @ normal, 0, atol=1e-9)  # on the great circle through a and b


def test_slerp_degenerate_cases_are_finite_and_sensible():
    t = np.linspace(0, 1, 9)
    a = np.array([1.0, 2.0, -0.5])
    for b in (np.zeros(3), 2.5 * a, a + 1e-10):  # the origin, the same direction, almost the same point
        curve = slerp(a, b, t)
        np.testing.assert_allclose(curve, (1 - t[:, None]) * a + t[:, None] * b, atol=1e-9)
    np.testing.assert_allclose(slerp(np.zeros(3), np.zeros(3), t), 0)
    for b in (-a, -2 * a + 1e-12):  # opposite: a half circle, never through the origin
        curve = slerp(a, b, t)
        assert np.isfinite(curve).all()
        norms = np.linalg.norm(curve, axis=1)
        np.testing.assert_allclose(norms, (1 - t) * np.linalg.norm(a) + t * np.linalg.norm(b), atol=1e-9)
        np.testing.assert_allclose(curve[[0, -1]], [a, b], atol=1e-9)
        assert abs(curve[4] @ a) < 1e-9  # halfway round: perpendicular to both
    np.testing.assert_allclose(slerp(np.array([-1.0]), np.array([2.0]), t)[:, 0], -1 + 3 * t)  # 1-D: the line


def test_a_walk_decodes_to_frames_that_change_smoothly():
    """What --export-walk writes: adjacent decoded frames differ less than frames further apart."""
    bundle = load_bundle(VAE)
    decoder, _ = models(bundle)
    labels = bundle.labels
    waypoints = np.stack([bundle.z[labels == digit].mean(axis=0) for digit in (1, 7, 4)])
    for spherical in (False, True):
        frames = decoder(path(waypoints, 15, spherical=spherical))  # (31, 1, 28, 28)
        step = [np.abs(frames[i + 1] - frames[i]).mean() for i in range(len(frames) - 1)]
        far = [np.abs(frames[i + 10] - frames[i]).mean() for i in range(len(frames) - 10)]
        assert np.mean(step) < np.mean(far) / 3 and max(step) < np.mean(far)


# Traversals -----------------------------------------------------------------------------------------------------


def test_traversal_rows_move_along_their_own_direction_only():
    rng = np.random.default_rng(0)
    directions = np.linalg.qr(rng.normal(size=(5, 5)))[0][:, :3].T  # (3, 5) orthonormal rows
    spread, z = np.array([1.0, 0.5, 2.0]), rng.normal(size=5)
    grid = traversal(z, directions, spread, steps=9).reshape(3, 9, 5).astype(np.float64)
    for row, (direction, sigma) in enumerate(zip(directions, spread)):
        moves = grid[row] - z  # (9, 5)
        along = moves @ direction
        np.testing.assert_allclose(moves - along[:, None] * direction, 0, atol=1e-5)  # nothing off the direction
        np.testing.assert_allclose(along, np.linspace(-2, 2, 9) * sigma, atol=1e-5)  # -2 sigma to +2 sigma
        np.testing.assert_allclose(grid[row, 4], z, atol=1e-6)  # the middle column is the current point


def test_traversal_about_a_centre_spans_the_embedding_along_each_direction():
    z, centre = np.array([3.0, -1.0]), np.array([0.5, 0.5])
    grid = traversal(z, np.eye(2), np.array([1.0, 2.0]), steps=5, centre=centre).reshape(2, 5, 2)
    np.testing.assert_allclose(grid[0, :, 0], 0.5 + np.linspace(-2, 2, 5))  # z1 spans the embedding's range
    np.testing.assert_allclose(grid[0, :, 1], -1.0)  # z2 stays where z is
    np.testing.assert_allclose(grid[1, :, 1], 0.5 + 2 * np.linspace(-2, 2, 5))
    np.testing.assert_allclose(grid[1, :, 0], 3.0)


def test_directions_are_the_axes_of_a_2d_latent():
    bundle = load_bundle(AE)
    found = traversal_directions(bundle.z)
    assert found.names == ["z1", "z2"]
    np.testing.assert_array_equal(found.vectors, np.eye(2))
    np.testing.assert_allclose(found.spread, bundle.z.astype(np.float64).std(axis=0, ddof=1))


def test_directions_are_the_principal_components_of_an_8d_latent():
    bundle = load_bundle(AE_8D)
    plane = make_plane(bundle.z)
    found = traversal_directions(bundle.z, plane)
    assert found.names == [f"PC{i}" for i in range(1, 9)]
    np.testing.assert_allclose(found.vectors @ found.vectors.T, np.eye(8), atol=1e-9)  # orthonormal
    np.testing.assert_allclose(found.vectors[:2], plane.basis.T)
    np.testing.assert_allclose(found.spread[2:], plane.extra_std)
    # An independent reference: the covariance's eigenvalues are the variances along the components.
    variances = np.sort(np.linalg.eigvalsh(np.cov(bundle.z.astype(np.float64), rowvar=False)))[::-1]
    np.testing.assert_allclose(found.spread, np.sqrt(variances), rtol=1e-6)
    assert (np.diff(found.spread) <= 0).all()


# Feature directions ---------------------------------------------------------------------------------------------


def test_class_direction_points_from_one_cluster_to_the_other():
    bundle = load_bundle(SHIPPED)  # whose clusters of 0/1, 7/9 and 3/8 lie apart along their means' line
    z, labels = bundle.z.astype(np.float64), bundle.labels
    for a, b in ((0, 1), (7, 9), (3, 8)):
        unit, length = class_direction(bundle.z, labels, a, b)
        assert np.isclose(np.linalg.norm(unit), 1.0)
        np.testing.assert_allclose(z[labels == a].mean(axis=0) + length * unit, z[labels == b].mean(axis=0), atol=1e-4)
        along_a, along_b = z[labels == a] @ unit, z[labels == b] @ unit
        assert np.median(along_b) - np.median(along_a) > 0.5 * length  # b's cluster lies further along than a's


def test_group_direction_between_pinned_points_and_the_refusals():
    unit, length = group_direction(np.array([[0.0, 0.0], [2.0, 0.0]]), np.array([[1.0, 3.0]]))
    np.testing.assert_allclose(unit, [0.0, 1.0])
    assert length == 3.0
    with pytest.raises(UserError, match="same mean"):
        group_direction(np.array([[1.0, 1.0]]), np.array([[0.0, 0.0], [2.0, 2.0]]))
    with pytest.raises(UserError, match="at least one point"):
        group_direction(np.zeros((0, 2)), np.ones((1, 2)))
    labels = np.array([0, 0, 1])
    with pytest.raises(UserError, match="class 5 has no test images"):
        class_direction(np.zeros((3, 2)), labels, 0, 5)
    with pytest.raises(UserError, match="two different classes"):
        class_direction(np.zeros((3, 2)), labels, 1, 1)


# Anomalies ------------------------------------------------------------------------------------------------------


def test_reconstruction_errors_average_to_the_bundles_test_mse(ae):
    bundle, decoder, encoder = ae
    errors = reconstruction_errors(decoder, encoder, bundle.images_chw)
    assert errors.shape == (len(bundle.z),) and errors.dtype == np.float32
    assert abs(errors.astype(np.float64).mean() - bundle.meta.test_mse) < 1e-4
    np.testing.assert_allclose(reconstruction_errors(decoder, encoder, bundle.images_chw[:50], batch=7), errors[:50])
    one = bundle.images_chw[12].astype(np.float32) / 255
    assert np.isclose(reconstruction_error(decoder, encoder, one), errors[12], rtol=1e-5)


def test_a_non_digit_is_more_unusual_than_most_test_digits(ae):
    bundle, decoder, encoder = ae
    errors = reconstruction_errors(decoder, encoder, bundle.images_chw)
    bars = np.zeros((1, 28, 28), dtype=np.float32)
    bars[0, 4:24, 4:24:4] = 1.0  # five vertical bars: ink where no digit has it
    noise = np.random.default_rng(0).random((1, 28, 28)).astype(np.float32)
    for name, image in (("bars", bars), ("noise", noise)):
        share = percentile_of(reconstruction_error(decoder, encoder, image), errors)
        print(f"{name}: more unusual than {share:.1%} of the test set")
        assert share > 0.95


def test_percentile_of_counts_strictly_smaller_errors_and_worst_lists_the_largest():
    errors = np.array([0.1, 0.4, 0.2, 0.4, 0.3])
    assert percentile_of(0.05, errors) == 0.0
    assert percentile_of(0.3, errors) == 0.4
    assert percentile_of(0.4, errors) == 0.6
    assert percentile_of(9.0, errors) == 1.0
    np.testing.assert_allclose(percentile_of(np.array([0.05, 0.3, 9.0]), errors), [0.0, 0.4, 1.0])
    assert worst(errors, 3).tolist() == [1, 3, 4]
    assert worst(errors, 0).tolist() == []
    with pytest.raises(ValueError):
        percentile_of(0.1, np.array([]))


def test_reconstruction_errors_with_stand_in_models():
    """A decoder that draws everything at half brightness: each image's error is a quarter of its mean square."""
    images = np.random.default_rng(0).integers(0, 256, size=(25, 3, 4, 5), dtype=np.uint8)
    errors = reconstruction_errors(lambda z: z * 0.5, lambda x: x, images, batch=4)
    expected = ((images.astype(np.float64) / 255 / 2) ** 2).mean(axis=(1, 2, 3))
    np.testing.assert_allclose(errors, expected, rtol=1e-5)
    with pytest.raises(ValueError):
        reconstruction_errors(lambda z: z, lambda x: x, images.astype(np.float32))


def test_the_new_modules_import_neither_torch_nor_pillow_nor_pygame():
    import subprocess
    import sys

    code = (
        "import sys; import viewer.gif, viewer.normalise, viewer.walk, viewer.session_file; "
        "heavy = [m for m in ('torch', 'PIL', 'pygame') if m in sys.modules]; assert not heavy, heavy"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
