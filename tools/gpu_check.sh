#!/usr/bin/env bash
# One-shot GPU check for a throwaway CUDA machine (the H200 device machine):
# build mmcv 2.1.0's CUDA ops for Hopper, install the OpenMMLab stack from
# carried wheels, then run the CUDA tests and the CUDA benchmark.
#
#   bash tools/gpu_check.sh [--wheel MMCV_WHEEL] [--carry DIR] [--out DIR]
#                           [--budget SECONDS]
#
#   --wheel   a prebuilt mmcv 2.1.0 wheel with CUDA ops (cp312, torch 2.11);
#             if it does not import, the script builds from the sdist instead
#   --carry   folder with the carried files (default: .gpu in the repo root):
#               mmcv-2.1.0.tar.gz, *.whl (runtime deps), build/setuptools-*.whl
#             as tools/gpu_bundle.sh makes them on a machine with a registry;
#             optionally build/python3.12-include.tgz (CPython 3.12 headers)
#             for an image without Python.h
#   --out     where logs and results go (default: $OUT, else ./gpu_check_out)
#   --budget  wall-clock seconds the whole script may use (default 570, to
#             finish inside the device tool's 600 s limit per command); each
#             step's timeout is cut from what is left
#
# Exit codes: 0 all steps passed; 1 some step failed (see gpu_check.json);
# 2 bad arguments; 3 no CUDA device; 4 carried files missing.
#
# What comes back from the device machine is at most 8 files of 16 MiB, so
# everything goes into these 7 files in --out:
#   gpu_check.log (versions, nvidia-smi, smoke test, cuobjdump), mmcv_build.log,
#   pytest_cuda.log, pytest_cuda.xml, benchmark.log, bench_cuda.json,
#   gpu_check.json (summary).
# The mmcv source tree, its build/ folder and the installed packages live under
# $WORK ($GPU_CHECK_WORK, else $TMPDIR/gpu_check or /tmp/gpu_check), never
# under --out.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

WHEEL=''
CARRY=.gpu
OUTDIR=${OUT:-./gpu_check_out}
BUDGET=570
while [ $# -gt 0 ]; do
  case $1 in
    --wheel) WHEEL=$2; shift 2 ;;
    --carry) CARRY=$2; shift 2 ;;
    --out) OUTDIR=$2; shift 2 ;;
    --budget) BUDGET=$2; shift 2 ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "gpu_check: unknown argument $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
CARRY=$(cd "$CARRY" 2>/dev/null && pwd || echo "$REPO/$CARRY")
[ -z "$WHEEL" ] || WHEEL=$(readlink -f "$WHEEL")

# Everything installed goes to $WORK (README of the device tool: --target +
# PYTHONPATH), so the image's own site-packages stay untouched.
WORK=${GPU_CHECK_WORK:-${TMPDIR:-/tmp}/gpu_check}  # scratch, outside the repo
SITE=$WORK/site          # runtime: mmengine, mmdet, mmcv, ...
BUILDSITE=$WORK/buildsite  # build only: setuptools<70
SRC=$WORK/mmcv-2.1.0      # mmcv sdist, built in place
SDIST=$CARRY/mmcv-2.1.0.tar.gz
# Exported: the steps run as exported functions in a child bash (timeout(1)
# cannot run a shell function itself).
CARRY_DIR=$CARRY
export WORK SITE BUILDSITE SRC SDIST CARRY_DIR
mkdir -p $WORK

LOG=$OUTDIR/gpu_check.log
: >"$LOG"
export PYTHONUNBUFFERED=1
export PYTHONDONTWRITEBYTECODE=1

# ---------------------------------------------------------------- helpers
log() { echo "[gpu_check $(date +%H:%M:%S) +${SECONDS}s] $*" | tee -a "$LOG"; }
left() { echo $((BUDGET - SECONDS)); }
# step_timeout CAP RESERVE: at most CAP seconds, leaving RESERVE seconds for
# the later steps; never below 20 s.
step_timeout() {
  local t=$(( $(left) - $2 ))
  [ "$t" -gt "$1" ] && t=$1
  [ "$t" -lt 20 ] && t=20
  echo "$t"
}

# Step results, exported so that the JSON writer (python) can read them.
declare -A RC=()
export GC_STEPS=''
record() {  # record NAME RC SECONDS
  RC[$1]=$2
  export "GC_RC_$1=$2" "GC_SEC_$1=$3"
  GC_STEPS="$GC_STEPS $1"
  log "step $1: rc=$2 (${3}s)"
}

