#!/usr/bin/env bash
# The warm start's sensitivity score at the demo's length: the demo's pipeline (1 epoch of
# α search + 1 of fine-tune, 1,280 images, batch 64, peak lr 1e-4; 500 validation images,
# the 1,017 genuine test records) at its four budgets, with --sensitivity taylor and with
# channel-fisher (train's default since 2026-11-25), and the max-precise heuristic fine-tuned
# as long, seeds 42-44, into points/score-<score>-b<B>-s<seed>. ~15 s a point on 2 cores.
# SEEDS and SCORES (e.g. SCORES=taylor) pick a subset.
# Resumable: finished points are skipped. Then: node experiments/demo-lr/analyze.mjs
set -euo pipefail
cd "$(dirname "$0")/../.."
source experiments/demo-lr/common.sh
DEMO=("${DEMO_LR[@]}")
for s in ${SEEDS:-42 43 44}; do
  for b in min-latency 0.4 0.6 0.8; do
    for score in ${SCORES:-taylor channel-fisher}; do
      point "score-$score-b$b-s$s" --budget "$b" --sensitivity "$score" --epochs-search 1 --epochs-finetune 1 --seed "$s"
    done
    point "score-max-precise-b$b-s$s" --mapping max-precise --budget "$b" --epochs-search 0 --epochs-finetune 2 --seed "$s"
  done
done
