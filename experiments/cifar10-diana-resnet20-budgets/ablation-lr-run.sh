#!/usr/bin/env bash
# Ablation 1 of the budget study: the searched points with ONE lr schedule over search +
# fine-tune (--lr-schedule run) instead of one per phase, everything else as in run.sh.
# Budgets: the min-latency cost (where searched, random twin and min-latency are the same
# network) and 0.45 x all:digital; seeds 42 and 43. Resumable: run it again to continue.
set -euo pipefail
cd "$(dirname "$0")/../.."
E=experiments/cifar10-diana-resnet20-budgets
H="node dist/cli/main.js"
OUT=$E/ablation-lr-run
mkdir -p "$OUT"
for seed in ${SEEDS:-42 43}; do
  for budget in ${BUDGETS:-min-latency 0.45}; do
    id="b$budget-s$seed"
    [[ -f $OUT/$id/metrics.json ]] && continue
    $H train --platform diana --target latency --from-warmup "$E/warmup" --sensitivity taylor --epochs-search 2 --epochs-finetune 2 \
      --train-limit 20000 --budget "$budget" --seed "$seed" --lr-schedule run --out "$OUT/$id" \
      $( [[ -d $OUT/$id ]] && echo --resume ) 2>&1 | tee -a "$OUT/log.txt"
  done
done
