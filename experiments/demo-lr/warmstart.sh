#!/usr/bin/env bash
# Option (b) of issue 13's open decision at the demo's length: the warm start on each budget
# (taylor ranking, calibration) fine-tuned 2 epochs with no α search (train --epochs-search 0
# --epochs-finetune 2: as many steps as the demo's search + fine-tune), at the demo's four
# budgets, seeds 42-49 (SEEDS), into points/warmstart-b<B>-lr1e-4-s<seed> (run.sh made the
# 0.4 ones of seeds 42-44). ~30 s a point on 2 cores. Resumable. Then: node experiments/demo-lr/analyze.mjs
set -euo pipefail
cd "$(dirname "$0")/../.."
source experiments/demo-lr/common.sh
DEMO=("${DEMO_LR[@]}")
for s in ${SEEDS:-42 43 44 45 46 47 48 49}; do
  for b in min-latency 0.4 0.6 0.8; do
    point "warmstart-b$b-lr1e-4-s$s" --budget "$b" --sensitivity taylor --epochs-search 0 --epochs-finetune 2 --seed "$s"
  done
done
