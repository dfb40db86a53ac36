"""`python -m export RUN_DIR --out BUNDLE` (export.py, with torch) or `python -m export --encoder ENC.onnx
--decoder DEC.onnx ...` (onnx_pair.py, without: torch is never imported on that path)."""

import sys

from export.onnx_pair import PAIR_COMMAND, build_parser
from export.onnx_pair import main as pair_main

TRAIN_EXTRA = "pip install 'latent-explorer[train]'"


def run_dir_main() -> int:
    """The run-directory path, or, where only the viewer is installed, what can be done there instead."""
    try:
        from export.export import main
    except ModuleNotFoundError as exc:  # the viewer's environment: no torch, no onnx
        if exc.name not in ("torch", "onnx", "onnxscript"):
            raise
        if any(arg in ("-h", "--help") for arg in sys.argv[1:]):
            print(f"(exporting a training run directory needs the training extra: {TRAIN_EXTRA};")
            print(" an ONNX encoder and decoder pair exports without it, like this:)\n")
            build_parser().print_help()
            return 0
        print(
            f"error: exporting a run directory needs the training extra ({exc.name} is not installed): "
            f"{TRAIN_EXTRA}; an ONNX pair exports without it: {PAIR_COMMAND}",
            file=sys.stderr,
        )
        return 2
    return main()


if any(arg.split("=")[0] in ("--encoder", "--decoder") for arg in sys.argv[1:]):
    sys.exit(pair_main())
sys.exit(run_dir_main())
