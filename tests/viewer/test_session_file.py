"""Session files (save, load, and a one-line refusal for every way a file can be wrong) and the embedding CSV.
Torch-free."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from tests.helpers import ROOT
from viewer.bundle import load_bundle
from viewer.explore import make_plane
from viewer.session_file import (
    FORMAT,
    Session,
    SessionError,
    load_session,
    save_session,
    spreadsheet_safe,
    write_embedding_csv,
)


def a_session(dim: int = 8) -> Session:
    rng = np.random.default_rng(0)
    return Session(
        view=np.array([[-3.25, 4.5], [-1.0, 2.0]]),
        pins=[rng.normal(size=dim).astype(np.float32) * 7 for _ in range(3)],
        hidden=frozenset({3, 7}),
        offsets=np.linspace(-1.5, 2.0, max(dim - 2, 0)),
        focus="slider",
        show_map=True,
        extra={"t": 0.25, "spherical": True},
    )


def test_a_session_round_trips_exactly(tmp_path):
    path = tmp_path / "session.json"
    saved = a_session()
    save_session(path, saved, latent_dim=8, bundle_name="mnist-ae-8d")
    data = json.loads(path.read_text())
    assert data["format"] == FORMAT and data["format_version"] == 1 and data["bundle"] == "mnist-ae-8d"
    loaded = load_session(path, latent_dim=8, class_count=10)
    np.testing.assert_array_equal(loaded.view, saved.view)
    assert len(loaded.pins) == 3 and all(p.dtype == np.float32 for p in loaded.pins)
    np.testing.assert_array_equal(np.stack(loaded.pins), np.stack(saved.pins))  # float32 exactly
    np.testing.assert_array_equal(loaded.offsets, saved.offsets)
    assert loaded.hidden == {3, 7} and loaded.focus == "slider" and loaded.show_map is True
    assert loaded.extra == {"t": 0.25, "spherical": True}
    assert [p.name for p in tmp_path.iterdir()] == ["session.json"]  # written atomically: no temp file left


def test_an_empty_2d_session_and_a_missing_file(tmp_path):
    path = tmp_path / "s.json"
    save_session(path, Session(view=np.array([[0.0, 1.0], [0.0, 1.0]])), latent_dim=2)
    loaded = load_session(path, 2, 10)
    assert loaded.pins == [] and loaded.hidden == frozenset() and loaded.offsets.shape == (0,)
    assert load_session(tmp_path / "none.json", 2, 10, missing_ok=True) is None
    with pytest.raises(SessionError, match="no such session file"):
        load_session(tmp_path / "none.json", 2, 10)


def test_unknown_keys_are_ignored(tmp_path):
    path = tmp_path / "s.json"
    save_session(path, a_session(2), latent_dim=2)
    data = json.loads(path.read_text())
    data["from_the_future"] = [1, 2, 3]
    path.write_text(json.dumps(data))
    assert load_session(path, 2, 10).focus == "slider"


def test_a_nan_pin_is_not_written_and_the_old_file_stays(tmp_path):
    path = tmp_path / "s.json"
    save_session(path, a_session(2), latent_dim=2)
    before = path.read_bytes()
    bad = a_session(2)
    bad.pins[0][0] = np.nan
    with pytest.raises(ValueError):
        save_session(path, bad, latent_dim=2)
    assert path.read_bytes() == before


def edit(key, value):
    def change(data):
        data[key] = value
        return data

    return change


BAD_FILES = {
    "not json": (lambda data: "{not json", "invalid JSON"),
    "a list": (lambda data: [1, 2], "expected a JSON object"),
    "another format": (edit("format", "something else"), "not a session file"),
    "newer version": (edit("format_version", 2), "newer latent-explorer"),
    "version not a number": (edit("format_version", "1"), "'format_version'"),
    "other latent dim": (edit("latent_dim", 8), "saved with a 8-D latent (bundle 'mnist-ae'), but this bundle's"),
    "pin too short": (edit("pins", [[1.0, 2.0], [1.0]]), "pin 2 has 1 numbers, but this bundle's latent has 2"),
    "pin not a list": (edit("pins", [3.0]), "pin 1 has not a list"),
    "pin with text": (edit("pins", [[1.0, "2"]]), "'pins[0]'"),
    "pin with true": (edit("pins", [[1.0, True]]), "'pins[0]'"),
    "pin far out": (edit("pins", [[1.0, 1e300]]), "'pins[0]'"),
    "too many pins": (edit("pins", [[0.0, 0.0]] * 1001), "at most 1000"),
    "NaN": (lambda data: json.dumps(data).replace('"view": [[-3.25', '"view": [[NaN'), "NaN is not a number"),
    "Infinity": (lambda data: json.dumps(data).replace("4.5]", "Infinity]"), "Infinity is not a number"),
    "view reversed": (edit("view", [[4.5, -3.25], [-1.0, 2.0]]), "x0 < x1"),
    "view missing": (lambda data: {k: v for k, v in data.items() if k != "view"}, "'view' must be"),
    "view flat": (edit("view", [1.0, 2.0, 3.0, 4.0]), "'view' must be"),
    "hidden out of range": (edit("hidden_classes", [3, 10]), "class indices from 0 to 9"),
    "hidden not ints": (edit("hidden_classes", [1.5]), "'hidden_classes'"),
    "offsets for 8-D": (edit("offsets", [0.0] * 6), "'offsets' must be a list of 0 numbers"),
    "focus with escape": (edit("focus", "hover\x1b[2J"), "'focus'"),
    "focus empty": (edit("focus", ""), "'focus'"),
    "show_map as 1": (edit("show_map", 1), "'show_map' must be true or false"),
    "extra a list": (edit("extra", []), "'extra' must be an object"),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_a_bad_file_is_one_line_naming_the_file_and_the_problem(tmp_path, name):
    path = tmp_path / "session.json"
    save_session(path, a_session(2), latent_dim=2, bundle_name="mnist-ae")
    change, words = BAD_FILES[name]
    changed = change(json.loads(path.read_text()))
    path.write_text(changed if isinstance(changed, str) else json.dumps(changed))
    with pytest.raises(SessionError) as caught:
        load_session(path, latent_dim=2, class_count=10)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(str(path)) and words in message, message


def test_binary_and_oversized_files_are_refused(tmp_path):
    path = tmp_path / "session.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(SessionError, match="not UTF-8"):
        load_session(path, 2, 10)
    path.write_bytes(b" " * (5 << 20))
    with pytest.raises(SessionError, match="too large"):
        load_session(path, 2, 10)
    folder = tmp_path / "folder.json"
    folder.mkdir()
    with pytest.raises(SessionError, match="cannot read"):
        load_session(folder, 2, 10)


# The embedding CSV ----------------------------------------------------------------------------------------------


def test_the_embedding_csv_holds_every_test_image(tmp_path):
    bundle = load_bundle(ROOT / "models" / "mnist-ae-8d")
    plane_xy = make_plane(bundle.z).project(bundle.z)
    path = tmp_path / "embedding.csv"
    write_embedding_csv(path, bundle.z, bundle.labels, bundle.class_names, plane_xy)
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["index", "label", "class", "plane_x", "plane_y", *(f"z_{i}" for i in range(1, 9))]
    assert len(rows) == len(bundle.z) + 1
    body = rows[1:]
    assert [int(r[0]) for r in body] == list(range(len(bundle.z)))
    assert [int(r[1]) for r in body] == bundle.labels.tolist()
    assert [r[2] for r in body] == [bundle.class_names[label] for label in bundle.labels]
    z = np.array([[float(v) for v in r[5:]] for r in body], dtype=np.float32)
    np.testing.assert_array_equal(z, bundle.z)  # 9 significant digits read float32 back exactly
    np.testing.assert_allclose(np.array([[float(v) for v in r[3:5]] for r in body]), plane_xy, rtol=1e-8)


def test_class_names_are_quoted_and_kept_from_running_as_formulas(tmp_path):
    names = ['a, "quoted" name', "=HYPERLINK(1)", "-1", "+x"]
    path = tmp_path / "e.csv"
    write_embedding_csv(path, np.zeros((4, 2)), np.arange(4), names, np.zeros((4, 2)))
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    assert [r[2] for r in rows[1:]] == ['a, "quoted" name', "'=HYPERLINK(1)", "-1", "'+x"]
    assert spreadsheet_safe("@SUM(A1)") == "'@SUM(A1)" and spreadsheet_safe("7") == "7"
    with pytest.raises(ValueError):
        write_embedding_csv(path, np.zeros((4, 2)), np.arange(3), names, np.zeros((4, 2)))
