"""latent_common.pictures, the one decoder: the viewer's picture and training's folder dataset read a file the same
way, upright by its EXIF orientation, 16-bit grey by its high byte, transparency as alpha; a huge header is refused
before anything is decoded."""

from __future__ import annotations

import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from latent_common import datasets
from latent_common.data import DataOptions, load_split
from latent_common.pictures import MAX_PICTURE_PIXELS, PictureError, read_picture
from viewer.picture import load_picture

WHITE = (255, 255, 255)

# The stored pixels for each EXIF orientation (1 to 8), from the upright picture: what a camera writes when it
# keeps the sensor's rows and records how to turn them (EXIF 2.3, tag 0x0112). Independent of Pillow's table.
STORED = {
    1: lambda up: up,
    2: lambda up: up[:, ::-1],  # mirrored left-right
    3: lambda up: up[::-1, ::-1],  # turned 180
    4: lambda up: up[::-1],  # mirrored top-bottom
    5: lambda up: up.transpose(1, 0, 2),  # mirrored along the top-left diagonal
    6: lambda up: np.rot90(up, 1),  # shown turned 90 clockwise: stored turned 90 anticlockwise
    7: lambda up: np.rot90(up, 2).transpose(1, 0, 2),  # mirrored along the other diagonal
    8: lambda up: np.rot90(up, -1),  # shown turned 90 anticlockwise
}


def upright_picture(height: int = 8, width: int = 12, block: int = 1) -> np.ndarray:
    """uint8 (H, W, 3), no two pixels alike in any symmetry: a wrong turn or mirror cannot go unnoticed.
    block > 1 makes it of solid block x block squares (for JPEG, which blurs single pixels)."""
    rows, cols = np.mgrid[0:height, 0:width] // block
    red, green = rows * 255 // max(rows.max(), 1), cols * 255 // max(cols.max(), 1)
    return np.stack([red, green, np.full_like(red, 40)], axis=-1).astype(np.uint8)


def save_with_orientation(pixels: np.ndarray, orientation: int, path: Path, **options) -> Path:
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(np.ascontiguousarray(STORED[orientation](pixels))).save(path, exif=exif, **options)
    return path


def viewer_pixels(path: Path, chw: tuple[int, int, int]) -> np.ndarray:
    """(C, H, W) uint8, as the viewer encodes a dropped picture."""
    return np.rint(load_picture(path, chw, WHITE) * 255).astype(np.uint8)


def training_pixels(files: dict[str, Path], folder: Path, **options) -> np.ndarray:
    """(N, C, H, W) uint8 from a folder: dataset holding each file as a class of its own, in the order of files."""
    for name, file in files.items():
        (folder / name).mkdir(parents=True)
        file.rename(folder / name / file.name)
    datasets._CACHE.clear()
    split = load_split(f"folder:{folder}", "unused", "train", options=DataOptions(**options))
    assert split.class_names == sorted(files)  # one picture a class: none held out, in label order
    return split.images


def test_every_exif_orientation_is_upright_on_both_sides(tmp_path: Path):
    upright = upright_picture()  # 8x12: stored turned, the header says 12x8 for orientations 5 to 8
    files = {f"o{o}": save_with_orientation(upright, o, tmp_path / f"o{o}.png") for o in STORED}
    for path in files.values():
        np.testing.assert_array_equal(read_picture(path)[..., :3], upright)
        np.testing.assert_array_equal(viewer_pixels(path, (3, 8, 12)), upright.transpose(2, 0, 1))
    # No --image-size: the pictures share their upright size, though their headers differ.
    images = training_pixels(files, tmp_path / "folder")
    np.testing.assert_array_equal(images, np.stack([upright.transpose(2, 0, 1)] * len(STORED)))


def test_a_phone_jpeg_turned_by_its_exif_tag_is_upright_on_both_sides(tmp_path: Path):
    upright = upright_picture(32, 48, block=8)
    path = save_with_orientation(upright, 6, tmp_path / "phone.jpg", quality=95, subsampling=0)
    assert Image.open(path).size == (32, 48)  # stored on its side
    viewer = viewer_pixels(path, (3, 32, 48)).astype(int)
    error = np.abs(viewer - upright.transpose(2, 0, 1)).mean()
    upside_down = np.abs(viewer - upright[::-1, ::-1].transpose(2, 0, 1)).mean()
    assert error < 3 and upside_down > 20 * error  # JPEG's loss, not a turn
    np.testing.assert_array_equal(training_pixels({"phone": path}, tmp_path / "folder"), viewer[None])


