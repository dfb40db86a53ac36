"""Pictures as datasets: folder:DIR, npz:FILE and emoji, on tiny generated files (the real emoji set once)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from latent_common import datasets
from latent_common.data import DataError, DataOptions, load_split
from latent_common.datasets import held_out
from latent_common.images import to_model_input
from tests.conftest import make_picture_folder
from tests.helpers import ROOT, assert_one_line_error, run_module


def split_pair(dataset: str, root: Path | str = "unused", **options):
    opts = DataOptions(**options)
    return load_split(dataset, root, "train", options=opts), load_split(dataset, root, "test", options=opts)


# folder:DIR


def test_folder_of_colour_pictures(picture_folder: Path):
    train, test = split_pair(f"folder:{picture_folder}")
    assert train.images.shape[1:] == (3, 16, 16) and train.images.dtype == np.uint8
    assert len(train.images) + len(test.images) == 36
    assert np.bincount(test.labels).tolist() == [1, 1, 1]  # stratified: round(12 x 0.1) of each class
    assert train.class_names == ["blue-bar", "green-disc", "red-square"]  # sorted folder names
    assert test.preprocess == {
        "size": [16, 16],
        "channels": 3,
        "background": [255, 255, 255],
        "resize": "pad-area-bilinear",
    }
    # Each image is exactly what the viewer's conversion makes of the file.
    with Image.open(picture_folder / "red-square" / "000.png") as image:
        expected = to_model_input(np.asarray(image.convert("RGBA")), (16, 16), 3)
    everything = np.concatenate([train.images, test.images])
    assert any(np.array_equal(expected, image) for image in everything)


def test_the_held_out_split_is_seeded_stratified_and_reproducible(picture_folder: Path, tmp_path: Path):
    _, first = split_pair(f"folder:{picture_folder}", test_fraction=0.25)
    copy = shutil.copytree(picture_folder, tmp_path / "copy")  # other paths and times: a fresh read
    _, again = split_pair(f"folder:{copy}", test_fraction=0.25)
    np.testing.assert_array_equal(first.images, again.images)
    assert np.bincount(first.labels).tolist() == [3, 3, 3]


def test_held_out_keeps_groups_together_and_one_image_for_training():
    labels = np.array([0] * 10 + [1] * 2 + [2])
    groups = np.array([0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    is_test = held_out(labels, 0.5, groups)
    for group in np.unique(groups):
        assert len(set(is_test[groups == group])) == 1  # a group never straddles the split
    assert is_test[10:12].sum() == 1 and not is_test[12]  # a class of one stays in training
    np.testing.assert_array_equal(is_test, held_out(labels, 0.5, groups))


def test_train_and_test_subfolders_are_the_split(picture_folder: Path, tmp_path: Path):
    root = tmp_path / "split"
    shutil.copytree(picture_folder, root / "train")
    (root / "test" / "red-square").mkdir(parents=True)
    shutil.copy(picture_folder / "red-square" / "000.png", root / "test" / "red-square" / "a.png")
    train, test = split_pair(f"folder:{root}")
    assert len(train.images) == 36 and len(test.images) == 1
    assert test.labels.tolist() == [train.class_names.index("red-square")]


def test_grey_pictures_stay_grey_unless_asked(tmp_path: Path):
    folder = tmp_path / "grey"
    for name in ("a", "b"):
        (folder / name).mkdir(parents=True)
        for i in range(4):
            Image.fromarray(np.full((10, 12), 40 * i + (name == "b"), np.uint8)).save(folder / name / f"{i}.png")
    train, _ = split_pair(f"folder:{folder}")
    assert train.images.shape[1:] == (1, 10, 12) and train.preprocess["channels"] == 1
    train3, _ = split_pair(f"folder:{folder}", channels=3, size=(8, 8))
    assert train3.images.shape[1:] == (3, 8, 8)
    np.testing.assert_array_equal(train3.images[:, 0], train3.images[:, 1])


def test_mixed_sizes_need_image_size(tmp_path: Path):
    folder = make_picture_folder(tmp_path / "mixed", per_class=3)
    Image.new("RGB", (20, 20), (1, 2, 3)).save(folder / "red-square" / "big.png")
    result = run_module("training", "--dataset", f"folder:{folder}", "--run-dir", str(tmp_path / "run"))
    assert_one_line_error(result, "differ in size", "--image-size")
    train, _ = split_pair(f"folder:{folder}", size=(12, 12))
    assert train.images.shape[1:] == (3, 12, 12)


def test_unreadable_files_are_skipped_with_one_notice(tmp_path: Path, capsys):
    folder = make_picture_folder(tmp_path / "odd", per_class=4)
    (folder / "red-square" / "broken.png").write_bytes(b"\x89PNG not really")
    (folder / "green-disc" / "notes.txt").write_text("not a picture")
    (folder / "green-disc" / ".DS_Store").write_bytes(b"\0")  # hidden: not even counted
    train, test = split_pair(f"folder:{folder}")
    assert len(train.images) + len(test.images) == 12
    notice = [line for line in capsys.readouterr().err.splitlines() if line]
    assert len(notice) == 1, notice  # once, though both splits were asked for
    assert "skipped 2 of 14 files" in notice[0] and "broken.png" in notice[0] and "notes.txt" in notice[0]


def test_nothing_usable_is_one_clear_error(tmp_path: Path):
    folder = tmp_path / "junk"
    (folder / "cats").mkdir(parents=True)
    (folder / "cats" / "a.png").write_bytes(b"junk")
    with pytest.raises(DataError, match="no readable pictures"):
        load_split(f"folder:{folder}", "unused", "train")
    (folder / "cats" / "a.png").unlink()
    (folder / "loose.png").write_bytes(b"")
    shutil.rmtree(folder / "cats")
    assert_one_line_error(
        run_module("training", "--dataset", f"folder:{folder}", "--run-dir", str(tmp_path / "r")), "no class subfolders"
    )
    assert_one_line_error(
        run_module("training", "--dataset", f"folder:{tmp_path / 'nowhere'}", "--run-dir", str(tmp_path / "r")),
        "no such folder",
    )


def test_without_pillow_the_folder_reader_says_so(picture_folder: Path, monkeypatch):
    import sys

    datasets._CACHE.clear()
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(DataError, match="needs Pillow"):
        load_split(f"folder:{picture_folder}", "unused", "train", options=DataOptions(test_fraction=0.2))


# npz:FILE


def test_npz_grey_with_names_and_its_own_split(tmp_path: Path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (20, 8, 9), dtype=np.uint8)
    labels = np.arange(20) % 2
    path = tmp_path / "mine.npz"
    np.savez(path, images=images, labels=labels, class_names=np.array(["even", "odd"]), test_index=np.array([0, 5]))
    train, test = split_pair(f"npz:{path}")
    np.testing.assert_array_equal(test.images[:, 0], images[[0, 5]])  # no conversion needed: the same pixels
    assert test.labels.tolist() == [0, 1] and train.class_names == ["even", "odd"] and len(train.images) == 18


def test_npz_rgb_resized_with_a_split_array(tmp_path: Path):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (12, 16, 16, 3), dtype=np.uint8)
    path = tmp_path / "rgb.npz"
    np.savez(path, images=images, labels=np.zeros(12, np.int64), split=np.array(["train"] * 9 + ["test"] * 3))
    train, test = split_pair(f"npz:{path}", size=(8, 8))
    assert train.images.shape == (9, 3, 8, 8) and test.class_names == ["0"]
    np.testing.assert_array_equal(test.images[0], to_model_input(images[9], (8, 8), 3))


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"images": np.zeros((4, 8, 8), np.float32), "labels": np.zeros(4, int)}, "must be uint8"),
        ({"images": np.zeros((4, 8, 8), np.uint8)}, "missing labels"),
        ({"images": np.zeros((4, 8, 8), np.uint8), "labels": np.zeros(3, int)}, "4 integers"),
        ({"images": np.zeros((4, 8, 8), np.uint8), "labels": np.arange(4), "class_names": np.array(["a"])}, "no name"),
        (
            {"images": np.zeros((4, 8, 8), np.uint8), "labels": np.zeros(4, int), "test_index": np.array([9])},
            "positions",
        ),
        ({"images": np.zeros((4, 300, 8), np.uint8), "labels": np.zeros(4, int)}, "--image-size"),
    ],
)
def test_npz_problems_name_the_file_and_the_array(tmp_path: Path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError, match=message) as info:
        load_split(f"npz:{path}", "unused", "train")
    assert str(path) in str(info.value)


def test_npz_pickles_are_refused(tmp_path: Path):
    path = tmp_path / "pickled.npz"
    np.savez(path, images=np.zeros((4, 8, 8), np.uint8), labels=np.array([object()] * 4, dtype=object))
    result = run_module("training", "--dataset", f"npz:{path}", "--run-dir", str(tmp_path / "r"))
    assert_one_line_error(result, "pickle")


# emoji


def make_fake_emoji(root: Path) -> Path:
    """DATA_ROOT/emoji-google/ as the npm package lays it out: emoji.json, categories.json, 64x64 RGBA PNGs."""
    folder = root / "emoji-google"
    images = folder / "img" / "google" / "64"
    images.mkdir(parents=True)
    rng = np.random.default_rng(0)
    entries = []
    for category, count in (("Smileys & Emotion", 6), ("People & Body", 6), ("Component", 2), ("Flags", 5)):
        for i in range(count):
            name = f"{category[:3].lower()}{i}"
            entry = {"image": f"{name}.png", "category": category, "subcategory": "x"}
            if category == "People & Body":  # skin-tone variants: one group with the base emoji
                entry["skin_variations"] = {tone: {"image": f"{name}-{tone}.png"} for tone in ("1F3FB", "1F3FF")}
            entries.append(entry)
            for file in [entry["image"], *(v["image"] for v in entry.get("skin_variations", {}).values())]:
                pixels = rng.integers(0, 256, (64, 64, 4), dtype=np.uint8)
                Image.fromarray(pixels, "RGBA").save(images / file)
    (folder / "emoji.json").write_text(json.dumps(entries))
    order = ["Smileys & Emotion", "People & Body", "Component", "Flags"]
    (folder / "categories.json").write_text(json.dumps({name: {} for name in order}))
    return root


def test_emoji_layout_categories_groups_and_notice(tmp_path: Path):
    root = make_fake_emoji(tmp_path)
    train, test = split_pair("emoji", root)
    assert train.class_names == ["Smileys & Emotion", "People & Body", "Flags"]  # Component left out
    assert len(train.images) + len(test.images) == 6 + 6 * 3 + 5
    assert train.images.shape[1:] == (3, 64, 64) and "Apache License" in test.notice
    people = test.labels == 1
    assert people.sum() % 3 == 0  # an emoji and its skin tones are held out together
    assert test.preprocess["background"] == [255, 255, 255]
    small, _ = split_pair("emoji", root, size=(32, 32))
    assert small.images.shape[1:] == (3, 32, 32)


def test_missing_emoji_set_says_how_to_fetch_it(tmp_path: Path):
    result = run_module(
        "training", "--dataset", "emoji", "--data-root", str(tmp_path), "--run-dir", str(tmp_path / "r")
    )
    assert_one_line_error(result, "emoji.json", "make data-emoji")


@pytest.mark.emoji
def test_the_real_emoji_set(emoji_root: Path):
    train, test = split_pair("emoji", emoji_root)
    assert len(train.images) + len(test.images) == 3786 - 5  # every PNG but the five Component swatches
    assert train.images.shape[1:] == (3, 64, 64) and len(train.class_names) == 9
    assert 0.08 < len(test.images) / 3781 < 0.13


# make data-emoji


def make(*args: str, path: str) -> subprocess.CompletedProcess:
    make_program = shutil.which("make")
    if make_program is None:
        pytest.skip("make is not installed")
    env = dict(os.environ, PATH=path)
    return subprocess.run([make_program, "-s", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_make_data_emoji_unpacks_what_npm_packs(tmp_path: Path):
    """A stand-in npm that `pack`s a small emoji-datasource-google tarball, as the real one fetches it by name."""
    package = tmp_path / "build" / "package"
    shutil.copytree(make_fake_emoji(tmp_path / "src") / "emoji-google", package)
    (package / "LICENSE").write_text("MIT")
    (package / "README.md").write_text("emoji-data")
    (package / "img" / "google" / "32").mkdir()  # other sizes come in the package and are left behind
    (package / "img" / "google" / "32" / "x.png").write_bytes(b"")
    tarball = tmp_path / "emoji-datasource-google-16.0.0.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(package, arcname="package")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "npm").write_text(
        f'#!/bin/sh\n[ "$1" = pack ] && [ "$3" = emoji-datasource-google@16.0.0 ] && cp "{tarball}" .\n'
    )
    (bin_dir / "npm").chmod(0o755)
    done = make("data-emoji", f"DATA_ROOT={tmp_path / 'data'}", path=f"{bin_dir}:{os.environ['PATH']}")
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "data" / "emoji-google"
    assert sorted(p.name for p in folder.iterdir()) == ["LICENSE", "README.md", "categories.json", "emoji.json", "img"]
    assert sorted(p.name for p in (folder / "img" / "google").iterdir()) == ["64"]
    assert load_split("emoji", tmp_path / "data", "test").images.shape[1:] == (3, 64, 64)


def test_make_data_emoji_without_npm_says_what_to_install(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    done = make("data-emoji", f"DATA_ROOT={tmp_path / 'data'}", path=str(tmp_path / "empty"))
    assert done.returncode != 0 and "install Node.js" in done.stderr
    assert not (tmp_path / "data").exists()
