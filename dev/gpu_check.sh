#!/usr/bin/env bash
# The CUDA checks, on any machine with a CUDA GPU and a package registry:
# install as `make install CUDA=1` does (dev/install.sh, which also checks
# mmcv's kernels with dev/check_mmcv_cuda.py), run the `-m cuda` tests and
# the CUDA benchmark, and sum them up in one JSON (dev/gpu_summary.py).
#
#   bash dev/gpu_check.sh [VENV] [OUT]    (defaults: .venv-cuda, gpu_check_out)
#
# OUT holds install.log, pytest_cuda.log/.xml, benchmark.log, bench_cuda.json
# and gpu_check.json. Exit status: 0 when every step passed, 1 when one
# failed (gpu_check.json says which), 3 where no CUDA device is visible
# (before anything is installed).
set -uo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-.venv-cuda}
OUT=${2:-gpu_check_out}

if ! nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
    echo 'gpu_check: no CUDA device visible (nvidia-smi lists none)' >&2
    exit 3
fi
mkdir -p "$OUT"
STEPS=()
# step NAME LOG CMD...: a failed step is recorded, and the next ones run
step() {
    local name=$1 log=$2 start=$SECONDS
    shift 2
    echo "[gpu_check] $name (log: $log)"
    "$@" >"$log" 2>&1
    STEPS+=("$name=$?:$((SECONDS - start))")
}
step install "$OUT/install.log" env CUDA=1 bash dev/install.sh "$VENV"
PY=$VENV/bin/python
step pytest "$OUT/pytest_cuda.log" "$PY" -m pytest -m cuda tests -q -rA \
    -p no:cacheprovider --junitxml="$OUT/pytest_cuda.xml"
step benchmark "$OUT/benchmark.log" "$PY" tools/benchmark.py --device cuda \
    --out "$OUT/bench_cuda.json"
# the venv's python where the install got that far: it also asks torch
[ -x "$PY" ] || PY=python3
"$PY" dev/gpu_summary.py "$OUT" "$VENV" "${STEPS[@]}"
