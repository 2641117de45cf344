#!/usr/bin/env bash
# Install the OpenMMLab stack and this package into a virtual environment.
#
#   bash tools/install.sh [VENV]        (default VENV: .venv; `make install`)
#
# mmcv 2.1.0 has no wheels for recent torch, so it is compiled from source
# with its ops (CPU kernels, plus CUDA kernels where nvcc and a CUDA torch
# exist). The wheel is cached under $MMDET_OHEM_CACHE (default
# ~/.cache/mmdet_ohem), keyed by torch build, so only the first install pays
# for the build (~14 min on 2 cores).
set -euo pipefail

VENV=${1:-.venv}
TORCH_VERSION=2.13.0
MMCV_VERSION=2.1.0
MMENGINE_VERSION=0.10.7
MMDET_VERSION=3.3.0
OPENMIM_VERSION=0.3.9
OPENCV_VERSION=5.0.0.93
CACHE=${MMDET_OHEM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmdet_ohem}

log() { echo "[install] $*"; }

[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
PY="$VENV/bin/python"
pip() { "$PY" -m pip --disable-pip-version-check "$@"; }

log "torch $TORCH_VERSION"
pip install -q wheel ninja psutil "torch==$TORCH_VERSION"

TORCH_BUILD=$("$PY" -c 'import torch; print(torch.__version__)')
WHEELS="$CACHE/wheels/torch-$TORCH_BUILD"
if ! "$PY" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV_VERSION'" 2>/dev/null; then
    if ! ls "$WHEELS"/mmcv-"$MMCV_VERSION"-*.whl >/dev/null 2>&1; then
        log "building mmcv $MMCV_VERSION with ops for torch $TORCH_BUILD" \
            "(once; ~14 min on 2 cores) into $WHEELS"
        mkdir -p "$WHEELS"
        # mmcv's setup.py needs pkg_resources, which setuptools>=70 dropped;
        # torch asks for a newer one but needs it only to build extensions.
        pip install -q 'setuptools<70'
        BUILD=$(mktemp -d)
        # --no-cache-dir: our cache above is the only one, so a missing
        # wheel really rebuilds for this torch.
        MAX_JOBS=${MAX_JOBS:-$(nproc)} pip wheel -q --no-deps --no-cache-dir \
            --no-build-isolation -w "$BUILD" "mmcv==$MMCV_VERSION"
        mv "$BUILD"/mmcv-*.whl "$WHEELS"/  # whole wheels only
        rm -rf "$BUILD"
    fi
    log "mmcv $MMCV_VERSION from $WHEELS"
    pip install -q --no-deps "$WHEELS"/mmcv-"$MMCV_VERSION"-*.whl
fi

log "mmengine, mmdet and tools"
pip install -q "mmengine==$MMENGINE_VERSION" "mmdet==$MMDET_VERSION" \
    pycocotools scipy matplotlib "opencv-python==$OPENCV_VERSION" \
    pytest flake8 isort yapf
# Selective Search (cv2.ximgproc) is in OpenCV's contrib build. It shares
# the cv2 folder with opencv-python (which mmcv needs), so the two stay at
# one version and contrib's files must be the ones left in place.
if ! "$PY" -c 'import cv2; cv2.ximgproc' 2>/dev/null; then
    pip install -q --no-deps --force-reinstall \
        "opencv-contrib-python-headless==$OPENCV_VERSION"
fi
# openmim pulls openxlab, which downgrades setuptools and requests; pip
# then reports that torch asks for setuptools>=77, which only its extension
# builder uses: everything here works.
pip install -q "openmim==$OPENMIM_VERSION"
pip install -q --no-deps --no-build-isolation -e .
"$PY" -c 'import mmdet_ohem; print("[install] mmdet_ohem", mmdet_ohem.__version__)'
