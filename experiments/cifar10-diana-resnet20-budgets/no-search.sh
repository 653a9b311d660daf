#!/usr/bin/env bash
# Ablation 2 of the budget study: the warm start alone, no α search. Each budget's starting
# mapping (per-layer counts from the exact knapsack, channels ranked by the Taylor
# sensitivity: what every searched point starts from) fine-tuned 4 epochs of 20,000 images,
# like every baseline (--epochs-search 0 --epochs-finetune 4 --budget B). Against the
# searched points it measures what the α search adds beyond its warm start.
# Resumable: run it again to continue.
set -euo pipefail
cd "$(dirname "$0")/../.."
E=experiments/cifar10-diana-resnet20-budgets
H="node dist/cli/main.js"
OUT=$E/no-search
mkdir -p "$OUT"
for seed in ${SEEDS:-42 43 44}; do
  for budget in ${BUDGETS:-0.45 0.6 0.8}; do
    id="b$budget-s$seed"
    [[ -f $OUT/$id/metrics.json ]] && continue
    $H train --platform diana --target latency --from-warmup "$E/warmup" --sensitivity taylor --epochs-search 0 --epochs-finetune 4 \
      --train-limit 20000 --budget "$budget" --seed "$seed" --out "$OUT/$id" \
      $( [[ -d $OUT/$id ]] && echo --resume ) 2>&1 | tee -a "$OUT/log.txt"
  done
done
