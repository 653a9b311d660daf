#!/usr/bin/env bash
# The warm start with the measured sensitivity (--sensitivity measured: per layer, the
# calibrated loss increase with the whole layer on the analog CU, spread over its channels
# by taylor) instead of taylor, fine-tuned 4 epochs of 20,000 images with no α search, like
# ablation 2 (no-search.sh). Against ablation 2 it measures whether a layer-level
# measurement gives the knapsack better counts. Resumable: run it again to continue.
set -euo pipefail
cd "$(dirname "$0")/../.."
E=experiments/cifar10-diana-resnet20-budgets
H="node dist/cli/main.js"
OUT=$E/measured
mkdir -p "$OUT"
for seed in ${SEEDS:-42 43 44}; do
  for budget in ${BUDGETS:-0.45 0.6}; do
    id="b$budget-s$seed"
    [[ -f $OUT/$id/metrics.json ]] && continue
    $H train --platform diana --target latency --from-warmup "$E/warmup" --epochs-search 0 --epochs-finetune 4 \
      --train-limit 20000 --budget "$budget" --sensitivity measured --seed "$seed" --out "$OUT/$id" \
      $( [[ -d $OUT/$id ]] && echo --resume ) 2>&1 | tee -a "$OUT/log.txt"
  done
done
