#!/usr/bin/env bash
# The demo's learning rate (hetsplit demo --lr). The demo trains each point 1 + 1 epochs of
# 1,280 images, batch 64: 20 steps a phase. This runs the demo's points with the train
# default peak lr (1e-3) and with 1e-4, seeds 42-44, and the same points without the α
# search (the warm start fine-tuned 2 epochs) and with a short α travel, on the demo's data
# (500 validation images, the 1,017 genuine test records), and the all:digital, all:analog and
# min-latency baselines at both lrs. ~15-25 s a point on 2 cores.
# Resumable: finished points are skipped. Then: node experiments/demo-lr/analyze.mjs
set -euo pipefail
cd "$(dirname "$0")/../.."
source experiments/demo-lr/common.sh
DEMO=(--platform diana --target latency --from-warmup "$WARM" --sensitivity taylor --train-limit 1280 --test-limit 1017 --val-size 500 --batch 64)
for s in ${SEEDS:-42 43 44}; do
  for lr in 1e-3 1e-4; do
    LR=(--lr-weights "$lr" --lr-finetune "$lr")
    for b in min-latency 0.4; do point "search-b$b-lr$lr-s$s" --budget "$b" --epochs-search 1 --epochs-finetune 1 "${LR[@]}" --seed "$s"; done
    point "warmstart-b0.4-lr$lr-s$s" --budget 0.4 --epochs-search 0 --epochs-finetune 2 "${LR[@]}" --seed "$s"
    for m in min-latency all:analog all:digital; do point "${m/:/-}-lr$lr-s$s" --mapping "$m" --epochs-search 0 --epochs-finetune 2 "${LR[@]}" --seed "$s"; done
  done
  for b in min-latency 0.4; do
    point "search-b$b-lr1e-4-travel0.5-s$s" --budget "$b" --epochs-search 1 --epochs-finetune 1 --lr-weights 1e-4 --lr-finetune 1e-4 --alpha-travel 0.5 --seed "$s"
  done
done