write_summary() {
  # Rewritten after every step and on exit, so a run killed by the device
  # tool's time limit still leaves a summary behind.
  GC_OUTDIR=$OUTDIR GC_TOTAL_SEC=$SECONDS python3 - <<'EOF' || true
import json, os, re, xml.etree.ElementTree as ET
out = os.environ['GC_OUTDIR']
s = {'total_seconds': int(os.environ.get('GC_TOTAL_SEC', 0)), 'steps': {}}
for name in os.environ.get('GC_STEPS', '').split():
    s['steps'][name] = {'rc': int(os.environ['GC_RC_' + name]),
                        'seconds': int(os.environ['GC_SEC_' + name])}
for k, v in os.environ.items():
    if k.startswith('GC_INFO_'):
        s[k[8:].lower()] = v
xml = os.path.join(out, 'pytest_cuda.xml')
if os.path.exists(xml):
    try:
        root = ET.parse(xml).getroot()
        suites = [root] if root.tag == 'testsuite' else list(root)
        c = {k: sum(int(x.get(k, 0)) for x in suites)
             for k in ('tests', 'failures', 'errors', 'skipped')}
        c['passed'] = c['tests'] - c['failures'] - c['errors'] - c['skipped']
        c['failed_names'] = [
            tc.get('classname', '') + '::' + tc.get('name', '')
            for x in suites for tc in x.iter('testcase')
            if tc.find('failure') is not None or tc.find('error') is not None]
        s['pytest'] = c
    except Exception as e:  # a half-written file after a timeout
        s['pytest'] = {'unreadable': repr(e)}
blog = os.path.join(out, 'mmcv_build.log')
if os.path.exists(blog):
    text = open(blog, errors='replace').read()
    s['mmcv_build'] = {
        'compiled_objects': len(re.findall(r'^\[\d+/\d+\]', text, re.M)),
        'warnings': len(re.findall(r'warning', text)),
        'first_errors': [l[:300] for l in text.splitlines()
                         if re.search(r'\berror\b|FAILED|Error:', l)][:15],
    }
s['failed_steps'] = [k for k, v in s['steps'].items() if v['rc'] != 0]
path = os.path.join(out, 'gpu_check.json')
with open(path + '.tmp', 'w') as f:
    json.dump(s, f, indent=1, sort_keys=True)
os.replace(path + '.tmp', path)
EOF
}

# Keep every file in --out under the 16 MiB the device tool brings back.
cap_files() {
  local f
  for f in "$OUTDIR"/*; do
    [ -f "$f" ] || continue
    if [ "$(stat -c %s "$f")" -gt 15000000 ]; then
      { head -c 7000000 "$f"; printf '\n\n[... truncated by gpu_check ...]\n\n'
        tail -c 7000000 "$f"; } >"$f.cut" && mv "$f.cut" "$f"
    fi
  done
}
on_exit() { write_summary; cap_files; }
trap on_exit EXIT

# run_step NAME TIMEOUT LOGFILE CMD...: a failing step is recorded, not fatal,
# so one run reports as much as it can. timeout(1) signals the whole process
# group, so ninja's nvcc children die with the build.
run_step() {
  local name=$1 t=$2 logf=$3 t0=$SECONDS rc
  shift 3
  log "step $name: start (timeout ${t}s) -> $(basename "$logf")"
  set +e
  timeout --kill-after=10 "$t" bash -c '"$@"' _ "$@" >>"$logf" 2>&1
  rc=$?
  set -e
  [ "$rc" = 124 ] && log "step $name: TIMED OUT after ${t}s"
  record "$name" "$rc" $((SECONDS - t0))
  write_summary
  return 0
}

# ------------------------------------------------ (a) versions of everything
# CUDA_HOME: torch guesses it from `which nvcc`, which is wrong where nvcc is
# a wrapper script (/usr/local/bin/nvcc -> exec /usr/local/cuda-13.0/bin/nvcc
# on these images: the guess would be /usr/local). Pick it explicitly.
find_cuda_home() {
  local n
  if [ -n "${CUDA_HOME:-}" ] && [ -x "$CUDA_HOME/bin/nvcc" ]; then
    echo "$CUDA_HOME"; return
  fi
  if [ -x /usr/local/cuda/bin/nvcc ]; then echo /usr/local/cuda; return; fi
  n=$(command -v nvcc || true)
  [ -n "$n" ] || return 0
  if head -c 2 "$n" | grep -q '#!'; then
    n=$(grep -oE '/[^ "]*/bin/nvcc' "$n" | head -1)
  fi
  n=$(readlink -f "$n")
  dirname "$(dirname "$n")"
}
CUDA_HOME=$(find_cuda_home)
export CUDA_HOME
export PATH="${CUDA_HOME:+$CUDA_HOME/bin:}$PATH"
# torch's BuildExtension falls back to one-file-at-a-time compiling when no
# `ninja` is on PATH (an hour instead of minutes): add the pip ninja's bin.
PYBIN=$(dirname "$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || echo /usr/bin/python3)")
export PATH="$PATH:$PYBIN"
if ! command -v ninja >/dev/null; then
  NB=$(python3 -c 'import ninja; print(ninja.BIN_DIR)' 2>/dev/null || true)
  [ -n "$NB" ] && export PATH="$PATH:$NB"
