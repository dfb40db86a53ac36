"""A model that fails, or answers wrongly, when it runs: one line at start, a notice while running, never a
traceback; and a slow decoder never holds up input for the whole manifold map."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pygame
import pytest

from tests.helpers import SHIPPED
from tests.viewer.harness import key, run_viewer
from viewer import app, cli
from viewer.bundle import DECODER, load_bundle
from viewer.inference import CPU, ModelRunError, OnnxModel
from viewer.manifold import MapJob


class Session:
    """Stands in for an onnxruntime session that answers with `answer(batch)` or raises."""

    def __init__(self, real, answer):
        self.real, self.answer = real, answer

    def run(self, names, feeds, options=None):
        return [self.answer(next(iter(feeds.values())))]

    def get_providers(self):
        return self.real.get_providers()


def raises(batch):
    raise RuntimeError("[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Non-zero status code \x1b[31m")


@pytest.fixture
def decoder():
    bundle = load_bundle(SHIPPED)
    return OnnxModel(SHIPPED / DECODER, "decoder", bundle.latent_dim, bundle.image_shape, [CPU])


@pytest.mark.parametrize(
    "answer, fragment",
    [
        (raises, "failed when it ran"),
        (lambda batch: np.zeros((len(batch), 28, 28), dtype=np.float64), "answered float64"),
        (lambda batch: np.zeros((len(batch), 14, 14), dtype=np.float32), "expected float32 [3, 1, 28, 28]"),
        (lambda batch: np.zeros((1, 28, 28), dtype=np.float32), "expected float32 [3, 1, 28, 28]"),
    ],
)
def test_a_wrong_answer_at_run_time_is_a_model_run_error(decoder, answer, fragment):
    decoder.session = Session(decoder.session, answer)
    with pytest.raises(ModelRunError, match=fragment.replace("[", r"\[")) as caught:
        decoder(np.zeros((3, 2), dtype=np.float32))
    assert "\x1b" not in str(caught.value)


def test_a_failure_at_warm_up_is_one_line_and_status_2(monkeypatch, capsys):
    def broken(self, batch):
        raise ModelRunError(f"{self.file.name} failed when it ran (boom)")

    monkeypatch.setattr(OnnxModel, "__call__", broken)
    assert cli.main([str(SHIPPED), "--headless", "--frames", "3"]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert lines == ["error: decoder.onnx failed when it ran (boom)"]


def test_a_decoder_failing_while_running_shows_a_notice_and_a_crossed_tile(tmp_path: Path, monkeypatch):
    real_open = app.open_models
    notices = []

    def open_then_break(args):
        models, home = real_open(args)
        models.decoder.session = Session(models.decoder.session, raises)  # after warm-up: the first hover fails
        return models, home

    real_requests = app.carry_out_requests

    def spy(state, *rest):
        real_requests(state, *rest)
        notices.append(state.notice)

    monkeypatch.setattr(app, "open_models", open_then_break)
    monkeypatch.setattr(app, "carry_out_requests", spy)
    script = lambda frame, layout: [key(pygame.K_g, "g")] if frame == 2 else []  # noqa: E731
    stats, shot = run_viewer(tmp_path, script, 8)  # the scripted mouse hovers every frame
    assert stats["frames"] == 8
    assert any(n and "decoder.onnx failed when it ran" in n for n in notices)
    from latent_common.style import WARN
    from viewer.layout import make_layout, window_size

    digit = make_layout(window_size()).tile
    pixels = pygame.surfarray.array3d(shot)[digit.left : digit.right, digit.top : digit.bottom].reshape(-1, 3)
    assert (np.abs(pixels.astype(int) - WARN).sum(axis=1) < 30).sum() > 100  # the warning cross


def test_a_slow_decoder_fills_the_map_a_slice_a_frame(decoder):
    def slow(latents):
        time.sleep(0.002 * len(latents))  # 2 ms a tile: a 16x16 map is half a second in one batch
        return np.zeros((len(latents), 1, 28, 28), dtype=np.float32)

    job = MapJob(np.zeros((256, 2), dtype=np.float32), np.array([[0.0, 1.0], [0.0, 1.0]]), np.zeros(0))
    slices = []
    while not job.done:
        started = time.perf_counter()
        job.advance(slow, budget_s=0.008)
        slices.append(time.perf_counter() - started)
    assert job.images().shape == (256, 1, 28, 28)
    assert len(slices) > 10  # spread over frames
    assert max(slices[1:]) < 0.05  # after the first row, each slice fits about one frame's budget


def test_a_big_batch_runs_in_parts_within_the_capped_arena(decoder):
    """A 128x128 precomputed grid of 64x64 colour tiles passed the 1 GiB arena in one run; in parts it fits."""
    from viewer.inference import MAX_BATCH

    calls = []
    real_run = decoder.session.run

    class Counting:
        def run(self, names, feeds, options=None):
            calls.append(len(next(iter(feeds.values()))))
            return real_run(names, feeds)

    z = np.random.default_rng(0).normal(size=(2 * MAX_BATCH + 5, 2)).astype(np.float32)
    whole = real_run(decoder.output_names, {decoder.input_name: z})[0]  # one run, as before
    decoder.session = Counting()
    parts = decoder(z)
    assert np.allclose(parts.reshape(whole.shape), whole, atol=1e-6)
    assert calls == [MAX_BATCH, MAX_BATCH, 5]
