"""`python -m export RUN_DIR --out BUNDLE` (export.py, with torch) or `python -m export --encoder ENC.onnx
--decoder DEC.onnx ...` (onnx_pair.py, without: torch is never imported on that path)."""

import sys

if any(arg.split("=")[0] in ("--encoder", "--decoder") for arg in sys.argv[1:]):
    from export.onnx_pair import main
else:
    from export.export import main

sys.exit(main())
