#!/usr/bin/env bash
# The uniform heuristic of the budget study: the same fraction of every split layer's
# channels on the digital CU (the largest that fits the budget; hw/budget.ts uniformCounts),
# channels at random, fine-tuned 4 epochs of 20,000 images like every baseline. Against the
# random twins (the searched per-layer counts, channels at random) it measures what the
# searched counts are worth. Resumable: run it again to continue.
set -euo pipefail
cd "$(dirname "$0")/../.."
E=experiments/cifar10-diana-resnet20-budgets
H="node dist/cli/main.js"
OUT=$E/uniform
mkdir -p "$OUT"
for seed in ${SEEDS:-42 43}; do
  for budget in ${BUDGETS:-0.6 0.8}; do
    id="uniform-b$budget-s$seed"
    [[ -f $OUT/$id/metrics.json ]] && continue
    $H train --platform diana --target latency --from-warmup "$E/warmup" --epochs-search 0 --epochs-finetune 4 \
      --train-limit 20000 --mapping uniform --budget "$budget" --seed "$seed" --out "$OUT/$id" \
      $( [[ -d $OUT/$id ]] && echo --resume ) 2>&1 | tee -a "$OUT/log.txt"
  done
done
