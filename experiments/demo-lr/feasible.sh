#!/usr/bin/env bash
# The feasible forward at the demo's length: the demo's pipeline (taylor warm start, 1 epoch
# of α search + 1 of fine-tune, 1,280 images, batch 64, peak lr 1e-4; the 1,017 genuine test
# records) at its four budgets with --search-forward feasible (the search trains the argmax
# mapping moved only as far as the budget allows, search/feasible.ts), seeds 42-44, into
# points/feasible-b<B>-s<seed>; the argmax forward is score.sh's score-taylor-* points.
# With COST_GRAD=exact, the same with --cost-grad exact, into points/feasible-exact-b<B>-s<seed>.
# ~20 s a point on 2 cores. Resumable. Then: node experiments/demo-lr/analyze.mjs
set -euo pipefail
cd "$(dirname "$0")/../.."
source experiments/demo-lr/common.sh
DEMO=("${DEMO_LR[@]}")
G=${COST_GRAD:-soft}
tag=feasible; [[ $G == exact ]] && tag=feasible-exact
for s in ${SEEDS:-42 43 44}; do
  for b in min-latency 0.4 0.6 0.8; do
    point "$tag-b$b-s$s" --budget "$b" --sensitivity taylor --search-forward feasible --cost-grad "$G" --epochs-search 1 --epochs-finetune 1 --seed "$s"
  done
done
