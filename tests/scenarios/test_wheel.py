"""The wheel as a user gets it: built from this tree, installed into a fresh venv without torch, and run from a
folder outside the repository. It carries the shipped bundles, opens the default one with no argument, and
the `viewer` it imports is its own.

Building and installing takes ~10 s (pip fetches numpy, onnxruntime, pygame-ce and Pillow from the registry, or
its cache), so the venv is made once for the module.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.helpers import ROOT, assert_one_line_error

WHEEL_LIMIT_MB = 25  # every shipped bundle rides along while the wheel stays under this
TOP_LEVEL = {"viewer", "training", "export", "latent_common"}
# pyproject's exclude-package-data: the colour models would take the wheel past the limit
IN_THE_REPOSITORY_ONLY = {"emoji-vae", "emoji-vae-16d"}
SHIPPED_NAMES = sorted(
    folder.name
    for folder in (ROOT / "models").iterdir()
    if (folder / "bundle.json").is_file() and folder.name not in IN_THE_REPOSITORY_ONLY
)
# What a fresh clone lacks: the build sees what a user's checkout would hold, not this one's venvs and runs.
NOT_IN_A_CLONE = (".git", ".venv*", "build", "dist", "*.egg-info", "runs", "data", "__pycache__", ".*_cache")


def run(command: list, cwd: Path | None = None, env: dict | None = None, check: bool = True, timeout: float = 300):
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check:
        assert result.returncode == 0, (
            f"{command}: exit {result.returncode}\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_IN_A_CLONE))
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            work / "dist",
            source,
        ]
    )
    [built] = (work / "dist").glob("latent_explorer-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory) -> Path:
    """A fresh venv holding the wheel and its dependencies only; `sys.executable -m venv` builds on the base Python."""
    venv = tmp_path_factory.mktemp("venv")
    run([sys.executable, "-m", "venv", venv])
    run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheel])
    return venv


def user_env(venv: Path) -> dict[str, str]:
    """The venv's bin first on PATH, no display, and nothing inherited that points back into this repository."""
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    return dict(env, PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", SDL_VIDEODRIVER="dummy")


def explorer(venv: Path, cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run([venv / "bin" / "latent-explorer", *args], cwd=cwd, env=user_env(venv), check=check)


def test_the_wheel_carries_every_shipped_bundle_and_stays_small(wheel: Path):
    names = zipfile.ZipFile(wheel).namelist()
    for bundle in SHIPPED_NAMES:
        for file in ("bundle.json", "decoder.onnx", "encoder.onnx", "embedding.npz"):
            assert f"viewer/models/{bundle}/{file}" in names, (bundle, file)
    assert {name.split("/")[0] for name in names if ".dist-info/" not in name} == TOP_LEVEL  # no tests, no benchmarks
    assert not [name for name in names if "/timeline/" in name]  # the timelines stay in the repository (~12 MB each)
    size_mb = wheel.stat().st_size / 1e6
    assert size_mb < WHEEL_LIMIT_MB, f"{wheel.name}: {size_mb:.1f} MB"


def test_the_installed_viewer_has_no_torch(venv: Path, tmp_path: Path):
    code = "import importlib.util as u; print(u.find_spec('torch'), u.find_spec('torchvision'), u.find_spec('onnx'))"
    assert run([venv / "bin" / "python", "-c", code], cwd=tmp_path).stdout.split() == ["None"] * 3


def test_latent_explorer_opens_the_shipped_model_from_any_folder(venv: Path, tmp_path: Path):
    result = explorer(venv, tmp_path, "--headless", "--frames", "30", "--fps", "0",
                      "--stats", "stats.json", "--screenshot", "shot.png")  # fmt: skip
    assert result.stdout.startswith("30 frames"), result.stdout  # and nothing before it: no pygame banner
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["frames"] == 30 and stats["decodes"] > 0
    assert (tmp_path / "shot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    by_name = explorer(venv, tmp_path, "mnist-vae", "--headless", "--frames", "3", "--fps", "0")
    assert by_name.stdout.startswith("3 frames"), by_name.stdout


def test_list_info_and_version_work_from_any_folder(venv: Path, tmp_path: Path):
    header, *lines = explorer(venv, tmp_path, "--list").stdout.splitlines()
    assert header.startswith("name") and [line.split()[0] for line in lines] == SHIPPED_NAMES

    card = explorer(venv, tmp_path, "--info").stdout
    assert "site-packages/viewer/models/mnist-ae" in card.splitlines()[0]
    assert "3 of 3 files verify" in card

    version = re.search(r'^version = "(.+)"$', (ROOT / "pyproject.toml").read_text(), re.M)[1]
    first, package, bundles, *warnings = explorer(venv, tmp_path, "--version").stdout.splitlines()
    assert first == f"latent-explorer {version}"
    assert "site-packages/viewer" in package and "the installed distribution's own files" in package
    assert "site-packages/viewer/models" in bundles and warnings == []


def test_a_bundle_left_out_of_the_wheel_says_where_it_lives(venv: Path, tmp_path: Path):
    for name in IN_THE_REPOSITORY_ONLY:
        assert_one_line_error(explorer(venv, tmp_path, name, check=False), "lives in the repository", f"models/{name}")


def test_import_viewer_in_the_venv_is_this_wheels_own_files(venv: Path, tmp_path: Path):
    """Each top-level package resolves inside the venv's site-packages, to files whose hash the wheel's RECORD holds."""
    code = (
        "import importlib, importlib.metadata as md, json, sysconfig;"
        f"mods = [importlib.import_module(n) for n in {sorted(TOP_LEVEL)}];"
        "record = {str(f): f.hash.value for f in md.files('latent-explorer') if f.hash};"
        "print(json.dumps({'purelib': sysconfig.get_paths()['purelib'], 'record': record,"
        " 'files': [m.__file__ for m in mods]}))"
    )
    found = json.loads(run([venv / "bin" / "python", "-c", code], cwd=tmp_path, env=user_env(venv)).stdout)
    purelib = Path(found["purelib"])
    assert purelib.is_relative_to(venv)
    for file in map(Path, found["files"]):
        relative = file.relative_to(purelib)  # raises if it came from anywhere else
        digest = base64.urlsafe_b64encode(hashlib.sha256(file.read_bytes()).digest()).rstrip(b"=").decode()
        assert found["record"][str(relative)] == digest, relative


def test_a_viewer_folder_where_you_run_it_cannot_shadow_the_command(venv: Path, tmp_path: Path):
    """The console script doesn't put the current folder on sys.path; `python -m viewer` does (Python's rule)."""
    for name in TOP_LEVEL:
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("raise SystemExit('decoy imported')\n")
        (tmp_path / name / "__main__.py").write_text("")
    assert "the installed distribution's own files" in explorer(venv, tmp_path, "--version").stdout
    decoy = run([venv / "bin" / "python", "-m", "viewer", "--version"], cwd=tmp_path, env=user_env(venv), check=False)
    assert "decoy imported" in decoy.stderr
