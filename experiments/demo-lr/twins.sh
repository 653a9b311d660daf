#!/usr/bin/env bash
# Issue 13's criterion 4 at the demo's length: each of the demo pipeline's searched points
# (feasible.sh with COST_GRAD=exact, points/feasible-exact-b<B>-s<seed>) against a random
# twin, a network with the searched mapping's per-layer counts and its channels drawn at
# random (train --mapping random:<searched run>), fine-tuned as the demo's baselines are
# (2 epochs of 1,280 images, batch 64, peak lr 1e-4: as many steps as search + fine-tune),
# into points/twin-feasible-exact-b<B>-s<seed>; and the min-latency baseline on the seeds
# run.sh did not run (points/min-latency-lr1e-4-s<seed>). Seeds 42-49 (SEEDS), ~20 s a
# point on 2 cores. Resumable. Needs feasible.sh's points. Then: node experiments/demo-lr/analyze.mjs
set -euo pipefail
cd "$(dirname "$0")/../.."
source experiments/demo-lr/common.sh
DEMO=("${DEMO_LR[@]}")
for s in ${SEEDS:-42 43 44 45 46 47 48 49}; do
  for b in min-latency 0.4 0.6 0.8; do
    src=$E/points/feasible-exact-b$b-s$s
    [[ -f $src/metrics.json ]] || { echo "$src: not finished (run COST_GRAD=exact SEEDS=$s experiments/demo-lr/feasible.sh first)" >&2; exit 2; }
    point "twin-feasible-exact-b$b-s$s" --mapping "random:$src" --epochs-search 0 --epochs-finetune 2 --seed "$s"
  done
  point "min-latency-lr1e-4-s$s" --mapping min-latency --epochs-search 0 --epochs-finetune 2 --seed "$s"
done
