"""The GIF writer: every frame, delay and the loop count read back by Pillow, the first frame also by pygame's
SDL_image (a decoder that is not the writer's), the shared palette's error, timing."""

from __future__ import annotations

import io
import time

import numpy as np
import pygame
import pytest
from PIL import Image

from viewer.gif import encode_gif, frames_from_images, write_gif


def decode(data: bytes) -> tuple[np.ndarray, dict]:
    """Every frame as RGB (T, H, W, 3); the size (W, H), loop count (None: no loop extension), each frame's delay
    in 1/100 s and whether every frame was drawn with the global palette."""
    frames, delays = [], []
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "GIF" and image.info["version"] == b"GIF89a"
        info = {"size": image.size, "loop": image.info.get("loop")}
        for index in range(image.n_frames):
            image.seek(index)
            frames.append(np.asarray(image.convert("RGB")))
            delays.append(image.info["duration"] // 10)
    return np.stack(frames), info | {"delays": delays}


def walk_frames(count=12, size=48, colour=False) -> np.ndarray:
    """A disc moving across a dark field: the kind of animation a latent walk makes."""
    yy, xx = np.mgrid[0:size, 0:size]
    frames = []
    for t in np.linspace(0, 1, count):
        disc = np.clip(1.5 - np.hypot(yy - size / 2, xx - size * (0.2 + 0.6 * t)) / (size / 8), 0, 1)
        if colour:
            frames.append(np.stack([disc * 255, disc * (255 - 200 * t), 60 * t + disc * 120], axis=-1))
        else:
            frames.append(disc * 255)
    return np.rint(np.array(frames)).astype(np.uint8)


def test_grey_frames_round_trip_exactly_with_structure():
    frames = walk_frames(10)
    data = encode_gif(frames, duration_ms=120, loop=0)
    decoded, gif = decode(data)
    assert gif["size"] == (48, 48) and gif["loop"] == 0
    assert len(decoded) == 10
    assert gif["delays"] == [12] * 10
    assert (decoded == frames[..., None]).all()


def test_colour_frames_with_few_colours_are_exact():
    rng = np.random.default_rng(0)
    colours = rng.integers(0, 256, size=(200, 3), dtype=np.uint8)
    frames = colours[rng.integers(0, 200, size=(3, 20, 30))]  # (3, 20, 30, 3): 200 colours, fits the palette
    decoded, gif = decode(encode_gif(frames))
    assert gif["size"] == (30, 20)
    assert (decoded == frames).all()


def test_colour_frames_with_many_colours_are_close():
    frames = walk_frames(8, 64, colour=True)
    assert len(np.unique(frames.reshape(-1, 3), axis=0)) > 256
    decoded, _ = decode(encode_gif(frames))
    error = np.abs(decoded.astype(int) - frames)
    print(f"median cut: mean abs error {error.mean():.2f}, max {error.max()} (of 255)")
    assert error.mean() < 2.0 and error.max() < 40


def test_noise_round_trips_exactly():
    """Random pixels: the hardest case for LZW (its code table fills and clears again and again)."""
    frames = np.random.default_rng(1).integers(0, 256, size=(2, 120, 130), dtype=np.uint8)
    decoded, _ = decode(encode_gif(frames))
    assert (decoded[..., 0] == frames).all()


@pytest.mark.parametrize(
    "frame",
    [
        np.array([[7]], dtype=np.uint8),  # one pixel
        np.zeros((50, 100), dtype=np.uint8),  # one long run
        np.tile(np.arange(256, dtype=np.uint8), (3, 1)),  # every value
        np.tile(np.array([1, 2], dtype=np.uint8), (7, 100)),  # a short repeating pattern
    ],
)
def test_edge_case_frames_round_trip(frame):
    frames = np.stack([frame, 255 - frame])
    decoded, _ = decode(encode_gif(frames))
    assert (decoded[..., 0] == frames).all()


def test_an_unchanged_frame_plays_for_the_summed_delay():
    """Pillow stores a repeated frame as the one before shown longer: the animation plays the same."""
    frames = walk_frames(3)[[0, 1, 1, 2]]
    decoded, gif = decode(encode_gif(frames, duration_ms=[40, 50, 60, 70]))
    assert (decoded[..., 0] == frames[[0, 1, 3]]).all()
    assert gif["delays"] == [4, 11, 7]


def test_per_frame_delays_loop_count_and_play_once():
    frames = walk_frames(3)
    _, gif = decode(encode_gif(frames, duration_ms=[40, 5, 1000], loop=3))
    assert gif["delays"] == [4, 2, 100]  # 5 ms is raised to the 20 ms players honour
    assert gif["loop"] == 3
    assert decode(encode_gif(frames, loop=None))[1]["loop"] is None


def test_write_gif_writes_atomically_and_pygame_reads_the_first_frame(tmp_path):
    frames = walk_frames(5)
    path = tmp_path / "walk.gif"
    path.write_bytes(b"old")
    write_gif(path, frames)
    assert path.read_bytes() == encode_gif(frames)
    assert [p.name for p in tmp_path.iterdir()] == ["walk.gif"]  # no temp file left behind
    surface = pygame.image.load(str(path))
    first = pygame.surfarray.array3d(surface).transpose(1, 0, 2)  # (H, W, 3)
    assert (first == frames[0][..., None]).all()


@pytest.mark.parametrize(
    "frames",
    [
        np.zeros((2, 8, 8), dtype=np.float32),  # not uint8
        np.zeros((2, 8, 8, 4), dtype=np.uint8),  # RGBA
        np.zeros((0, 8, 8), dtype=np.uint8),  # no frames
        np.zeros((8, 8), dtype=np.uint8),  # one frame without the T axis
    ],
)
def test_bad_frames_are_refused(frames):
    with pytest.raises(ValueError):
        encode_gif(frames)


def test_bad_delays_and_loops_are_refused():
    frames = walk_frames(3)
    with pytest.raises(ValueError, match="one delay per frame"):
        encode_gif(frames, duration_ms=[80, 80])
    with pytest.raises(ValueError):
        encode_gif(frames, duration_ms=-1)
    with pytest.raises(ValueError):
        encode_gif(frames, loop=70000)


def test_a_40_frame_224px_colour_walk_is_fast():
    """The size the viewer exports: 40 decodes upscaled 8x from 28x28, in colour."""
    small = walk_frames(40, 28, colour=True)
    frames = small.repeat(8, axis=1).repeat(8, axis=2)  # (40, 224, 224, 3)
    start = time.perf_counter()
    data = encode_gif(frames)
    seconds = time.perf_counter() - start
    grey_start = time.perf_counter()
    encode_gif(frames[..., 1])
    grey_seconds = time.perf_counter() - grey_start
    print(f"40x224x224: colour {seconds:.3f} s ({len(data) / 1e3:.0f} kB), grey {grey_seconds:.3f} s")
    assert len(decode(data)[0]) == 40
    assert seconds < 2.0


def test_frames_from_viewer_images():
    grey = np.array([[[[0.0, 0.5], [1.0, 2.0]]]], dtype=np.float32)  # (1, 1, 2, 2); 2.0 is out of range
    frames = frames_from_images(grey, scale=3)
    assert frames.shape == (1, 6, 6) and frames.dtype == np.uint8
    assert frames[0, ::3, ::3].tolist() == [[0, 128], [255, 255]]
    assert (frames[0, :3, :3] == 0).all() and (frames[0, 3:, 3:] == 255).all()
    colour = np.zeros((2, 3, 4, 5), dtype=np.float32)
    colour[:, 0] = 1.0  # red
    frames = frames_from_images(colour, scale=2)
    assert frames.shape == (2, 8, 10, 3)
    assert (frames[..., 0] == 255).all() and not frames[..., 1:].any()
    with pytest.raises(ValueError):
        frames_from_images(np.zeros((2, 4, 5, 5)))


def test_photo_like_frames_are_grouped_into_cells_and_stay_close():
    """Over 32,768 distinct colours: a gradient through red and green, blue changing by frame."""
    yy, xx = np.mgrid[0:200, 0:200]
    frames = np.stack([np.stack([xx * 255 / 199, yy * 255 / 199, np.full_like(xx, b)], axis=-1) for b in (0, 128)])
    frames = np.rint(frames).astype(np.uint8)
    assert len(np.unique(frames.reshape(-1, 3), axis=0)) > 1 << 15
    decoded, _ = decode(encode_gif(frames))
    error = np.abs(decoded.astype(int) - frames)
    print(f"cells: mean abs error {error.mean():.2f}, max {error.max()}")
    assert error.mean() < 8 and error.max() < 32  # measured 4.3 and 17: 256 colours for a 2-D gradient


# From tests/test_gif_pillow.py, when Pillow was only the independent reader: files written by write_gif.


def test_written_grey_frames_read_back_exactly(tmp_path):
    frames = walk_frames(12, 56, colour=False)
    frames[3] = np.random.default_rng(0).integers(0, 256, size=frames[3].shape)  # noise among smooth frames
    write_gif(tmp_path / "grey.gif", frames, duration_ms=70, loop=0)
    decoded, gif = decode((tmp_path / "grey.gif").read_bytes())
    assert decoded.shape == (12, 56, 56, 3)
    assert (decoded == frames[..., None]).all()
    assert gif["delays"] == [7] * 12 and gif["loop"] == 0


def test_written_colour_frames_read_back_within_the_quantisation_error(tmp_path):
    frames = walk_frames(10, 64, colour=True)
    write_gif(tmp_path / "colour.gif", frames, duration_ms=[100] * 9 + [500], loop=2)
    decoded, gif = decode((tmp_path / "colour.gif").read_bytes())
    error = np.abs(decoded.astype(int) - frames)
    assert decoded.shape == frames.shape
    assert error.mean() < 2.0 and error.max() < 40  # a 256-colour median cut of smooth gradients
    assert gif["delays"] == [10] * 9 + [50] and gif["loop"] == 2


def test_written_256_colours_read_back_exactly(tmp_path):
    rng = np.random.default_rng(1)
    colours = rng.integers(0, 256, size=(256, 3), dtype=np.uint8)
    frames = colours[rng.integers(0, 256, size=(4, 33, 47))]
    write_gif(tmp_path / "few.gif", frames)
    decoded, _ = decode((tmp_path / "few.gif").read_bytes())
    assert (decoded == frames).all()
