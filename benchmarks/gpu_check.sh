#!/usr/bin/env bash
# The GPU check (issue 14, item 3): on a Linux machine with an NVIDIA GPU and a fresh copy of this
# repository, prove the GPU paths and measure them against the CPU, writing one JSON of figures:
#   a) machine facts: nvidia-smi, torch and CUDA, onnxruntime and its providers, pip's versions;
#   b) the viewer headless on models/mnist-ae with --provider cuda --strict-provider, and on the CPU;
#   c) 3 epochs of `python -m training` on --device cuda (bf16 autocast) and on --device cpu;
#   d) the 2-process torchrun run over NCCL when there are 2 GPUs or more.
# Every step runs under `timeout` and the whole check within BUDGET_S, so it never hangs; a step that
# can't run is recorded as "skipped" with the reason, and the check goes on.
#
# It installs nothing it can import already. What is missing (pygame-ce, onnxruntime-gpu on a GPU whose
# onnxruntime lacks CUDA, tqdm, numpy) goes into a temporary --target folder put on PYTHONPATH: from
# WHEELS when given (offline), else from the package index, which may well be unreachable. torch is
# never installed here: the right CUDA build depends on the driver.
#
# Usage, from anywhere:  bash benchmarks/gpu_check.sh
#   PYTHON     the interpreter (default python3)
#   DATA_ROOT  a folder holding MNIST/raw/ (default: 60,000 + 10,000 MNIST-shaped digits tiled from
#              the shipped bundle's test digits)
#   WHEELS     a folder of wheels to install missing packages from, with no network
#   OUT        where gpu_check.json and gpu_check.log go (default: gpu_results)
#   BUDGET_S   the whole check's limit in seconds (default 450: under 8 minutes with the set-up)
set -u -o pipefail

PYTHON=${PYTHON:-python3}
DATA_ROOT=${DATA_ROOT:-}
WHEELS=${WHEELS:-}
BUDGET_S=${BUDGET_S:-450}
RESULTS=${OUT:-gpu_results}
mkdir -p "$RESULTS" && RESULTS=$(cd "$RESULTS" && pwd) || exit 2 # OUT is relative to where we were called
[ -n "$DATA_ROOT" ] && [ -d "$DATA_ROOT" ] && DATA_ROOT=$(cd "$DATA_ROOT" && pwd)
[ -n "$WHEELS" ] && [ -d "$WHEELS" ] && WHEELS=$(cd "$WHEELS" && pwd)
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2 # the repository root: python -m finds viewer/ and training/

JSON=$RESULTS/gpu_check.json
LOG=$RESULTS/gpu_check.log
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX") || exit 2
trap 'rm -rf "$WORK"' EXIT
rm -f "$JSON"
: >"$LOG"
DEADLINE=$((SECONDS + BUDGET_S))
export PYTHONUNBUFFERED=1 PYGAME_HIDE_SUPPORT_PROMPT=1

if ! command -v "$PYTHON" >/dev/null 2>&1; then
  printf '{"status": "failed", "error": "no Python interpreter %s: set PYTHON"}\n' "$PYTHON" >"$JSON"
  echo "gpu_check: no Python interpreter '$PYTHON'; set PYTHON" >&2
  exit 2
fi

# helper SUBCOMMAND ARGS...: the Python side, on the results file, never for longer than a minute or two.
# (`step` runs programs under `timeout`, which can't run this function: it calls the module itself.)
helper() {
  local command=$1
  shift
  timeout -k 5 150 "$PYTHON" -m benchmarks.gpu_check "$command" --json "$JSON" "$@"
}