fi

log "repo $REPO, carry $CARRY, out $OUTDIR, budget ${BUDGET}s"
{
  echo "== uname"; uname -a || true
  echo "== nvidia-smi"; nvidia-smi 2>&1 || echo "nvidia-smi failed"
  echo "== python3"; command -v python3 || true; python3 --version 2>&1 || true
  echo "== torch"
  python3 -c 'import torch; print(torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")' 2>&1 || true
  echo "== CUDA_HOME=$CUDA_HOME"
  echo "== nvcc"; nvcc --version 2>&1 | tail -2 || echo "no nvcc"
  echo "== gcc"; gcc --version 2>&1 | head -1 || echo "no gcc"
  echo "== ninja"; ninja --version 2>&1 || echo "no ninja"
  echo "== nproc"; nproc || true
  echo "== free -g"; free -g 2>&1 | head -2 || true
  echo "== image packages"
  python3 -m pip list 2>/dev/null | grep -iE '^(numpy|setuptools|wheel|opencv|scipy|matplotlib|pytest|shapely|pycocotools|mmcv|mmengine|mmdet) ' || true
} >>"$LOG" 2>&1
tail -n +2 "$LOG"
export GC_INFO_TORCH=$(python3 -c 'import torch; print(torch.__version__)' 2>/dev/null || echo none)
export GC_INFO_NVCC=$(nvcc --version 2>/dev/null | grep -oE 'release [0-9.]+' || echo none)
export GC_INFO_GPU=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1 || echo none)
export GC_INFO_COMMIT=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)

# ------------------------------------ (b) stop early where there is no GPU
# Before any install or build, so a dry run on a CPU machine ends in seconds.
# GPU_CHECK_PLUMBING_TEST=1 goes on regardless, only to test this script's
# own plumbing on a CPU machine (every CUDA step then fails, recorded).
if ! python3 -c 'import torch; assert torch.cuda.is_available()' >>"$LOG" 2>&1; then
  if [ "${GPU_CHECK_PLUMBING_TEST:-0}" != 1 ]; then
    export GC_INFO_ABORT='no CUDA device'
    echo "gpu_check: no CUDA device visible (torch.cuda.is_available() is False); this script needs a GPU machine" | tee -a "$LOG" >&2
    exit 3
  fi
  log "GPU_CHECK_PLUMBING_TEST=1: no GPU, going on to test the plumbing only"
  export GC_INFO_PLUMBING_TEST=1
fi

# ------------------------------------------------- the carried files present
missing=''
[ -f "$SDIST" ] || [ -n "$WHEEL" ] || missing="$missing mmcv-2.1.0.tar.gz"
ls "$CARRY"/build/setuptools-*.whl >/dev/null 2>&1 || missing="$missing build/setuptools-*.whl"
for p in mmengine mmdet pycocotools addict yapf termcolor terminaltables shapely platformdirs; do
  ls "$CARRY"/$p-*.whl >/dev/null 2>&1 || missing="$missing $p-*.whl"
done
if [ -n "$missing" ]; then
  echo "gpu_check: carried files missing in $CARRY:$missing (name it in the device tool's carry list)" | tee -a "$LOG" >&2
  exit 4
fi

