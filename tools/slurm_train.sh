#!/usr/bin/env bash
# Train with DDP on a Slurm cluster (srun, mmengine's slurm launcher):
#   GPUS=16 GPUS_PER_NODE=8 bash tools/slurm_train.sh PARTITION JOB_NAME \
#       CONFIG WORK_DIR [options of mmdet's tools/train.py]
# Resubmitting with --resume continues from WORK_DIR/last_checkpoint. The
# same as
#   mim train mmdet CONFIG --launcher slurm --gpus 16 --gpus-per-node 8 \
#       --partition PARTITION --work-dir WORK_DIR [options]
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
shift 4
TOOLS=$(python -c 'import mmdet, os.path as p; print(p.join(p.dirname(mmdet.__file__), ".mim", "tools"))')
export PYTHONPATH="$(dirname "$0")/..${PYTHONPATH:+:$PYTHONPATH}"
# SRUN_ARGS: extra srun options, e.g. "--quotatype=auto"
# shellcheck disable=SC2086
exec srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    --gres=gpu:"${GPUS_PER_NODE:-8}" \
    --ntasks="${GPUS:-8}" \
    --ntasks-per-node="${GPUS_PER_NODE:-8}" \
    --cpus-per-task="${CPUS_PER_TASK:-5}" \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS:-} \
    python -u "$TOOLS/train.py" "$CONFIG" --work-dir="$WORK_DIR" \
    --launcher slurm "$@"
