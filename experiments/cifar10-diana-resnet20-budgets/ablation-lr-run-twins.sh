#!/usr/bin/env bash
# Random twins of ablation 1's searched points: each point's own per-layer counts with
# channels drawn at random, fine-tuned 4 epochs of 20,000 images like every baseline (a
# baseline's schedule is the same under --lr-schedule phase and run). Resumable.
set -euo pipefail
cd "$(dirname "$0")/../.."
E=experiments/cifar10-diana-resnet20-budgets
H="node dist/cli/main.js"
OUT=$E/ablation-lr-run
for seed in ${SEEDS:-42 43 44}; do
  for budget in ${BUDGETS:-0.6}; do
    src="$OUT/b$budget-s$seed" id="random-b$budget-s$seed"
    [[ -f $src/metrics.json ]] || { echo "skip $id: $src has not finished"; continue; }
    [[ -f $OUT/$id/metrics.json ]] && continue
    $H train --platform diana --target latency --from-warmup "$E/warmup" --epochs-search 0 --epochs-finetune 4 \
      --train-limit 20000 --mapping "random:$src" --seed "$seed" --out "$OUT/$id" \
      $( [[ -d $OUT/$id ]] && echo --resume ) 2>&1 | tee -a "$OUT/log-twins.txt"
  done
done
