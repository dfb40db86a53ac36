"""The names in a run directory's snapshots/ folder: training writes them, the viewer's --follow and export read
them (training/snapshots.py says what each holds)."""

SNAPSHOTS = "snapshots"  # the folder, in the run directory
INDEX = "index.json"  # written last, atomically: the snapshots there are whole
TEST = "test.npz"  # the test images and labels the latents belong to
ENCODER = "encoder.onnx"  # the latest snapshot's encoder
INDEX_VERSION = 1


def decoder_name(step: int) -> str:
    return f"step-{step:06d}.onnx"


def latents_name(step: int) -> str:
    return f"step-{step:06d}.npz"
