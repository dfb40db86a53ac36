"""Training's snapshots (training/snapshots.py): when they are taken, what they hold, that they change nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from tests.conftest import tiny_config
from training import train as train_module
from training.checkpoint import load_checkpoint
from training.model import Autoencoder, ModelConfig
from training.snapshots import INDEX, SNAPSHOTS, TEST, schedule


def test_the_schedule_covers_the_start_densely_and_every_epoch():
    assert schedule(12, 2) == [0, 1, 2, 4, 8, 12, 16, 24]
    steps = schedule(235, 30)  # MNIST at batch 256: the shipped runs
    assert steps[:3] == [0, 1, 2] and steps[-1] == 235 * 30
    assert {235 * epoch for epoch in range(1, 31)} <= set(steps)
    assert 40 <= len(steps) <= 45


@pytest.fixture(scope="module")
def snapshot_run(tiny_root: Path, tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("snap") / "run"
    train_module.run(tiny_config(tiny_root, run_dir, epochs=2))
    return run_dir


def read_index(run_dir: Path) -> dict:
    return json.loads((run_dir / SNAPSHOTS / INDEX).read_text())


def test_a_run_keeps_snapshots_from_the_untrained_model_on(snapshot_run: Path):
    index = read_index(snapshot_run)
    steps = [snap["step"] for snap in index["snapshots"]]
    assert steps == schedule(index["steps_per_epoch"], 2) and steps[0] == 0 and len(steps) >= 5
    assert index["latent_dim"] == 2 and index["image_shape"] == [1, 28, 28] and len(index["class_names"]) == 10
    mse = [snap["test_mse"] for snap in index["snapshots"]]
    assert mse[-1] < mse[0]  # it learned
    with np.load(snapshot_run / SNAPSHOTS / TEST) as test:
        assert test["images"].dtype == np.uint8 and test["images"].shape == (256, 1, 28, 28)
    for snap in index["snapshots"]:
        with np.load(snapshot_run / SNAPSHOTS / snap["latents"]) as latents:
            assert latents["z"].shape == (256, 2) and latents["z"].dtype == np.float32
    metrics = json.loads((snapshot_run / "metrics.json").read_text())
    assert metrics["snapshots"]["count"] == len(steps) and metrics["snapshots"]["seconds"] > 0


def test_the_last_snapshots_decoder_is_the_checkpoints(snapshot_run: Path):
    """The decoder written by swapping weights into a graph exported once decodes as the model does."""
    state = load_checkpoint(snapshot_run)
    model = Autoencoder(ModelConfig.from_dict(state["model_config"])).eval()
    model.load_state_dict(state["model"])
    last = read_index(snapshot_run)["snapshots"][-1]
    session = ort.InferenceSession(str(snapshot_run / SNAPSHOTS / last["decoder"]), providers=["CPUExecutionProvider"])
    z = torch.randn(16, 2) * 2
    with torch.inference_mode():
        expected = model.decoder(z).numpy()
    np.testing.assert_allclose(session.run(None, {"z": z.numpy()})[0], expected, atol=1e-5)
    encoder = ort.InferenceSession(str(snapshot_run / SNAPSHOTS / "encoder.onnx"))  # the latest, for --follow
    images = torch.rand(8, 1, 28, 28)
    with torch.inference_mode():
        np.testing.assert_allclose(encoder.run(None, {"image": images.numpy()})[0], model.encode(images)[0].numpy(),
                                   atol=1e-5)  # fmt: skip
    first = read_index(snapshot_run)["snapshots"][0]
    untrained = ort.InferenceSession(str(snapshot_run / SNAPSHOTS / first["decoder"]))
    assert not np.allclose(untrained.run(None, {"z": z.numpy()})[0], expected, atol=1e-3)


def test_snapshots_change_no_weight(snapshot_run: Path, tiny_root: Path, tmp_path: Path):
    """Taking a snapshot mid-epoch draws no random number and leaves the model in training mode: the same seed
    gives the same weights with and without them."""
    train_module.run(tiny_config(tiny_root, tmp_path / "plain", epochs=2, no_snapshots=True))
    assert not (tmp_path / "plain" / SNAPSHOTS).exists()
    with_snapshots, without = load_checkpoint(snapshot_run), load_checkpoint(tmp_path / "plain")
    for name, tensor in with_snapshots["model"].items():
        assert torch.equal(tensor, without["model"][name]), name


def test_a_resumed_run_drops_the_snapshots_past_its_checkpoint(tiny_root: Path, tmp_path: Path, monkeypatch):
    run_dir = tmp_path / "run"
    save_epoch = train_module.save_epoch

    def save_then_stop(*args, **kwargs):  # as if Ctrl-C came during epoch 1's save
        save_epoch(*args, **kwargs)
        train_module.STOP.set()

    monkeypatch.setattr(train_module, "save_epoch", save_then_stop)
    with pytest.raises(train_module.Interrupted):
        train_module.run(tiny_config(tiny_root, run_dir, epochs=2))
    monkeypatch.setattr(train_module, "save_epoch", save_epoch)
    index = read_index(run_dir)
    per_epoch = index["steps_per_epoch"]
    assert [snap["step"] for snap in index["snapshots"]][-1] == per_epoch
    # A snapshot written after the checkpoint, before the stop: the resumed run drops it and takes it again.
    index["snapshots"].append({**index["snapshots"][-1], "step": per_epoch + 1, "test_mse": -1.0})
    (run_dir / SNAPSHOTS / INDEX).write_text(json.dumps(index))
    train_module.run(tiny_config(tiny_root, run_dir, epochs=2, resume=True))
    snapshots = read_index(run_dir)["snapshots"]
    assert [snap["step"] for snap in snapshots] == schedule(per_epoch, 2)
    assert all(snap["test_mse"] > 0 for snap in snapshots)


def test_an_overwritten_run_starts_its_snapshots_afresh(tiny_root: Path, tmp_path: Path):
    run_dir = tmp_path / "run"
    train_module.run(tiny_config(tiny_root, run_dir, epochs=2))
    train_module.run(tiny_config(tiny_root, run_dir, epochs=1, overwrite=True))
    per_epoch = read_index(run_dir)["steps_per_epoch"]
    assert [snap["step"] for snap in read_index(run_dir)["snapshots"]] == schedule(per_epoch, 1)
    files = sorted(path.name for path in (run_dir / SNAPSHOTS).glob("step-*.onnx"))
    assert len(files) == len(schedule(per_epoch, 1))


def test_resuming_after_a_stopped_overwrite_keeps_no_snapshot_of_the_other_run(tiny_root, tmp_path, monkeypatch):
    """--overwrite replaces the snapshots at once, the checkpoint only at its first epoch's end: stopped between,
    the earlier run resumes without the new run's snapshots (their run ids differ)."""
    run_dir = tmp_path / "run"
    save_epoch, real_epoch = train_module.save_epoch, train_module.train_epoch

    def save_then_stop(*args, **kwargs):  # the earlier run stops after its epoch 1
        save_epoch(*args, **kwargs)
        train_module.STOP.set()

    def stopped(*args, **kwargs):  # the overwriting run stops before its first save
        real_epoch(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "save_epoch", save_then_stop)
    with pytest.raises(train_module.Interrupted):
        train_module.run(tiny_config(tiny_root, run_dir, epochs=2, hidden="32"))
    earlier = read_index(run_dir)["run_id"]
    monkeypatch.setattr(train_module, "save_epoch", save_epoch)
    monkeypatch.setattr(train_module, "train_epoch", stopped)
    with pytest.raises(KeyboardInterrupt):
        train_module.run(tiny_config(tiny_root, run_dir, epochs=3, overwrite=True))
    assert read_index(run_dir)["run_id"] != earlier
    monkeypatch.undo()
    train_module.run(tiny_config(tiny_root, run_dir, epochs=2, hidden="32", resume=True))
    index = read_index(run_dir)
    per_epoch = index["steps_per_epoch"]
    assert [snap["step"] for snap in index["snapshots"]] == [s for s in schedule(per_epoch, 2) if s > per_epoch]
