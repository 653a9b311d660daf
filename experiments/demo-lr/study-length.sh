#!/usr/bin/env bash
# Does the demo's lr (1e-4) also suit the budget study's length? The study's warm start at
# 0.45 x all:digital, fine-tuned 4 epochs of 20,000 images with no α search (as
# experiments/cifar10-diana-resnet20-budgets/no-search.sh, which ran it at train's 1e-3),
# at peak lr 1e-4 and 3e-4, seed 42. ~3.5 min a point on 2 cores. Resumable.
set -euo pipefail
cd "$(dirname "$0")/../.."
E=experiments/demo-lr
S=experiments/cifar10-diana-resnet20-budgets
H="node dist/cli/main.js"
[[ -f $S/warmup/warmup.bin ]] || { rm -rf "$S/warmup"; $H import ../shared/models/resnet20-odimo-fp.onnx --out "$S/warmup"; }
mkdir -p "$E/study-length"
for lr in ${LRS:-1e-4 3e-4}; do
  id="warmstart-b0.45-lr$lr-s42"
  [[ -f $E/study-length/$id/metrics.json ]] && continue
  rm -rf "$E/study-length/$id"
  $H train --platform diana --target latency --from-warmup "$S/warmup" --sensitivity taylor --epochs-search 0 --epochs-finetune 4 \
    --train-limit 20000 --budget 0.45 --seed 42 --lr-finetune "$lr" --out "$E/study-length/$id" > "$E/study-length/$id.log" 2>&1
  grep -h "test accuracy" "$E/study-length/$id.log"
done
