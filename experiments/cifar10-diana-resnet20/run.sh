#!/usr/bin/env bash
# The full-data DIANA ResNet20 search of issue 4, two λ from one warm-up. Resumable:
# run it again after an interruption and each run continues from its last checkpoint.
# Runs go to runs/ (checkpoints are large); results are copied here by collect.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
H="node dist/cli/main.js"
COMMON=(--platform diana --model resnet20 --target latency --epochs-warmup 15 --epochs-search 5 --epochs-finetune 3)

train() { # dir, extra flags...
  local dir=$1; shift
  if [[ -f $dir/metrics.json ]]; then echo "$dir: done"; return; fi
  local resume=(); [[ -f $dir/state.json ]] && resume=(--resume)
  $H train "${COMMON[@]}" "$@" --out "$dir" "${resume[@]}"
}

train runs/diana-resnet20-latency-l0.5 --lambda 0.5
train runs/diana-resnet20-latency-l2 --lambda 2 --from-warmup runs/diana-resnet20-latency-l0.5
