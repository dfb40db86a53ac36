"""The anomaly view: dots coloured by each test image's reconstruction error, a colour bar, the worst listed
(a click goes to one), and a drawing's own error among the test images'. Driven through the real loop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pygame
import pytest

from latent_common.style import PIN
from tests.helpers import ROOT, SHIPPED
from tests.viewer.harness import key, move, press, release, run_viewer
from viewer import app
from viewer.anomaly import BINS, error_scale, palette
from viewer.bundle import load_bundle
from viewer.layout import make_layout, window_size

LAYOUT = make_layout(window_size())
EIGHT_D = ROOT / "models" / "mnist-ae-8d"


def spy_states(monkeypatch) -> list:
    """Every frame's state, as the loop leaves it (after its requests)."""
    seen = []
    real = app.carry_out_requests

    def spy(state, *rest):
        real(state, *rest)
        seen.append((state.anomaly.worst, state.pointer.uv.copy(), state.z.copy(), state.notice, state.canvas.error))

    monkeypatch.setattr(app, "carry_out_requests", spy)
    return seen


def count_near(pixels: np.ndarray, colour, tolerance: int = 30) -> int:
    return int((np.abs(pixels.reshape(-1, 3).astype(int) - colour).sum(axis=1) < tolerance).sum())


def test_the_scale_bins_errors_on_a_log_scale():
    errors = np.geomspace(1e-3, 1e-1, 1000).astype(np.float32)
    scale = error_scale(errors)
    assert scale.bins.min() == 0 and scale.bins.max() == BINS - 1
    assert np.all(np.diff(scale.bins.astype(int)) >= 0)  # bins rise with the error
    assert scale.share_below(0.05) == pytest.approx((errors < 0.05).mean())


def test_color_by_error_colours_the_dots_and_draws_the_bar(tmp_path: Path, monkeypatch):
    states = spy_states(monkeypatch)
    stats, shot = run_viewer(tmp_path, None, 4, "--mouse", "still", "--color-by", "error")
    pixels = pygame.surfarray.array3d(shot)
    plot = pixels[LAYOUT.plot.left : LAYOUT.plot.right, LAYOUT.plot.top : LAYOUT.plot.bottom]
    colours = palette(BINS)
    assert count_near(plot, colours[0]) + count_near(plot, colours[3]) > 50  # the 1s reconstruct best: dark dots
    assert count_near(plot, colours[-4]) > 50  # and many dots glow
    legend = pixels[LAYOUT.legend.left : LAYOUT.legend.right, LAYOUT.legend.top : LAYOUT.legend.bottom]
    assert count_near(legend, colours[-1], 5) > 20 and count_near(legend, colours[0], 5) > 20  # the bar's ends
    worst = states[-1][0]
    bundle = load_bundle(SHIPPED)
    assert len(worst) == 4
    from viewer.inference import CPU, OnnxModel
    from viewer.walk import reconstruction_errors

    dec = OnnxModel(SHIPPED / "decoder.onnx", "decoder", bundle.latent_dim, bundle.image_shape, [CPU])
    enc = OnnxModel(SHIPPED / "encoder.onnx", "encoder", bundle.latent_dim, bundle.image_shape, [CPU])
    all_errors = reconstruction_errors(dec, enc, bundle.images_chw)
    assert list(worst) == list(np.argsort(-all_errors, kind="stable")[:4])
    assert all_errors.mean() == pytest.approx(bundle.test_mse, rel=1e-4)


def test_hiding_a_class_drops_it_from_the_worst_list_at_once_and_the_legend_says_so(tmp_path: Path, monkeypatch):
    states = spy_states(monkeypatch)
    bundle = load_bundle(SHIPPED)

    def hide_the_worsts_class(frame, layout):
        if frame == 2:
            label = int(bundle.labels[states[-1][0][0]])  # the class of the worst image
            hide_the_worsts_class.label = label
            return [key(pygame.K_0 + label, str(label))]
        return []

    _, shot = run_viewer(tmp_path, hide_the_worsts_class, 5, "--mouse", "still", "--color-by", "error")
    label = hide_the_worsts_class.label
    assert all(bundle.labels[i] != label for i in states[-1][0])  # without the mouse moving
    legend = pygame.surfarray.array3d(shot)[LAYOUT.legend.left : LAYOUT.legend.right, LAYOUT.legend.top :]
    assert count_near(legend, PIN, 60) > 10  # "hidden: ..." under the colour bar


@pytest.mark.parametrize("bundle_path", [SHIPPED, EIGHT_D])
def test_a_click_on_the_list_goes_to_that_test_image(tmp_path: Path, monkeypatch, bundle_path):
    states = spy_states(monkeypatch)
    row = (LAYOUT.side.centerx, LAYOUT.side.top + 5)  # the first row: the worst image

    def script(frame, layout):
        return [key(pygame.K_a, "a")] if frame == 1 else ([move(row), press(row), release(row)] if frame == 3 else [])

    run_viewer(tmp_path, script, 6, "--mouse", "still", bundle=bundle_path)
    worst, uv, z, _, _ = states[-1]
    bundle = load_bundle(bundle_path)
    np.testing.assert_allclose(z[0], bundle.z[worst[0]], atol=1e-4)  # exactly at its latent, off-plane offsets too


def test_a_drawing_shows_its_error_among_the_test_images(tmp_path: Path, monkeypatch):
    states = spy_states(monkeypatch)
    top, bottom = (LAYOUT.tile.left + 20, LAYOUT.tile.top + 20), (LAYOUT.tile.right - 20, LAYOUT.tile.top + 24)

    def script(frame, layout):
        return {
            1: [key(pygame.K_d, "d"), move(top), press(top)],
            2: [move(bottom, held=True), release(bottom)],
        }.get(frame, [])

    run_viewer(tmp_path, script, 5, "--mouse", "still")
    error = states[-1][4]
    bundle = load_bundle(SHIPPED)
    assert error is not None and error > bundle.test_mse  # a lone bar is no digit


def with_errors(tmp_path: Path, errors: np.ndarray) -> Path:
    """A copy of the shipped bundle whose embedding.npz carries stored per-image errors."""
    import json
    import shutil

    from viewer.bundle import EMBEDDING, METADATA, sha256_file

    out = tmp_path / "stored"
    shutil.copytree(SHIPPED, out)
    with np.load(out / EMBEDDING) as npz:
        arrays = {key: npz[key] for key in npz.files}
    np.savez_compressed(out / EMBEDDING, **arrays, errors=errors.astype(np.float32))
    meta = json.loads((out / METADATA).read_text())
    meta["files"] = {name: sha256_file(out / name) for name in meta["files"]}
    (out / METADATA).write_text(json.dumps(meta))
    return out


def test_stored_errors_are_used_as_they_are(tmp_path: Path, monkeypatch):
    errors = np.full(10_000, 0.01, dtype=np.float32)
    errors[[5, 77, 123, 4000]] = [0.9, 0.8, 0.7, 0.6]
    states = spy_states(monkeypatch)
    run_viewer(tmp_path, None, 3, "--mouse", "still", "--color-by", "error", bundle=with_errors(tmp_path, errors))
    assert states[-1][0] == (5, 77, 123, 4000)


def test_stored_errors_that_are_nan_or_negative_are_one_line(tmp_path: Path):
    from tests.helpers import assert_one_line_error, run_module

    errors = np.zeros(10_000, dtype=np.float32)
    errors[3] = -1.0
    result = run_module("viewer", str(with_errors(tmp_path, errors)), "--headless", "--frames", "2")
    assert_one_line_error(result, "'errors' must be finite and not negative")