# ------------------------------------------------ (c) install carried wheels
# --no-deps --no-index: the machine has no registry; the image already holds
# torch, numpy, scipy, matplotlib, opencv-python-headless (cv2 satisfies
# mmengine's opencv-python need), rich, tqdm, six, pyyaml, pillow, packaging.
t0=$SECONDS
set +e
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
  --upgrade --target "$SITE" "$CARRY"/*.whl >>"$LOG" 2>&1
rc_site=$?
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
  --upgrade --target "$BUILDSITE" "$CARRY"/build/setuptools-*.whl >>"$LOG" 2>&1
rc_build=$?
set -e
record install_wheels $((rc_site + rc_build)) $((SECONDS - t0))
export PYTHONPATH="$REPO:$SITE${PYTHONPATH:+:$PYTHONPATH}"
# mmengine.utils.is_installed/get_installed_path import pkg_resources, which
# setuptools >= 81 no longer ships. If the image lacks it, add pkg_resources
# alone (from the carried setuptools 69), after everything else on the path.
if ! python3 -W ignore -c 'import pkg_resources' 2>/dev/null; then
  mkdir -p $WORK/pkgres
  cp -r "$BUILDSITE/pkg_resources" $WORK/pkgres/
  export PYTHONPATH="$PYTHONPATH:$WORK/pkgres"
  export GC_INFO_PKG_RESOURCES='added from carried setuptools 69'
fi

# ------------------------------------------------------- (d) mmcv with ops
mmcv_ops_ok() {
  python3 -c 'import mmcv, mmcv.ops, torch; from mmcv.ops import nms; import mmcv._ext; print("mmcv", mmcv.__version__, mmcv._ext.__file__)'
}

build_mmcv() {
  # Headers torch's CUDA headers include (ATen/cuda/CUDAContextLight.h:
  # cublas_v2.h, cusparse.h, cusolverDn.h; curand for some ops). A toolkit
  # assembled from NVIDIA's pip wheels (as on these images) may lack them in
  # $CUDA_HOME/include while torch's pip deps carry them under
  # site-packages/nvidia/cu13/include: add those to CPATH, which nvcc's host
  # preprocessing and g++ both honour, after the -I of CUDA_HOME.
  local h d found extra='' nvdirs
  nvdirs=$(python3 - <<'EOF' 2>/dev/null || true
import glob, os
try:
    import nvidia
    for p in nvidia.__path__:
        for d in sorted(glob.glob(os.path.join(p, '*', 'include'))):
            print(d)
except ImportError:
    pass
EOF
)
  for h in cuda_runtime.h cublas_v2.h cusparse.h cusolverDn.h curand_kernel.h; do
    [ -f "$CUDA_HOME/include/$h" ] && continue
    found=none
    for d in $nvdirs /usr/local/cuda*/targets/x86_64-linux/include /usr/include; do
      if [ -f "$d/$h" ]; then
        case ":$extra:" in *":$d:"*) ;; *) extra="$extra:$d" ;; esac
        found=$d
        break
      fi
    done
    echo "header $h not in $CUDA_HOME/include; found in: $found"
  done
  # Python.h: torch adds -I<sysconfig include>; an image without the
  # python3.12-dev headers gets CPython 3.12.1's (carried; same 3.12 ABI).
  if ! python3 -c 'import os, sysconfig; assert os.path.isfile(os.path.join(sysconfig.get_paths()["include"], "Python.h"))' 2>/dev/null; then
    mkdir -p $WORK/pyinc
    tar xzf "$CARRY_DIR"/build/python3.12-include.tgz -C $WORK/pyinc \
      && extra="$extra:$WORK/pyinc/python3.12"
    echo "no Python.h in the image; using the carried CPython 3.12 headers"
  fi
  if [ -n "$extra" ]; then export CPATH="${extra#:}${CPATH:+:$CPATH}"; fi
  echo "CPATH=${CPATH:-}"
  # libcudart.so for the link (-lcudart -L$CUDA_HOME/lib64): if the toolkit
  # has only the pip runtime's libcudart.so.13, link through a symlink.
  if ! ls "$CUDA_HOME"/lib64/libcudart.so "$CUDA_HOME"/lib/libcudart.so >/dev/null 2>&1; then
    local so
    so=$(for d in $nvdirs; do ls "$(dirname "$d")"/lib/libcudart.so* 2>/dev/null; done | head -1)
    if [ -n "$so" ]; then
      mkdir -p $WORK/cudalink
      ln -sf "$so" $WORK/cudalink/libcudart.so
      export LIBRARY_PATH="$WORK/cudalink${LIBRARY_PATH:+:$LIBRARY_PATH}"
      echo "linking libcudart through $so"
    fi
  fi
  command -v ninja >/dev/null || { echo "no ninja on PATH: refusing the serial build"; return 5; }

  # Kept between runs on one machine: a rerun after a timed-out build lets
  # ninja go on from the objects already compiled.
  [ -f "$SRC/setup.py" ] || tar xzf "$SDIST" -C $WORK
  cd "$SRC"
  # Patches for CUDA 13 / torch 2.11: none needed. Compiled on a CPU machine
  # with nvcc 13.0.88 against torch 2.11.0+cu130's own headers (-arch sm_90):
  # roi_pool, roi_align, nms, ms_deform_attn, sync_bn, filtered_lrelu .cu and
  # pybind, cudabind, nms, cpu/roi_align .cpp built without errors; only
  # deprecation warnings (double4/longlong4, cudaFuncSetSharedMemConfig in
  # filtered_lrelu.cu).
  #
  # setuptools<70 first on the path, for the build only: mmcv's setup.py
  # imports pkg_resources. Built in place (no wheel: setuptools 69 with the
  # image's wheel>=0.46 has no bdist_wheel), then copied into $SITE.
  PYTHONPATH="$BUILDSITE" MMCV_WITH_OPS=1 FORCE_CUDA=1 \
    TORCH_CUDA_ARCH_LIST=9.0 MAX_JOBS=${MAX_JOBS:-16} \
    python3 setup.py build_ext --inplace || return $?
  ls mmcv/_ext*.so
  rm -rf "$SITE/mmcv" "$SITE"/mmcv-*.dist-info "$SITE/mmcv.egg-info"
  cp -r mmcv mmcv.egg-info "$SITE/"
}

