"""The GIF writer: byte structure parsed block by block, frames decoded by an LZW decoder written here from the
spec (and the first frame by pygame's SDL_image), timing. Torch-free; Pillow's check is tests/test_gif_pillow.py."""

from __future__ import annotations

import time

import numpy as np
import pygame
import pytest

from viewer.gif import encode_gif, frames_from_images, lzw_codes, pack_codes, write_gif


def parse(data: bytes) -> dict:
    """Walk a GIF's blocks; returns the palette, loop count, and each frame's delay and LZW data."""
    assert data[:6] == b"GIF89a"
    width, height = int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    packed = data[10]
    assert packed & 0x80, "a global colour table"
    table = 2 ** ((packed & 7) + 1)
    palette = np.frombuffer(data[13 : 13 + 3 * table], dtype=np.uint8).reshape(table, 3)
    pos, loop, delay, frames = 13 + 3 * table, None, None, []
    while True:
        kind = data[pos]
        if kind == 0x3B:  # trailer
            assert pos == len(data) - 1, "nothing after the trailer"
            break
        if kind == 0x21:  # an extension: label, then sub-blocks
            label, pos = data[pos + 1], pos + 2
            blocks, pos = read_blocks(data, pos)
            if label == 0xFF:
                assert blocks[0] == b"NETSCAPE2.0"
                loop = int.from_bytes(blocks[1][1:3], "little")
            elif label == 0xF9:
                delay = int.from_bytes(blocks[0][1:3], "little")
            continue
        assert kind == 0x2C, f"unexpected block 0x{kind:02x} at {pos}"
        left, top, w, h = (int.from_bytes(data[pos + 1 + 2 * i : pos + 3 + 2 * i], "little") for i in range(4))
        assert (left, top, w, h) == (0, 0, width, height) and data[pos + 9] == 0
        min_code_size, pos = data[pos + 10], pos + 11
        blocks, pos = read_blocks(data, pos)
        assert all(len(b) <= 255 for b in blocks)
        frames.append({"delay": delay, "min_code_size": min_code_size, "lzw": b"".join(blocks)})
    return {"size": (width, height), "palette": palette, "loop": loop, "frames": frames}


def read_blocks(data: bytes, pos: int) -> tuple[list[bytes], int]:
    blocks = []
    while data[pos]:
        blocks.append(data[pos + 1 : pos + 1 + data[pos]])
        pos += 1 + data[pos]
    return blocks, pos + 1


def lzw_decode(data: bytes, min_code_size: int) -> list[int]:
    """The decoder side of GIF LZW as giflib does it: the table one entry behind the encoder, the code width
    growing once the next free code reaches 2^width."""
    clear, end = 1 << min_code_size, (1 << min_code_size) + 1
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8), bitorder="little")
    pos, width, out = 0, min_code_size + 1, []
    table, previous = None, None
    while True:
        code = int(bits[pos : pos + width] @ (1 << np.arange(width)))
        pos += width
        if code == clear:
            table = {i: [i] for i in range(clear)}
            width, previous = min_code_size + 1, None
            continue
        if code == end:
            return out
        assert table is not None, "data before the first clear code"
        if previous is None:
            entry = table[code]
        else:
            entry = table[code] if code in table else previous + previous[:1]  # the KwKwK case
            table[len(table) + 2] = previous + entry[:1]  # +2: clear and end take two codes
            if len(table) + 2 == 1 << width and width < 12:
                width += 1
        out += entry
        previous = entry


def decode(data: bytes) -> tuple[np.ndarray, dict]:
    """All frames as RGB (T, H, W, 3) through the palette."""
    gif = parse(data)
    width, height = gif["size"]
    frames = []
    for frame in gif["frames"]:
        indices = np.array(lzw_decode(frame["lzw"], frame["min_code_size"]), dtype=np.uint8)
        assert indices.size == width * height
        frames.append(gif["palette"][indices.reshape(height, width)])
    return np.stack(frames), gif


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
    assert len(gif["frames"]) == 10
    assert [f["delay"] for f in gif["frames"]] == [12] * 10
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


def test_noise_fills_the_table_and_clears_it():
    """Random pixels add a table entry almost every pixel: many clear codes and every width from 9 to 12 bits."""
    frames = np.random.default_rng(1).integers(0, 256, size=(2, 120, 130), dtype=np.uint8)
    codes, widths = lzw_codes(frames[0].tobytes())
    assert sorted(set(widths)) == [9, 10, 11, 12]
    assert codes.count(256) > 3
    decoded, _ = decode(encode_gif(frames))
    assert (decoded[..., 0] == frames).all()


@pytest.mark.parametrize("pixels", [b"\x07", b"\x07\x07", bytes(5000), bytes(range(256)) * 3, bytes([1, 2] * 700)])
def test_lzw_round_trips_edge_cases(pixels):
    """One pixel, a long run (the KwKwK case), every byte, and lengths that end just past a width change."""
    data = pack_codes(*lzw_codes(pixels))
    assert bytes(lzw_decode(data, 8)) == pixels


def test_lzw_round_trips_at_every_length_near_width_changes():
    rng = np.random.default_rng(2)
    noise = rng.integers(0, 256, size=900, dtype=np.uint8).tobytes()
    for length in range(240, 270):  # the first width change (entry 512) falls in this range for noise
        assert bytes(lzw_decode(pack_codes(*lzw_codes(noise[:length])), 8)) == noise[:length]


def test_per_frame_delays_loop_count_and_play_once():
    frames = walk_frames(3)
    gif = parse(encode_gif(frames, duration_ms=[40, 5, 1000], loop=3))
    assert [f["delay"] for f in gif["frames"]] == [4, 2, 100]  # 5 ms is raised to the 20 ms players honour
    assert gif["loop"] == 3
    assert parse(encode_gif(frames, loop=None))["loop"] is None


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
    assert len(parse(data)["frames"]) == 40
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
