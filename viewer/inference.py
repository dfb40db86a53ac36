"""onnxruntime sessions for the bundle's decoder and encoder, set up for a viewer that mostly waits.

One intra-op thread and no spinning: a single-latent decode of a small MLP takes tens of microseconds,
far less than a thread pool's hand-off costs, and spinning threads would keep a core busy while the
viewer sits idle between mouse moves.
"""

from __future__ import annotations

import threading
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


# A stranger's graph can loop forever (an endless Loop) or materialise gigabytes (a ConstantOfShape fed a huge
# shape). Every session allocates from one capped arena, and a trial run is stopped from a timer thread
# (RunOptions.terminate): warm-up, the ONNX-pair export and --info run one, so such a graph is refused in one line.
TRIAL_LIMIT_S = 2.0  # one trial decode or encode of a small batch: ours take microseconds, a 256x256 conv net ~50 ms
MAX_BATCH = 256  # items per onnxruntime run: a conv decoder's activations for 256 64x64 tiles are tens of MB
ARENA_LIMIT_BYTES = 1 << 30  # what all sessions together may allocate: a 64x64 map of 28x28 tiles is 13 MB
SILENT = 4  # onnxruntime's "fatal only": its logger writes raw node names (escape sequences) to the terminal
_arena_registered = False


def quiet_logger() -> None:
    """Silence onnxruntime's default logger: problems reach the user through our own sanitised line alone."""
    ort.set_default_logger_severity(SILENT)


def capped_arena(options: ort.SessionOptions) -> None:
    """Make the session allocate from the process's one CPU arena capped at ARENA_LIMIT_BYTES (registered once)."""
    global _arena_registered
    if not _arena_registered:
        info = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
        ort.create_and_register_allocator(
            info, ort.OrtArenaCfg({"max_mem": ARENA_LIMIT_BYTES, "arena_extend_strategy": 1})
        )
        _arena_registered = True
    options.add_session_config_entry("session.use_env_allocators", "1")


def session_options(capped: bool = True) -> ort.SessionOptions:
    """The viewer's: one thread, no spinning, onnxruntime silent, and (capped) the capped arena. The ONNX-pair
    export passes capped=False: it decodes 500 images a call, and bounds its trial runs by time instead."""
    quiet_logger()
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = SILENT
    if capped:
        capped_arena(options)
    return options


def run_options() -> ort.RunOptions:
    options = ort.RunOptions()
    options.log_severity_level = SILENT
    return options


class ModelRunError(UserError):
    """The model failed, or answered with the wrong shape or type, when it ran (not when it loaded)."""


class TimedOut(Exception):
    """A run stopped by its time limit."""


def bounded_run(session: ort.InferenceSession, feeds: dict, limit_s: float | None = None) -> list:
    """session.run with onnxruntime's logger silent and, with limit_s, stopped after that many seconds (TimedOut)."""
    options = run_options()
    if limit_s is None:
        return session.run(None, feeds, options)
    timer = threading.Timer(limit_s, lambda: setattr(options, "terminate", True))
    timer.daemon = True
    timer.start()
    try:
        return session.run(None, feeds, options)
    except Exception:
        if options.terminate:
            raise TimedOut() from None
        raise
    finally:
        timer.cancel()


OUT_OF_ARENA = ("bfc_arena", "Available memory of", "Failed to allocate")  # what the capped arena says when full


def failed_run(file_name: str, exc: BaseException) -> str:
    """The one line for a run that raised: past the arena's cap, or onnxruntime's own (sanitised) reason."""
    if any(words in str(exc) for words in OUT_OF_ARENA):
        return f"{file_name} needed more than {ARENA_LIMIT_BYTES >> 20} MiB when it ran, the viewer's limit; refused"
    return f"{file_name} failed when it ran ({reason(exc, 120)})"


def too_slow(file_name: str, limit_s: float) -> str:
    return (
        f"{file_name}: one trial run on a small batch took over {limit_s:g} s and was stopped "
        "(an endless loop, or far too much work for an interactive viewer); refused"
    )


