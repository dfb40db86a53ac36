"""`python -m export RUN_DIR --out BUNDLE` (export.py, with torch) or `python -m export --encoder ENC.onnx
--decoder DEC.onnx ...` (onnx_pair.py, without: torch is never imported on that path)."""

import importlib.util
import sys

from latent_common.loading import finish, interrupts_while_loading

interrupts_while_loading("nothing was written; any earlier bundle is as it was")  # onnxruntime, torch load next

from export.onnx_pair import PAIR_COMMAND, build_parser  # noqa: E402
from export.onnx_pair import main as pair_main  # noqa: E402

TRAIN_EXTRA = "pip install 'latent-explorer[train]'"
TRAIN_MODULES = ("torch", "onnx")  # what the run-dir path imports beyond the viewer's dependencies


def run_dir_main() -> int:
    """The run-directory path, or, where only the viewer is installed, what can be done there instead
    (decided before anything torch-side is imported)."""
    missing = [name for name in TRAIN_MODULES if importlib.util.find_spec(name) is None]
    if not missing:
        from export.export import main  # here: the ONNX-pair path never loads torch

        return main()
    if any(arg in ("-h", "--help") for arg in sys.argv[1:]):
        print(f"(exporting a training run directory needs the training extra: {TRAIN_EXTRA};")
        print(" an ONNX encoder and decoder pair exports without it, like this:)\n")
        build_parser().print_help()
        return 0
    print(
        f"error: exporting a run directory needs the training extra ({missing[0]} is not installed): "
        f"{TRAIN_EXTRA}; an ONNX pair exports without it: {PAIR_COMMAND}",
        file=sys.stderr,
    )
    return 2


if any(arg.split("=")[0] in ("--encoder", "--decoder") for arg in sys.argv[1:]):
    finish(pair_main())
finish(run_dir_main())
