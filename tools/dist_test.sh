#!/usr/bin/env bash
# Test a checkpoint on GPUS GPUs (torchrun, mmengine's pytorch launcher):
#   bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [options of mmdet's test.py]
# The same as
#   mim test mmdet CONFIG --checkpoint CHECKPOINT --launcher pytorch --gpus GPUS
set -euo pipefail
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
shift 3
TOOLS=$(python -c 'import mmdet, os.path as p; print(p.join(p.dirname(mmdet.__file__), ".mim", "tools"))')
export PYTHONPATH="$(dirname "$0")/..${PYTHONPATH:+:$PYTHONPATH}"
exec torchrun \
    --nnodes="${NNODES:-1}" \
    --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --master_port="${PORT:-29500}" \
    --nproc_per_node="$GPUS" \
    "$TOOLS/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "$@"
