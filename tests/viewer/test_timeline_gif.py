"""--export-timeline FILE.gif (viewer/timeline_gif.py): a frame or more per snapshot; one line without a timeline."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import assert_one_line_error, run_module
from viewer.api import open_bundle


def test_export_timeline_writes_a_frame_or_more_per_snapshot(tmp_path: Path):
    from PIL import Image

    out = tmp_path / "timeline.gif"
    result = run_module("viewer", "mnist-ae", "--headless", "--export-timeline", str(out), "--tween", "1")
    assert result.returncode == 0, result.stderr
    snapshots = len(open_bundle("mnist-ae").timeline)
    with Image.open(out) as gif:
        assert gif.n_frames >= snapshots  # identical neighbours merge; moving dots never do
        assert gif.size[0] > 300
    assert f"{snapshots} snapshots" in result.stdout


def test_export_timeline_of_a_bundle_without_one_is_one_line(tmp_path: Path):
    result = run_module("viewer", "mnist-pca", "--export-timeline", str(tmp_path / "x.gif"))
    assert_one_line_error(result, "has no timeline")
    assert not (tmp_path / "x.gif").exists()
