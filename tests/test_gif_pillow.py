"""viewer.gif against an independent decoder: Pillow (a training dependency, not the viewer's) reads every frame,
its delay and the loop count back."""

from __future__ import annotations

import numpy as np
import pytest

from tests.viewer.test_gif import walk_frames as moving_disc
from viewer.gif import write_gif

Image = pytest.importorskip("PIL.Image")


def read_frames(path) -> tuple[np.ndarray, list[int], int | None]:
    """Every frame as RGB (T, H, W, 3), each frame's duration in ms, and the loop count."""
    frames, durations = [], []
    with Image.open(path) as image:
        assert image.format == "GIF"
        loop = image.info.get("loop")
        for index in range(image.n_frames):
            image.seek(index)
            frames.append(np.asarray(image.convert("RGB")))
            durations.append(image.info["duration"])
    return np.stack(frames), durations, loop


def test_pillow_reads_grey_frames_exactly(tmp_path):
    frames = moving_disc(12, 56, colour=False)
    frames[3] = np.random.default_rng(0).integers(0, 256, size=frames[3].shape)  # noise: table clears, 12-bit codes
    write_gif(tmp_path / "grey.gif", frames, duration_ms=70, loop=0)
    decoded, durations, loop = read_frames(tmp_path / "grey.gif")
    assert decoded.shape == (12, 56, 56, 3)
    assert (decoded == frames[..., None]).all()
    assert durations == [70] * 12 and loop == 0


def test_pillow_reads_colour_frames_within_the_quantisation_error(tmp_path):
    frames = moving_disc(10, 64, colour=True)
    write_gif(tmp_path / "colour.gif", frames, duration_ms=[100] * 9 + [500], loop=2)
    decoded, durations, loop = read_frames(tmp_path / "colour.gif")
    error = np.abs(decoded.astype(int) - frames)
    assert decoded.shape == frames.shape
    assert error.mean() < 2.0 and error.max() < 40  # a 256-colour median cut of smooth gradients
    assert durations == [100] * 9 + [500] and loop == 2


def test_pillow_reads_few_colours_exactly(tmp_path):
    rng = np.random.default_rng(1)
    colours = rng.integers(0, 256, size=(256, 3), dtype=np.uint8)
    frames = colours[rng.integers(0, 256, size=(4, 33, 47))]
    write_gif(tmp_path / "few.gif", frames)
    decoded, _, _ = read_frames(tmp_path / "few.gif")
    assert (decoded == frames).all()
