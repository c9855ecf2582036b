#!/usr/bin/env bash
# The redream-sd21 check on one CUDA GPU, with no network and no real weights, sized for the GPU machine
# (one H200, Python 3.12 with torch 2.11+cu130, transformers 5, huggingface-hub 1.x, peft, accelerate; each
# command <= 10 minutes; <= 64 MiB of files travel with it):
#   0. install benchmarks/gpu_wheels.txt (13.5 MiB of pinned wheels from benchmarks/wheels, --no-index)
#      into .gpu_check/site, which goes first on PYTHONPATH;
#   1. --compile-gsplat: gsplat's CUDA extension for this GPU only (sm_90 on an H200; MAX_JOBS = all cores),
#      into .gpu_check/torch_extensions, kept for the next command on the same machine. Run it as its own
#      first command: gsplat compiles 20 .cu files on first use, minutes, which would otherwise eat the
#      check's 10-minute command budget;
#   2. the CUDA tests (pytest -m cuda, only the CUDA test files: gsplat's rasteriser against ours, the
#      trainer refining every step, saved, loaded and stepped again), none may be skipped;
#   3. redream-sd21 with SD 2.1-shaped RANDOM weights at 512 px, 4 particles, starter chairs for the
#      retrieved assets, two+ refines and the t_max drop, then a run killed with SIGKILL after a refine and
#      resumed (benchmarks/gpu_check.py);
# and prints one table (also written to benchmarks/results/gpu_check.md).
#
#   bash benchmarks/gpu_check.sh --compile-gsplat   # GPU machine, first command (minutes)
#   bash benchmarks/gpu_check.sh                    # GPU machine, the check (<= 10 minutes)
#   GPU_CHECK_TINY=1 bash benchmarks/gpu_check.sh   # CPU smoke: the same steps at toy sizes (proves the script)
#
# Extra arguments go to gpu_check.py (--steps, --adapt-steps, --kill-steps). PYTHON picks the interpreter;
# GPU_WHEELS the wheel folder (default benchmarks/wheels; without it nothing is installed).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
STATE="$PWD/.gpu_check"
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 TORCH_EXTENSIONS_DIR="$STATE/torch_extensions"
trap 'echo "gpu_check: FAILED (line $LINENO, exit $?)" >&2' ERR

WHEELS=${GPU_WHEELS:-benchmarks/wheels}
if [[ -d "$WHEELS" ]]; then
  if [[ ! -f "$STATE/site/.installed" || benchmarks/gpu_wheels.txt -nt "$STATE/site/.installed" ]]; then
    echo "== installing benchmarks/gpu_wheels.txt from $WHEELS (no index) into $STATE/site"
    rm -rf "$STATE/site"
    "$PY" -m pip install -q --no-index --no-deps --find-links "$WHEELS" --target "$STATE/site" \
      -r benchmarks/gpu_wheels.txt
    touch "$STATE/site/.installed"
  fi
  export PYTHONPATH="$STATE/site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

if [[ "${1:-}" == "--compile-gsplat" ]]; then
  arch=$("$PY" -c "import torch; c = torch.cuda.get_device_capability(); print(f'{c[0]}.{c[1]}')")
  echo "== compiling gsplat's CUDA extension for sm_${arch/./} (MAX_JOBS=$(nproc)) into $TORCH_EXTENSIONS_DIR"
  start=$(date +%s)
  TORCH_CUDA_ARCH_LIST="$arch" MAX_JOBS=$(nproc) "$PY" -c "from gsplat.cuda._backend import _C; assert _C is not None"
  echo "gsplat compiled in $(( $(date +%s) - start )) s"
  exit 0
fi

CUDA_TESTS=(tests/test_render_gsplat.py tests/test_cuda_trainer.py)
if [[ "${GPU_CHECK_TINY:-0}" == "1" ]]; then
  echo "== CPU smoke (GPU_CHECK_TINY=1): toy sizes, tiny random SD; not GPU figures"
  "$PY" -m pytest -q -m cuda -p no:cacheprovider "${CUDA_TESTS[@]}"  # collected, skipped without CUDA
  "$PY" benchmarks/gpu_check.py --cpu-smoke "$@"
  exit 0
fi

"$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'gpu_check: no CUDA GPU visible to torch')"
echo "== CUDA tests"
log=$(mktemp)
"$PY" -m pytest -q -m cuda -rs -p no:cacheprovider "${CUDA_TESTS[@]}" 2>&1 | tee "$log"
if grep -qE "[0-9]+ skipped" "$log"; then
  echo "gpu_check: CUDA tests were skipped on a GPU machine (see above)" >&2
  exit 1
fi
echo "== redream-sd21, random SD 2.1 weights"
"$PY" benchmarks/gpu_check.py "$@"