def test_16_bit_grey_keeps_its_high_byte_on_both_sides(tmp_path: Path):
    values = np.array([[0, 255, 256, 4000], [32768, 0x8080, 0xFEFF, 0xFFFF]] * 4, dtype=np.uint16)  # (8, 4)
    values = np.repeat(values, 2, axis=1)  # (8, 8): the smallest side a model takes
    path = tmp_path / "deep.png"
    Image.fromarray(values).save(path)
    assert Image.open(path).mode.startswith("I")  # 16 bits a pixel in the file
    expected = (values >> 8).astype(np.uint8)  # as Pillow reads 16-bit RGB; convert("RGBA") clipped at 255
    viewer = viewer_pixels(path, (1, 8, 8))
    np.testing.assert_array_equal(viewer[0], expected)
    np.testing.assert_array_equal(training_pixels({"deep": path}, tmp_path / "folder"), viewer[None])


def test_16_bit_grey_with_a_transparent_value(tmp_path: Path):
    values = np.full((8, 8), 0x4000, dtype=np.uint16)
    values[2:4, 2:4] = 1234
    path = tmp_path / "keyed.png"
    Image.fromarray(values).save(path, transparency=1234)
    rgba = read_picture(path)
    assert (rgba[2:4, 2:4, 3] == 0).all() and (rgba[..., 3].sum() == 255 * 60)
    assert (viewer_pixels(path, (1, 8, 8))[0, 2:4, 2:4] == 255).all()  # the white background shows through


def test_palette_transparency_on_both_sides(tmp_path: Path):
    indices = np.zeros((8, 10), dtype=np.uint8)  # index 0: transparent
    indices[2:6, 3:7] = 1  # a red square
    indices[0, :] = 2  # a blue line, half transparent
    image = Image.frombytes("P", (10, 8), indices.tobytes())
    image.putpalette([0, 255, 0, 255, 0, 0, 0, 0, 255] + [0] * 759)
    path = tmp_path / "palette.png"
    image.save(path, transparency=bytes([0, 255, 128]))  # alpha per palette entry (PNG tRNS)
    expected = np.full((8, 10, 3), 255.0)
    expected[2:6, 3:7] = (255, 0, 0)
    expected[0, :] = np.array([0, 0, 255]) * 128 / 255 + np.array(WHITE) * 127 / 255
    expected = np.rint(expected).astype(np.uint8).transpose(2, 0, 1)
    viewer = viewer_pixels(path, (3, 8, 10))
    np.testing.assert_array_equal(viewer, expected)  # the green of index 0 never shows
    np.testing.assert_array_equal(training_pixels({"palette": path}, tmp_path / "folder"), viewer[None])


def test_all_black_and_fully_transparent_pictures_are_ordinary(tmp_path: Path):
    black, clear = tmp_path / "black.png", tmp_path / "clear.png"
    Image.new("RGB", (8, 8), (0, 0, 0)).save(black)
    Image.new("RGBA", (8, 8), (200, 10, 10, 0)).save(clear)
    assert not viewer_pixels(black, (1, 8, 8)).any()
    assert (viewer_pixels(clear, (3, 8, 8)) == 255).all()  # only the background
    images = training_pixels({"black": black, "clear": clear}, tmp_path / "folder")
    assert images.shape == (2, 1, 8, 8)  # nothing visible has colour: grey
    assert not images[0].any() and (images[1] == 255).all()


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares width x height 8-bit grey pixels but holds almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("side", [8000, 12000, 60000])  # past our limit; past Pillow's warning; past its refusal
def test_a_huge_header_is_refused_before_decoding(tmp_path: Path, side: int):
    path = tmp_path / "huge.png"
    path.write_bytes(png_header(side, side))
    started = time.perf_counter()
    with pytest.raises(PictureError) as caught:
        read_picture(path)
    assert time.perf_counter() - started < 1.0  # nothing decoded: 3.6 billion pixels would take minutes
    message = str(caught.value)
    assert "\n" not in message and "huge.png" in message and f"{MAX_PICTURE_PIXELS:,}" in message
    assert datasets.decode(path) is None  # training skips it with the unreadable files
