"""The command line around the viewer: shipped bundles by name, --list, --info and --version (torch-free)."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import ROOT, SHIPPED, assert_one_line_error, run_module
from viewer import catalog
from viewer.bundle import DATA_FILES, EMBEDDING, METADATA

SHIPPED_NAMES = sorted(folder.name for folder in (ROOT / "models").iterdir() if (folder / METADATA).is_file())


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    """A private copy of the shipped default bundle to change."""
    copy = tmp_path / "bundle"
    shutil.copytree(SHIPPED, copy)
    return copy


def test_a_clone_finds_its_bundles_in_models_and_a_wheel_inside_the_package(tmp_path: Path, monkeypatch):
    assert catalog.shipped_dir() == ROOT / "models"
    assert list(catalog.shipped()) == SHIPPED_NAMES and catalog.default_bundle() == ROOT / "models" / "mnist-ae"
    # An installed wheel has viewer/models/; it comes first, so a stray models/ beside the package can't win.
    packaged = tmp_path / "site-packages" / "viewer"
    shutil.copytree(SHIPPED, packaged / "models" / catalog.DEFAULT_NAME)
    (tmp_path / "site-packages" / "models").mkdir()
    monkeypatch.setattr(catalog, "PACKAGE", packaged)
    assert catalog.default_bundle() == packaged / "models" / catalog.DEFAULT_NAME
    assert list(catalog.shipped()) == [catalog.DEFAULT_NAME]


def test_a_path_the_user_gives_wins_over_a_shipped_name(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert catalog.find("mnist-vae") == ROOT / "models" / "mnist-vae"
    (tmp_path / "mnist-vae").mkdir()
    assert catalog.find("mnist-vae") == Path("mnist-vae")  # a folder here by that name
    assert catalog.find("models/mnist-vae") == Path("models/mnist-vae")  # a path, even where it is missing
    assert catalog.find("no-such-model") == Path("no-such-model")


def test_help_shows_a_default_only_where_there_is_one():
    text = " ".join(run_module("viewer", "--help").stdout.split())  # argparse wraps lines anywhere
    assert "(default: None)" not in text and "(default: False)" not in text
    assert "(default: 60)" in text  # --fps
    assert "N×N grid of the view once and interpolate" in text and "(default: 0)" in text  # a 0 default is one
    assert text.count("default: warn") == 1  # --strict's help names its default; nothing is added to it


def test_list_has_one_line_per_shipped_bundle():
    result = run_module("viewer", "--list")
    assert result.returncode == 0, result.stderr
    header, *lines = result.stdout.splitlines()
    assert header.split() == ["name", "dataset", "kind", "latent", "dim", "test", "MSE"]
    assert [line.split()[0] for line in lines] == SHIPPED_NAMES
    for line in lines:
        meta = json.loads((ROOT / "models" / line.split()[0] / METADATA).read_text())
        kind = meta.get("model_config", {}).get("kind", "ae")
        assert line.split()[1:5] == [meta["dataset"], kind, str(meta["latent_dim"]), f"{meta['test_mse']:.4f}"]
    assert "(default)" in lines[SHIPPED_NAMES.index(catalog.DEFAULT_NAME)]


def test_info_prints_the_card_and_verifies_the_files():
    result = run_module("viewer", "mnist-vae", "--info")
    assert result.returncode == 0, result.stderr
    card = result.stdout
    meta = json.loads((ROOT / "models" / "mnist-vae" / METADATA).read_text())
    for fragment in ("model          vae", "dataset        mnist, 10 classes", "image shape    28 × 28", "latent dim 2",
                     f"test MSE       {meta['test_mse']:.4f}", f"k-NN accuracy  {meta['knn_accuracy']:.3f}",
                     "30 epochs", f"onnxruntime {meta['versions']['onnxruntime']}", "3 of 3 files verify"):  # fmt: skip
        assert fragment in card, fragment
    for name in DATA_FILES:
        assert f"sha256 {meta['files'][name]}  verified" in card and name in card
    assert "timeline       12 snapshots, steps 0 to 7,050, float16 decoders; its files verify" in card


def test_info_says_a_bundle_without_a_timeline_has_none_and_how_to_get_one():
    from viewer.catalog import info_lines

    card = info_lines(ROOT / "models" / "mnist-ae-8d")
    [line] = [line for line in card if line.startswith("  timeline ")]
    assert line.split(None, 1)[1].startswith("none (train with snapshots") and "export" in line


def test_info_describes_a_conv_model_by_its_convolutions_not_dense_widths():
    card = run_module("viewer", str(ROOT / "models" / "emoji-vae"), "--info").stdout
    [line] = [line for line in card.splitlines() if line.startswith("  model ")]
    assert line.split()[1] == "conv-vae" and "convolutions" in line and "latent dim 2" in line
    assert "hidden" not in line and "512" not in line, line
    dense = run_module("viewer", "mnist-ae", "--info").stdout
    assert "model          ae (hidden 512-128-64), latent dim 2" in dense


def test_a_name_the_wheel_leaves_out_says_where_it_lives(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(catalog, "shipped_dir", lambda: tmp_path)  # as an installed wheel: no emoji-vae
    message = catalog.missing(catalog.find("emoji-vae"))
    assert "lives in the repository" in message and "models/emoji-vae" in message and "\n" not in message


def test_info_names_the_training_recipe(bundle: Path):
    meta = json.loads((bundle / METADATA).read_text())
    meta["train_config"] |= {"adam_beta2": 0.95, "ema": 0.98}
    (bundle / METADATA).write_text(json.dumps(meta))
    card = run_module("viewer", str(bundle), "--info").stdout
    assert "(schedule onecycle, lr 0.002, batch 256, Adam β2 0.95, weight average 0.98, seed 0)" in card


def test_info_says_unknown_for_what_an_older_bundle_lacks(bundle: Path):
    meta = json.loads((bundle / METADATA).read_text())
    for key in ("test_mse", "knn_accuracy", "knn_k", "training_history", "train_config", "versions", "model_config"):
        del meta[key]
    (bundle / METADATA).write_text(json.dumps(meta))
    result = run_module("viewer", str(bundle), "--info")
    assert result.returncode == 0, result.stderr
    assert "test MSE       unknown" in result.stdout and "k-NN accuracy  unknown" in result.stdout
    assert "epochs unknown, time unknown" in result.stdout and "exported with  unknown" in result.stdout


def test_info_flags_a_changed_file_and_strict_refuses_it(bundle: Path):
    with (bundle / EMBEDDING).open("ab") as handle:
        handle.write(b"\0")  # still a readable archive, but not the one bundle.json hashed
    result = run_module("viewer", str(bundle), "--info")
    assert result.returncode == 0, result.stderr
    assert "DIFFERS from bundle.json" in result.stdout and "2 of 3 files verify" in result.stdout
    assert_one_line_error(run_module("viewer", str(bundle), "--info", "--strict"), "embedding.npz", "SHA-256")


def test_info_on_a_bad_bundle_is_one_line_and_exit_2(bundle: Path):
    (bundle / EMBEDDING).write_bytes(b"not a zip archive")
    assert_one_line_error(run_module("viewer", str(bundle), "--info"), "embedding.npz")


def test_an_unknown_name_says_which_names_are_shipped():
    assert_one_line_error(run_module("viewer", "no-such-model", "--info"), "no-such-model", *SHIPPED_NAMES)
    assert_one_line_error(run_module("viewer", "no-such-model", "--headless", "--frames", "1"), "no-such-model")


def test_a_shipped_bundle_opens_by_name():
    result = run_module("viewer", "mnist-vae", "--headless", "--frames", "3", "--fps", "0")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("3 frames")


def test_version_names_the_package_and_the_bundles_it_runs_from():
    result = run_module("viewer", "--version")
    assert result.returncode == 0, result.stderr
    first, package, bundles, *warnings = result.stdout.splitlines()
    assert first.startswith("latent-explorer ") and str(ROOT / "viewer") in package
    assert str(ROOT / "models") in bundles and warnings == []


def test_another_distribution_shipping_our_package_names_is_reported(tmp_path: Path):
    """pip lets two distributions write the same top-level folder; --version is where that shows."""
    rival = tmp_path / "someone_elses_viewer-2.0.dist-info"
    rival.mkdir()
    (rival / "METADATA").write_text("Metadata-Version: 2.1\nName: someone-elses-viewer\nVersion: 2.0\n")
    (rival / "top_level.txt").write_text("viewer\n")
    ours = tmp_path / "latent_explorer-0.1.0.dist-info"  # our own metadata is no rival
    ours.mkdir()
    (ours / "METADATA").write_text("Metadata-Version: 2.1\nName: latent-explorer\nVersion: 0.1.0\n")
    (ours / "top_level.txt").write_text("\n".join(catalog.TOP_LEVEL))
    [warning] = catalog.rivals(path=[str(tmp_path)])
    assert warning.startswith("someone-elses-viewer 2.0 also installs viewer")


@pytest.mark.parametrize(
    "flags, fragment",
    [
        (["--frames", "-1"], "--frames: -1 is outside 0 to"),
        (["--frames", "1e12"], "--frames: '1e12' is not an integer"),
        (["--fps", "x"], "--fps: 'x' is not an integer"),
        (["--precompute", "1"], "--precompute 1"),
        (["--map-grid", "65"], "--map-grid: 65 is outside 1 to 64"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_a_bad_flag_is_one_line_and_status_2(flags, fragment):
    assert_one_line_error(run_module("viewer", "--headless", *flags), fragment)


@pytest.mark.skipif(importlib.util.find_spec("onnx") is not None, reason="the training extra is installed here")
def test_export_where_only_the_viewer_is_installed_explains_itself(tmp_path: Path):
    result = run_module("export", "--help")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "training extra" in result.stdout and "--encoder" in result.stdout  # the pair's help, which works here
    failed = run_module("export", str(tmp_path / "run"), "--out", str(tmp_path / "out"))
    assert_one_line_error(failed, "needs the training extra", "latent-explorer[train]", "--encoder")
    assert not (tmp_path / "out").exists()