class OnnxModel:
    """One ONNX graph of the bundle, checked against the contract, called like a function on numpy arrays.

    Images cross this edge as (N, C, H, W), whatever the file's version: a format-1 graph takes and gives
    (N, H, W) grey images, so its channel axis is added (decoder) or dropped (encoder) here, and only here.
    """

    def __init__(self, file: Path, role: str, latent_dim: int, file_image_shape: tuple[int, ...], providers: list[str]):
        if not Path(file).is_file():  # gone (a followed run's folder deleted) is not the same as unreadable
            raise BundleError(f"{file}: missing")
        try:
            self.session = ort.InferenceSession(str(file), sess_options=session_options(), providers=providers)
        except Exception as exc:  # onnxruntime raises its own types for every parse and load failure
            raise BundleError(f"{file}: not a loadable ONNX model ({reason(exc)})") from None
        check_model_io(file, self.session, role, latent_dim, file_image_shape)
        self.file, self.role = file, role
        self.grey_v1 = len(file_image_shape) == 2  # (H, W): no channel axis in the graph
        image = tuple(file_image_shape) if len(file_image_shape) == 3 else (1, *file_image_shape)
        self.out_shape = image if role == "decoder" else (latent_dim,)  # per item, as __call__ returns it
        self.in_shape = (latent_dim,) if role == "decoder" else image  # per item, as __call__ takes it
        self.limit_s: float | None = None  # set for a trial run: stopped past it
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = [self.session.get_outputs()[0].name]

    @property
    def provider(self) -> str:
        return self.session.get_providers()[0]

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """Run on a batch; a failure, or an answer of the wrong shape or type, is a ModelRunError, and so is a run
        past self.limit_s seconds (a trial: stopped there).

        Only the declared shapes are checked at load; a graph can still fail or answer wrongly when it runs. A
        batch over MAX_BATCH runs in parts, so what one run allocates stays within the capped arena.
        """
        if len(batch) > MAX_BATCH:  # a 128x128 precomputed grid of 64x64 colour tiles: 16,384 in one call
            return np.concatenate([self(batch[i : i + MAX_BATCH]) for i in range(0, len(batch), MAX_BATCH)])
        if self.grey_v1 and self.role == "encoder":
            batch = batch[:, 0]  # (N, 1, H, W) -> (N, H, W)
        limit_s = self.limit_s
        try:
            if limit_s is None:
                out = self.session.run(self.output_names, {self.input_name: batch})[0]  # logs at the session's level
            else:
                out = bounded_run(self.session, {self.input_name: batch}, limit_s)[0]
        except TimedOut:
            raise ModelRunError(too_slow(self.file.name, limit_s)) from None
        except Exception as exc:  # onnxruntime's own error types, for anything the graph does at run time
            raise ModelRunError(failed_run(self.file.name, exc)) from None
        if self.grey_v1 and self.role == "decoder" and isinstance(out, np.ndarray) and out.ndim == 3:
            out = out[:, None]
        expected = (len(batch), *self.out_shape)
        if not isinstance(out, np.ndarray) or out.dtype != np.float32 or out.shape != expected:
            got = f"{out.dtype} {list(out.shape)}" if isinstance(out, np.ndarray) else type(out).__name__
            raise ModelRunError(f"{self.file.name} answered {got}, expected float32 {list(expected)}")
        return out

    def warm_up(self, example: np.ndarray, runs: int = 20) -> None:
        """Run a few times so the first frame doesn't pay for allocation and kernel selection; the first run is a
        trial, stopped and refused past TRIAL_LIMIT_S."""
        self.bounded(example)
        for _ in range(runs - 1):
            self(example)

    def bounded(self, example: np.ndarray) -> np.ndarray:
        """One run stopped (and refused, a ModelRunError) past TRIAL_LIMIT_S."""
        self.limit_s = TRIAL_LIMIT_S
        try:
            return self(example)
        finally:
            self.limit_s = None

    def trial(self) -> None:
        """One bounded run on a zero input of batch 2 (what --info does): a graph that never returns is refused."""
        self.bounded(np.zeros((2, *self.in_shape), np.float32))


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
