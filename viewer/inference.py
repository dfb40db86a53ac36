"""onnxruntime sessions for the bundle's decoder and encoder, set up for a viewer that mostly waits.

One intra-op thread and no spinning: a single-latent decode of a small MLP takes tens of microseconds,
far less than a thread pool's hand-off costs, and spinning threads would keep a core busy while the
viewer sits idle between mouse moves.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from latent_common.errors import UserError, reason
from viewer.bundle import BundleError, check_model_io
from viewer.explore import bilinear, grid_nodes

PROVIDERS = {
    "cuda": "CUDAExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "dml": "DmlExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
AUTO_ORDER = ("cuda", "coreml", "dml", "cpu")  # best first
CPU = PROVIDERS["cpu"]


def choose_providers(request: str) -> tuple[list[str], str | None]:
    """Provider list for a session, and a notice for the user when the request can't be met."""
    available = ort.get_available_providers()
    if request == "auto":
        best = next(PROVIDERS[key] for key in AUTO_ORDER if PROVIDERS[key] in available)
        return list(dict.fromkeys([best, CPU])), None
    wanted = PROVIDERS[request]
    if wanted in available:
        return list(dict.fromkeys([wanted, CPU])), None
    return [CPU], f"{wanted} is not available in this onnxruntime; using CPU"


def session_options() -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # onnxruntime's own warnings would flood the terminal on fallback
    return options


class ModelRunError(UserError):
    """The model failed, or answered with the wrong shape or type, when it ran (not when it loaded)."""


class OnnxModel:
    """One ONNX graph of the bundle, checked against the contract, called like a function on numpy arrays.

    Images cross this edge as (N, C, H, W), whatever the file's version: a format-1 graph takes and gives
    (N, H, W) grey images, so its channel axis is added (decoder) or dropped (encoder) here, and only here.
    """

    def __init__(self, file: Path, role: str, latent_dim: int, file_image_shape: tuple[int, ...], providers: list[str]):
        try:
            self.session = ort.InferenceSession(str(file), sess_options=session_options(), providers=providers)
        except Exception as exc:  # onnxruntime raises its own types for every parse and load failure
            raise BundleError(f"{file}: not a loadable ONNX model ({reason(exc)})") from None
        check_model_io(file, self.session, role, latent_dim, file_image_shape)
        self.file, self.role = file, role
        self.grey_v1 = len(file_image_shape) == 2  # (H, W): no channel axis in the graph
        image = tuple(file_image_shape) if len(file_image_shape) == 3 else (1, *file_image_shape)
        self.out_shape = image if role == "decoder" else (latent_dim,)  # per item, as __call__ returns it
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = [self.session.get_outputs()[0].name]

    @property
    def provider(self) -> str:
        return self.session.get_providers()[0]

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """Run on a batch; a failure, or an answer of the wrong shape or type, is a ModelRunError.

        Only the declared shapes are checked at load; a graph can still fail or answer wrongly when it runs.
        """
        if self.grey_v1 and self.role == "encoder":
            batch = batch[:, 0]  # (N, 1, H, W) -> (N, H, W)
        try:
            out = self.session.run(self.output_names, {self.input_name: batch})[0]
        except Exception as exc:  # onnxruntime's own error types, for anything the graph does at run time
            raise ModelRunError(f"{self.file.name} failed when it ran ({reason(exc, 120)})") from None
        if self.grey_v1 and self.role == "decoder" and isinstance(out, np.ndarray) and out.ndim == 3:
            out = out[:, None]
        expected = (len(batch), *self.out_shape)
        if not isinstance(out, np.ndarray) or out.dtype != np.float32 or out.shape != expected:
            got = f"{out.dtype} {list(out.shape)}" if isinstance(out, np.ndarray) else type(out).__name__
            raise ModelRunError(f"{self.file.name} answered {got}, expected float32 {list(expected)}")
        return out

    def warm_up(self, example: np.ndarray, runs: int = 20) -> None:
        """Run a few times so the first frame doesn't pay for allocation and kernel selection."""
        for _ in range(runs):
            self(example)


class GridDecoder:
    """Precompute mode, for the weakest machines: decode an n-by-n lattice over the view in one batched
    call, then answer each hover by bilinear interpolation between the four nearest decodes."""

    def __init__(self, decoder: OnnxModel, n: int):
        self.decoder, self.n = decoder, n
        self.images: np.ndarray | None = None  # (n, n, C, H, W), rows from the bottom of the view
        self.view: np.ndarray | None = None
        self.offsets: np.ndarray | None = None
        self.version = 0  # bumped at each refresh: what is drawn from the lattice is redrawn

    def fresh(self, view: np.ndarray, offsets: np.ndarray) -> bool:
        """Whether the lattice was decoded for this view and these offsets."""
        return self.view is not None and np.array_equal(self.view, view) and np.array_equal(self.offsets, offsets)

    def refresh(self, plane, view: np.ndarray, offsets: np.ndarray) -> None:
        images = self.decoder(plane.lift(grid_nodes(view, self.n), offsets))
        self.images = images.reshape(self.n, self.n, *images.shape[1:])
        self.view, self.offsets = np.array(view, dtype=np.float64), np.array(offsets)
        self.version += 1

    def __call__(self, uv: np.ndarray) -> np.ndarray:
        return bilinear(self.images, self.view, uv)
