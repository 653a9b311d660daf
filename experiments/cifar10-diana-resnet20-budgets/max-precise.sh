#!/usr/bin/env bash
# The max-precise heuristic of the budget study: the per-layer counts that put the most
# channels on the digital CU within the budget (the exact knapsack with no accuracy
# information; hw/budget.ts maxPreciseCounts), channels at random, fine-tuned 4 epochs of
# 20,000 images like every baseline. Against the random twins (the sensitivity-valued
# knapsack's counts, channels at random) it measures what the sensitivity adds to the
# counts beyond the cost model. Resumable: run it again to continue.
set -euo pipefail
cd "$(dirname "$0")/../.."
E=experiments/cifar10-diana-resnet20-budgets
H="node dist/cli/main.js"
OUT=$E/max-precise
mkdir -p "$OUT"
for seed in ${SEEDS:-42 43 44}; do
  for budget in ${BUDGETS:-0.45 0.6 0.8}; do
    id="max-precise-b$budget-s$seed"
    [[ -f $OUT/$id/metrics.json ]] && continue
    $H train --platform diana --target latency --from-warmup "$E/warmup" --epochs-search 0 --epochs-finetune 4 \
      --train-limit 20000 --mapping max-precise --budget "$budget" --seed "$seed" --out "$OUT/$id" \
      $( [[ -d $OUT/$id ]] && echo --resume ) 2>&1 | tee -a "$OUT/log.txt"
  done
done
