#!/usr/bin/env bash
# Train with DDP on GPUS GPUs of this machine (torchrun, mmengine's pytorch
# launcher):
#   bash tools/dist_train.sh CONFIG GPUS [options of mmdet's tools/train.py]
#   bash tools/dist_train.sh configs/fast_rcnn_vgg16_ohem_voc.py 8 --amp
#   bash tools/dist_train.sh CONFIG 8 --work-dir DIR --resume  # after a stop
# On several machines, run it on each with NNODES, NODE_RANK (0 on the one
# at MASTER_ADDR) and the same PORT. The same as
#   mim train mmdet CONFIG --launcher pytorch --gpus GPUS [options]
set -euo pipefail
CONFIG=$1
GPUS=$2
shift 2
TOOLS=$(python -c 'import mmdet, os.path as p; print(p.join(p.dirname(mmdet.__file__), ".mim", "tools"))')
export PYTHONPATH="$(dirname "$0")/..${PYTHONPATH:+:$PYTHONPATH}"
exec torchrun \
    --nnodes="${NNODES:-1}" \
    --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --master_port="${PORT:-29500}" \
    --nproc_per_node="$GPUS" \
    "$TOOLS/train.py" "$CONFIG" --launcher pytorch "$@"