# step NAME LIMIT COMMAND...: run COMMAND under `timeout`, for LIMIT seconds or what is left of the
# budget if less. Output goes to $WORK/NAME.out and the log. Sets RC, ELAPSED and STARTED (wall clock).
step() {
  local name=$1 limit=$2 left
  shift 2
  left=$((DEADLINE - SECONDS))
  ((limit > left)) && limit=$left
  STARTED=$(date +%s.%N)
  if ((limit < 10)); then
    echo "the check's budget of ${BUDGET_S}s is spent" >"$WORK/$name.out"
    RC=124 ELAPSED=0
    return
  fi
  echo "[$((SECONDS))s] $name (limit ${limit}s)"
  printf '\n=== %s (limit %ss): %s\n' "$name" "$limit" "$*" >>"$LOG"
  timeout -k 10 "$limit" "$@" >"$WORK/$name.out" 2>&1
  RC=$?
  ELAPSED=$(awk -v a="$STARTED" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
  cat "$WORK/$name.out" >>"$LOG"
  echo "=== $name: exit $RC after ${ELAPSED}s" >>"$LOG"
}

# can STEP KEY: true when STEP can run here; else records KEY as skipped with the reason.
can() {
  local why
  why=$(helper why-not "$1") || why="could not tell (the helper failed)"
  [ -z "$why" ] && return 0
  helper skip "$2" "$why"
  return 1
}

# a) Machine facts, then whatever is missing, then the facts again ------------------------------------
step facts 200 "$PYTHON" -m benchmarks.gpu_check facts --json "$JSON" --python "$PYTHON"
needed=$(helper missing)
if [ -n "$needed" ]; then
  if [ -n "$WHEELS" ]; then source=(--no-index --find-links "$WHEELS"); else source=(--retries 0 --timeout 15); fi
  for name in $needed; do # one at a time: one that can't be had doesn't stop the others
    step "install-$name" 120 "$PYTHON" -m pip install --quiet --disable-pip-version-check --no-deps \
      --target "$WORK/site" "${source[@]}" "$name"
    helper record "install.$name" --rc "$RC" --seconds "$ELAPSED" --output "$WORK/install-$name.out"
  done
  export PYTHONPATH="$WORK/site${PYTHONPATH:+:$PYTHONPATH}"
  step facts-after-install 200 "$PYTHON" -m benchmarks.gpu_check facts --json "$JSON" --python "$PYTHON"
else
  helper skip install "nothing to install: every package the viewer and the trainer need imports"
fi

# b) The viewer, CUDA then the CPU baseline --------------------------------------------------------------
for provider in cuda cpu; do
  can "viewer-$provider" "viewer.$provider" || continue
  expect=$([ "$provider" = cuda ] && echo CUDAExecutionProvider || echo CPUExecutionProvider)
  step "viewer-$provider" 90 "$PYTHON" -m viewer models/mnist-ae --provider "$provider" --strict-provider \
    --headless --frames 600 --fps 0 --stats "$WORK/viewer-$provider.json"
  helper record "viewer.$provider" --rc "$RC" --seconds "$ELAPSED" --started "$STARTED" \
    --output "$WORK/viewer-$provider.out" --stats "$WORK/viewer-$provider.json" --expect-provider "$expect"
done

# c) Training, CUDA then the CPU baseline, on real MNIST when DATA_ROOT has it ---------------------------
if [ -n "$DATA_ROOT" ] && [ -d "$DATA_ROOT/MNIST/raw" ]; then
  data=$DATA_ROOT
  helper note latent_common.data "real MNIST from DATA_ROOT=$DATA_ROOT"
else
  data=$WORK/data
  step data 120 "$PYTHON" -m benchmarks.gpu_check make-data "$data"
  helper note latent_common.data "60,000 + 10,000 digits tiled from models/mnist-ae/embedding.npz (DATA_ROOT=${DATA_ROOT:-unset})"
  helper record training.data_step --rc "$RC" --seconds "$ELAPSED" --output "$WORK/data.out"
fi
for device in cuda cpu; do
  can "train-$device" "training.$device" || continue
  step "train-$device" 150 "$PYTHON" -m benchmarks.gpu_check train --probe "$WORK/probe-$device.json" -- \
    --device "$device" --epochs 3 --data-root "$data" --run-dir "$WORK/run-$device" --overwrite
  helper record "training.$device" --rc "$RC" --seconds "$ELAPSED" --output "$WORK/train-$device.out" \
    --run "$WORK/run-$device" --probe "$WORK/probe-$device.json"
done

# d) DistributedDataParallel over NCCL, 2 processes ------------------------------------------------------
if can torchrun torchrun_nccl; then
  step torchrun 180 "$PYTHON" -m torch.distributed.run --standalone --nproc_per_node 2 -m training \
    --device cuda --epochs 2 --data-root "$data" --run-dir "$WORK/run-ddp" --overwrite
  helper record torchrun_nccl --rc "$RC" --seconds "$ELAPSED" --output "$WORK/torchrun.out" --run "$WORK/run-ddp"
fi

helper finish --seconds "$SECONDS"
echo "figures: $JSON; log: $LOG"
