#!/usr/bin/env bash
# The GPU numbers of issue 3 in one run, for a machine with one CUDA GPU, torch and transformers (no
# install: the benchmarks import only those and this checkout). Writes the JSON results and the log to
# $OUT (default bench/results/gpu-run). About 3 minutes on an H100/H200: each compiled variant warms up
# for under a minute.
#
#   bash bench/gpu_check.sh            # graph sampler, reward scoring with and without prefix sharing
#   HF_GENERATE=1 bash bench/gpu_check.sh   # also time plain and static-cache generate() (slower)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-bench/results/gpu-run}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
python -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)" \
    | tee -a "$OUT/gpu.txt"
extra=()
[[ "${HF_GENERATE:-0}" == 1 ]] || extra+=(--no-hf-generate)
python bench/bon_latency.py --device cuda --repeats 10 "${extra[@]}" --json "$OUT/bon_latency.json" 2>&1 \
    | tee "$OUT/bon_latency.log"
