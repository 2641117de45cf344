#!/usr/bin/env bash
# Fill the folder that tools/gpu_check.sh carries to a GPU machine that has
# no package registry (the project's H200 device machine: Python 3.12,
# torch 2.11 + CUDA 13, no mmcv/mmengine/mmdet/pycocotools).
#
#   bash tools/gpu_bundle.sh [DEST]      (default DEST: .gpu, git-ignored)
#
# Then, on the GPU machine, from the repository root:
#   bash tools/gpu_check.sh --carry DEST --out OUT
# (An image without Python.h also needs DEST/build/python3.12-include.tgz,
# CPython 3.12's Include/ folder packed as python3.12/; this script cannot
# fetch it from a registry.)
set -euo pipefail

DEST=${1:-.gpu}
PY=${PY:-.venv/bin/python}
pip() { "$PY" -m pip --disable-pip-version-check "$@"; }
mkdir -p "$DEST/build"

# mmcv 2.1.0 exists only as source; its setup.py needs pkg_resources, so
# the download runs without build isolation (in the venv's setuptools<70).
pip download -q --no-deps --no-binary :all: --no-build-isolation \
    -d "$DEST" mmcv==2.1.0
# The runtime packages the image lacks, one version each, for cp312.
pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 \
    --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d "$DEST" \
    mmengine==0.10.7 mmdet==3.3.0 pycocotools==2.0.11 shapely==2.2.0 \
    addict==2.4.0 yapf==0.43.0 platformdirs==4.14.8 termcolor==3.3.0 \
    terminaltables==3.1.10
# For the build only: setuptools with pkg_resources.
pip download -q --no-deps --only-binary=:all: -d "$DEST/build" \
    'setuptools==69.5.1'
du -sh "$DEST"
