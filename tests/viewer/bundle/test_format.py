"""bundle.json as one typed record: every key is one field of BundleMeta, and a new key is one field more."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import ROOT, SHIPPED
from viewer.bundle import METADATA, BundleError, BundleMeta, MapInfo, TimelineInfo, load_bundle
from viewer.bundle.format import key

SHIPPED_BUNDLES = sorted(folder for folder in (ROOT / "models").iterdir() if (folder / METADATA).is_file()) + [SHIPPED]
OPTIONAL = [spec for spec in BundleMeta.json_fields() if not spec.metadata["required"]]
# A value of each JSON kind that passes every optional key's own check and differs from its default.
SAMPLES = {float: 0.25, int: 3, str: "a text", dict: {"kind": "vae"}, list: [{"epoch": 1, "seconds": 2.0}]}
# A nested record's key: its JSON object (the field holds kind.from_dict of it).
SAMPLES[MapInfo] = {
    "method": "pca", "library": "numpy", "version": "2.0", "seed": 0, "points": 3, "fitted": 3,
    "embedding_sha256": "0" * 64, "parameters": {},
}  # fmt: skip
SAMPLES[TimelineInfo] = {
    "snapshots": [{"step": 0, "epoch": 0.0, "test_mse": 0.2, "decoder": "timeline/step-000000.onnx"},
                  {"step": 8, "epoch": 1.0, "test_mse": 0.1, "decoder": "decoder.onnx"}],
    "steps_per_epoch": 8, "plot": "latent", "weights": "float16", "parameters": {},
}  # fmt: skip


def sample(kind: type) -> tuple:
    """(the field's value, the JSON that stands for it in bundle.json)."""
    data = SAMPLES[kind]
    return (kind.from_dict(data, Path(METADATA)) if hasattr(kind, "from_dict") else data), data


def shipped_dict() -> dict:
    return json.loads((SHIPPED / METADATA).read_text())


@pytest.mark.parametrize("folder", SHIPPED_BUNDLES, ids=lambda folder: folder.name)
def test_every_shipped_bundle_json_round_trips_exactly(folder: Path):
    data = json.loads((folder / METADATA).read_text())
    assert BundleMeta.from_dict(data).to_dict() == data


@pytest.mark.parametrize("spec", OPTIONAL, ids=lambda spec: spec.name)
def test_each_optional_key_round_trips_and_defaults_when_absent_or_null(spec: dataclasses.Field):
    data = {name: value for name, value in shipped_dict().items() if name != spec.name}
    absent = BundleMeta.from_dict(data)
    assert spec.name not in absent.to_dict()  # a default is never written out
    assert BundleMeta.from_dict(data | {spec.name: None}) == absent  # null means unknown, as if absent
    value, data = sample(spec.metadata["kind"])
    record = dataclasses.replace(absent, **{spec.name: value})
    assert record.to_dict()[spec.name] == data
    assert BundleMeta.from_dict(record.to_dict()) == record


@pytest.mark.parametrize("spec", OPTIONAL, ids=lambda spec: spec.name)
def test_each_optional_key_of_the_wrong_kind_is_refused_by_name(spec: dataclasses.Field):
    wrong = [] if spec.metadata["kind"] is not list else {}
    with pytest.raises(BundleError, match=f"'{spec.name}' should be"):
        BundleMeta.from_dict(shipped_dict() | {spec.name: wrong})


@pytest.mark.parametrize("spec", [s for s in BundleMeta.json_fields() if s.metadata["required"]], ids=lambda s: s.name)
def test_each_required_key_is_required(spec: dataclasses.Field):
    data = {name: value for name, value in shipped_dict().items() if name != spec.name}
    with pytest.raises(BundleError, match=f"missing key '{spec.name}'"):
        BundleMeta.from_dict(data)


def test_unknown_keys_are_kept_checked_and_written_back(bundle_copy: Path):
    newer = {"from_a_newer_exporter": {"nested": [1, "two"]}}
    record = BundleMeta.from_dict(shipped_dict() | newer)
    assert record.unknown == newer and record.to_dict() == shipped_dict() | newer
    with pytest.raises(BundleError, match="from_a_newer_exporter.*control character"):
        BundleMeta.from_dict(shipped_dict() | {"from_a_newer_exporter": "\x1b[2J"})
    (bundle_copy / METADATA).write_text(json.dumps(shipped_dict() | newer))
    assert load_bundle(bundle_copy).meta.unknown == newer  # a bundle from a newer export still opens


@dataclasses.dataclass(frozen=True)
class Stamp:
    """A nested record with its own file and hash, as a `map` key will have."""

    file: str
    sha256: str

    @classmethod
    def from_dict(cls, data: dict, file: Path | str) -> Stamp:
        if set(data) != {"file", "sha256"}:
            raise BundleError(f"{file}: 'stamp' must hold file and sha256")
        return cls(**data)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True, kw_only=True)
class WithStamp(BundleMeta):
    stamp: Stamp | None = key(Stamp)  # the whole change a new optional key needs


def test_a_new_optional_key_is_one_field_even_a_nested_record():
    stamp = {"file": "stamp.npz", "sha256": "0" * 64}
    record = WithStamp.from_dict(shipped_dict() | {"stamp": stamp})
    assert record.stamp == Stamp("stamp.npz", "0" * 64) and record.to_dict()["stamp"] == stamp
    assert WithStamp.from_dict(record.to_dict()) == record
    assert (
        WithStamp.from_dict(shipped_dict()).stamp is None
        and "stamp" not in WithStamp.from_dict(shipped_dict()).to_dict()
    )
    with pytest.raises(BundleError, match="'stamp' should be an object"):
        WithStamp.from_dict(shipped_dict() | {"stamp": "stamp.npz"})
    with pytest.raises(BundleError, match="'stamp' must hold file and sha256"):
        WithStamp.from_dict(shipped_dict() | {"stamp": {"file": "stamp.npz"}})
    assert BundleMeta.from_dict(shipped_dict() | {"stamp": stamp}).unknown == {"stamp": stamp}  # today's reader


@pytest.fixture
def bundle_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "bundle"
    shutil.copytree(SHIPPED, copy)
    return copy