export -f build_mmcv mmcv_ops_ok
BLOG=$OUTDIR/mmcv_build.log
: >"$BLOG"
mmcv_ok=0
# A rerun on the same (still warm) machine reuses the mmcv built before.
if [ -z "$WHEEL" ] && [ -d "$SITE/mmcv" ] && mmcv_ops_ok >>"$BLOG" 2>&1; then
  log "mmcv with ops already in $SITE (earlier run on this machine): no build"
  export GC_INFO_MMCV='reused from an earlier run on this machine'
  record mmcv_build 0 0
  mmcv_ok=1
fi
if [ "$mmcv_ok" = 0 ] && [ -n "$WHEEL" ]; then
  t0=$SECONDS
  set +e
  python3 -m pip install --no-index --no-deps --no-compile --no-cache-dir \
    --upgrade --target "$SITE" "$WHEEL" >>"$BLOG" 2>&1 && mmcv_ops_ok >>"$BLOG" 2>&1
  rc=$?
  set -e
  record mmcv_wheel "$rc" $((SECONDS - t0))
  if [ "$rc" = 0 ]; then mmcv_ok=1; else log "prebuilt wheel failed to import; building from the sdist"; fi
fi
if [ "$mmcv_ok" = 0 ]; then
  if [ ! -f "$SDIST" ]; then
    log "no $SDIST to build from"
    record mmcv_build 4 0
  else
    # Cap 450 s, keeping 100 s for the smoke test, the tests and the benchmark.
    run_step mmcv_build "$(step_timeout 450 100)" "$BLOG" build_mmcv
    cd "$REPO"
    export GC_INFO_MMCV_BUILD_SECONDS=$GC_SEC_mmcv_build
  fi
fi

