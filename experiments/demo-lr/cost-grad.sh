#!/usr/bin/env bash
# The search's cost gradient at the demo's length: the demo's pipeline (taylor warm start,
# 1 epoch of α search + 1 of fine-tune, 1,280 images, batch 64, peak lr 1e-4; the 1,017
# genuine test records) at its four budgets with --cost-grad exact (per channel, the exact
# cost of moving it alone, search/exact_cost.ts), seeds 42-44, into
# points/exact-b<B>-s<seed>; the soft cost's gradient is score.sh's score-taylor-* points.
# ~15 s a point on 2 cores. Resumable. Then: node experiments/demo-lr/analyze.mjs
set -euo pipefail
cd "$(dirname "$0")/../.."
source experiments/demo-lr/common.sh
DEMO=("${DEMO_LR[@]}")
for s in ${SEEDS:-42 43 44}; do
  for b in min-latency 0.4 0.6 0.8; do
    point "exact-b$b-s$s" --budget "$b" --sensitivity taylor --cost-grad exact --epochs-search 1 --epochs-finetune 1 --seed "$s"
  done
done
