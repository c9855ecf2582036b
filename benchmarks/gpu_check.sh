#!/usr/bin/env bash
# The redream-sd21 check on one CUDA GPU, with no network and no real weights (<= 10 minutes on an H100/H200):
#   1. the CUDA tests (pytest -m cuda: gsplat's rasteriser against ours), none may be skipped;
#   2. redream-sd21 with SD 2.1-shaped RANDOM weights at 512 px, 4 particles, a few hundred steps, then a
#      run killed with SIGKILL mid-distillation and resumed (benchmarks/gpu_check.py);
# and prints one table (also written to benchmarks/results/gpu_check.md).
#
#   bash benchmarks/gpu_check.sh                 # on the GPU machine
#   GPU_CHECK_TINY=1 bash benchmarks/gpu_check.sh  # CPU smoke: the same steps at toy sizes (proves the script)
#
# Extra arguments go to gpu_check.py (--steps, --adapt-steps, --kill-steps). PYTHON picks the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
trap 'echo "gpu_check: FAILED (line $LINENO, exit $?)" >&2' ERR

if [[ "${GPU_CHECK_TINY:-0}" == "1" ]]; then
  echo "== CPU smoke (GPU_CHECK_TINY=1): toy sizes, tiny random SD; not GPU figures"
  "$PY" -m pytest -q -m cuda -p no:cacheprovider tests/test_render_gsplat.py
  "$PY" benchmarks/gpu_check.py --cpu-smoke "$@"
  exit 0
fi

"$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'gpu_check: no CUDA GPU visible to torch')"
echo "== CUDA tests"
log=$(mktemp)
"$PY" -m pytest -q -m cuda -rs -p no:cacheprovider tests/ 2>&1 | tee "$log"
if grep -qE "[0-9]+ skipped" "$log"; then
  echo "gpu_check: CUDA tests were skipped on a GPU machine (see above)" >&2
  exit 1
fi
echo "== redream-sd21, random SD 2.1 weights"
"$PY" benchmarks/gpu_check.py "$@"
