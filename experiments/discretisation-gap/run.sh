#!/usr/bin/env bash
# Soft-to-hard gap of a short search vs the temperature schedule: DIANA ResNet8, 10k
# training images, one float warm-up, 4 search epochs with the reference's decay (T ends
# at 0.87) and with decay 1.0 (T ends at 0.05), 1 fine-tune epoch each. Resumable.
# Each search epoch logs valAccuracy (soft θ) and discreteValAccuracy (argmax α).
set -euo pipefail
cd "$(dirname "$0")/../.."
H="node dist/cli/main.js"
COMMON=(--platform diana --model resnet8 --target latency --lambda 0.5 --train-limit 10000
  --epochs-warmup 6 --epochs-search 4 --epochs-finetune 1 "$@")

train() { # dir, extra flags...
  local dir=$1; shift
  if [[ -f $dir/metrics.json ]]; then echo "$dir: done"; return; fi
  local resume=(); [[ -f $dir/state.json ]] && resume=(--resume)
  $H train "${COMMON[@]}" "$@" --out "$dir" "${resume[@]}"
}

train runs/gap-decay0.045 --temperature-decay 0.045
train runs/gap-decay1 --temperature-decay 1 --from-warmup runs/gap-decay0.045
mkdir -p experiments/discretisation-gap/results
for r in gap-decay0.045 gap-decay1; do
  for f in config.json log.jsonl metrics.json mapping.json; do cp "runs/$r/$f" "experiments/discretisation-gap/results/$r.$f"; done
done