# -------------------------------- (e) smoke test of the CUDA ops, cuobjdump
smoke() {
  python3 - <<'EOF' || return $?
import torch, mmcv, mmcv.ops, mmdet, mmengine
from mmcv.ops import RoIAlign, RoIPool, batched_nms, nms
import torchvision
print('mmcv', mmcv.__version__, 'mmengine', mmengine.__version__,
      'mmdet', mmdet.__version__, 'torch', torch.__version__)
torch.manual_seed(0)
x = torch.randn(2, 8, 40, 40)
xy = torch.rand(64, 2) * 30
wh = torch.rand(64, 2) * 10 + 1
rois = torch.cat([torch.randint(0, 2, (64, 1)).float(), xy, xy + wh], 1)
xc = x.cuda().requires_grad_()
for name, op, ref in [
        ('RoIAlign', RoIAlign((7, 7), 0.5, 2, aligned=True),
         lambda a, r: RoIAlign((7, 7), 0.5, 2, aligned=True)(a, r)),
        ('RoIPool', RoIPool((7, 7), 0.5),
         lambda a, r: torchvision.ops.roi_pool(a, r, (7, 7), 0.5))]:
    y = op(xc, rois.cuda())
    y.sum().backward()
    # RoIAlign against mmcv's CPU kernel; RoIPool (no CPU kernel in mmcv)
    # against torchvision's CUDA one.
    r = ref(x if name == 'RoIAlign' else x.cuda(), rois if name == 'RoIAlign' else rois.cuda())
    d = (y.detach().cpu() - r.detach().cpu()).abs().max().item()
    ok = bool(torch.isfinite(y).all() and torch.isfinite(xc.grad).all())
    print(f'{name}: out {tuple(y.shape)} finite {ok} max|cuda-ref| {d:.2e}')
    assert ok, name
    # mmcv's RoIPool bins differ from torchvision's (no rounding): info only.
    assert name == 'RoIPool' or d < 1e-4, name
    xc.grad = None
boxes = torch.rand(500, 2) * 100
boxes = torch.cat([boxes, boxes + torch.rand(500, 2) * 40 + 1], 1)
scores = torch.rand(500)
_, kc = nms(boxes.cuda(), scores.cuda(), 0.5)
_, kp = nms(boxes, scores, 0.5)
# Equality is information, not a failure: an IoU a rounding away from the
# threshold may legitimately differ between the two kernels.
print('nms: keep', len(kc), 'of 500; same as CPU', torch.equal(kc.cpu(), kp))
assert 0 < len(kc) <= 500
idx = torch.randint(0, 5, (500,))
_, kb = batched_nms(boxes.cuda(), scores.cuda(), idx.cuda(), dict(iou_threshold=0.5))
print('batched_nms: keep', len(kb))
print('SMOKE OK')
EOF
  local so
  so=$(python3 -c 'import mmcv._ext as e; print(e.__file__)')
  echo "== cuobjdump --list-elf $so"
  cuobjdump --list-elf "$so" | awk '{print $NF}' | sed 's/.*\.\(sm_[0-9a-z]*\)\..*/\1/' | sort | uniq -c || true
  cuobjdump --list-elf "$so" | head -5 || true
  echo "ELF count: $(cuobjdump --list-elf "$so" 2>/dev/null | wc -l); PTX count: $(cuobjdump --list-ptx "$so" 2>/dev/null | wc -l)"
}
echo "==== smoke test" >>"$LOG"
export -f smoke
run_step smoke "$(step_timeout 90 90)" "$LOG" smoke
tail -n 12 "$LOG"

# ------------------------------------------------------ (f) the CUDA tests
# --continue-on-collection-errors: a test module that needs a package the
# image lacks must not stop the CUDA tests of the other modules.
PYTEST_ARGS=(-m cuda tests -q -rA -p no:cacheprovider
  --continue-on-collection-errors --junitxml="$OUTDIR/pytest_cuda.xml")
# A per-test limit, where the image has pytest-timeout, so one hung test
# cannot eat the benchmark's time.
python3 -c 'import pytest_timeout' 2>/dev/null && PYTEST_ARGS+=(--timeout=150)
: >"$OUTDIR/pytest_cuda.log"
run_step pytest "$(step_timeout 300 120)" "$OUTDIR/pytest_cuda.log" \
  python3 -m pytest "${PYTEST_ARGS[@]}"
# rc 5 = no test was collected (no test marked `cuda`).
tail -n 15 "$OUTDIR/pytest_cuda.log"

# ------------------------------------------------------- (g) the benchmark
: >"$OUTDIR/benchmark.log"
run_step benchmark "$(step_timeout 600 10)" "$OUTDIR/benchmark.log" \
  python3 tools/benchmark.py --device cuda --out "$OUTDIR/bench_cuda.json"
tail -n 25 "$OUTDIR/benchmark.log"

# ------------------------------------------------------------ (h) summary
write_summary
cap_files
log "files in $OUTDIR: $(ls "$OUTDIR" | tr '\n' ' ')"
cat "$OUTDIR/gpu_check.json"
fail=0
for k in "${!RC[@]}"; do [ "${RC[$k]}" = 0 ] || fail=1; done
exit $fail
