"""Your own picture into the latent space: --encode FILE and a file dropped on the window land where the
model puts them, converted exactly as the training images were."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pygame
import pytest

from tests.helpers import SHIPPED, assert_one_line_error, run_module
from tests.viewer.harness import ev, key, run_viewer
from viewer.bundle import load_bundle
from viewer.picture import load_picture

INDEX = 1234  # any test image


def save_test_image(bundle, index: int, path: Path) -> Path:
    """Write a test image of the bundle as an RGB PNG (grey: equal channels), as a user's file would be."""
    grey = bundle.images_chw[index][0]  # (H, W) uint8
    pygame.display.init()
    surface = pygame.surfarray.make_surface(np.repeat(grey.T[:, :, None], 3, axis=2))
    pygame.image.save(surface, str(path))
    return path


@pytest.fixture(scope="module")
def bundle():
    return load_bundle(SHIPPED)


def test_a_saved_test_image_converts_back_to_its_own_pixels(bundle, tmp_path: Path):
    image = load_picture(save_test_image(bundle, INDEX, tmp_path / "digit.png"), bundle.chw, bundle.background)
    np.testing.assert_array_equal(np.rint(image * 255).astype(np.uint8), bundle.images_chw[INDEX])


def test_encode_lands_a_test_image_on_its_own_dot(bundle, tmp_path: Path):
    png = save_test_image(bundle, INDEX, tmp_path / "digit.png")
    stats, _ = run_viewer(tmp_path, None, 3, "--mouse", "still", "--encode", str(png))
    encoded = np.asarray(stats["encoded"]["z"])
    np.testing.assert_allclose(encoded, bundle.z[INDEX], atol=1e-4)
    assert stats["encoded"]["file"] == "digit.png"


def test_a_dropped_file_is_encoded_and_marked(bundle, tmp_path: Path):
    png = save_test_image(bundle, INDEX, tmp_path / "dropped.png")
    script = lambda frame, layout: [ev(pygame.DROPFILE, file=str(png))] if frame == 2 else []  # noqa: E731
    stats, shot = run_viewer(tmp_path, script, 6, "--mouse", "still")
    np.testing.assert_allclose(stats["encoded"]["z"], bundle.z[INDEX], atol=1e-4)
    from latent_common.style import DRAWN
    from viewer.layout import make_layout, window_size

    plot = make_layout(window_size()).plot
    pixels = pygame.surfarray.array3d(shot)[plot.left : plot.right, plot.top : plot.bottom].reshape(-1, 3)
    assert (np.abs(pixels.astype(int) - DRAWN).sum(axis=1) < 30).sum() > 20  # the ring that marks it


def test_a_dropped_file_that_is_no_image_is_a_notice_not_a_crash(tmp_path: Path):
    junk = tmp_path / "notes.txt"
    junk.write_text("not a picture")
    script = lambda frame, layout: [ev(pygame.DROPFILE, file=str(junk))] if frame == 1 else []  # noqa: E731
    stats, _ = run_viewer(tmp_path, script, 4, "--mouse", "still")
    assert stats["frames"] == 4 and "encoded" not in stats


def test_p_on_a_plain_autoencoder_says_why_it_does_nothing(tmp_path: Path):
    from viewer import app, cli

    seen = {}

    def script(frame, layout):
        return [key(pygame.K_p, "p")] if frame == 1 else []

    original = app.carry_out_requests

    def spy(state, *rest):
        original(state, *rest)
        if state.notice:
            seen["notice"] = state.notice

    app.carry_out_requests = spy
    try:
        args = cli.build_parser().parse_args(
            [str(SHIPPED), "--headless", "--frames", "3", "--fps", "0", "--mouse", "still"]
        )
        app.run(args, script=script)
    finally:
        app.carry_out_requests = original
    assert "plain ae" in seen["notice"]


@pytest.mark.parametrize("content", [None, b"\x89PNG\r\n\x1a\n truncated"])
def test_encode_of_a_missing_or_broken_file_is_one_line(tmp_path: Path, content):
    path = tmp_path / "picture.png"
    if content is not None:
        path.write_bytes(content)
    result = run_module("viewer", "--headless", "--frames", "2", "--encode", str(path))
    assert_one_line_error(result, "picture.png", "cannot read it as an image")


def test_encode_of_a_picture_too_large_is_one_line_before_decoding(tmp_path: Path):
    from tests.latent_common.test_pictures import png_header

    path = tmp_path / "huge.png"
    path.write_bytes(png_header(60000, 60000))  # 3.6 billion pixels declared: refused from the header alone
    result = run_module("viewer", "--headless", "--frames", "2", "--encode", str(path))
    assert_one_line_error(result, "huge.png", "pixels")


@pytest.mark.parametrize("colour", [(0, 0, 0, 255), (0, 0, 0, 0)], ids=["all black", "fully transparent"])
def test_a_blank_picture_encodes_without_a_marker(tmp_path: Path, colour):
    """A blank canvas has no marker (None): encoded with --encode or dropped, it ran into a traceback once."""
    from PIL import Image

    png = tmp_path / "blank.png"
    Image.new("RGBA", (28, 28), colour).save(png)
    stats, _ = run_viewer(tmp_path, None, 3, "--mouse", "still", "--encode", str(png))
    assert stats["frames"] == 3 and stats["encoded"]["plane"] is None and stats["encoded"]["file"] == "blank.png"
    script = lambda frame, layout: [ev(pygame.DROPFILE, file=str(png))] if frame == 1 else []  # noqa: E731
    stats, _ = run_viewer(tmp_path, script, 5, "--mouse", "path")
    assert stats["frames"] == 5 and stats["encoded"]["plane"] is None
