#!/usr/bin/env bash
# Issue 13's study: DIANA ResNet20, latency budgets, complete CIFAR-10, starting from the
# ODiMO reference's own float warm-up (../shared/models/resnet20-odimo-fp.onnx, imported).
#   budgets:   the min-latency baseline's cost, 0.45, 0.6 and 0.8 x all:digital
#   searched:  3 seeds per budget
#   baselines: min-latency (3 seeds), random channels with each searched point's counts
#              (3 seeds), all:digital, all:analog, min-energy (seed 42)
# Every point trains EPOCHS_SEARCH + EPOCHS_FINETUNE epochs of TRAIN_LIMIT images after the
# warm-up (baselines: all of them fine-tuning). Resumable: run it again after an
# interruption; finished points are skipped, interrupted ones resume from their checkpoint
# (checkpoints are not committed: a fresh checkout re-runs unfinished points from the start).
set -euo pipefail
cd "$(dirname "$0")/../.."
E=experiments/cifar10-diana-resnet20-budgets
H="node dist/cli/main.js"
TRAIN_LIMIT=${TRAIN_LIMIT:-20000}
COMMON=(--platform diana --target latency --from-warmup "$E/warmup" --sensitivity taylor --epochs-search 2 --epochs-finetune 2
  --train-limit "$TRAIN_LIMIT")
if [[ ! -f $E/warmup/warmup.bin ]]; then
  rm -rf "$E/warmup"
  $H import ../shared/models/resnet20-odimo-fp.onnx --out "$E/warmup"
fi
$H sweep "${COMMON[@]}" --budgets min-latency,0.45,0.6,0.8 --seeds 42,43,44 --baselines min-latency --random-of all \
  --out "$E/sweep" 2>&1 | tee -a "$E/sweep-main.log"
$H sweep "${COMMON[@]}" --lambdas none --baselines all:digital,all:analog,min-energy --random-of none --seeds 42 \
  --out "$E/extra" 2>&1 | tee -a "$E/sweep-extra.log"
$H pareto "$E/sweep" "$E/extra" --objective latency --out "$E"
