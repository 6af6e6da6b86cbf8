#!/bin/sh
# Runs the trainer alone, or under torchrun when the pod asks for more than one process:
#   NNODES (Indexed Job parallelism), NPROC_PER_NODE (GPUs per node), RDZV_ENDPOINT (host:port of
#   the headless Service), RDZV_ID (the Job's name). Arguments go to the trainer.
set -eu
nnodes="${NNODES:-1}"
nproc="${NPROC_PER_NODE:-1}"
if [ "$nnodes" -gt 1 ] || [ "$nproc" -gt 1 ]; then
    exec torchrun \
        --nnodes "$nnodes" \
        --nproc-per-node "$nproc" \
        --rdzv-backend c10d \
        --rdzv-endpoint "${RDZV_ENDPOINT:?RDZV_ENDPOINT must name the rendezvous host:port}" \
        --rdzv-id "${RDZV_ID:-ascent-training}" \
        -m workloads.training "$@"
fi
exec python -m workloads.training "$@"
