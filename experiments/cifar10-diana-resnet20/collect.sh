#!/usr/bin/env bash
# Copies the small result files of the two runs here (never checkpoints), then draws
# the accuracy-latency front of the finished runs into front/.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=experiments/cifar10-diana-resnet20
finished=()
for r in diana-resnet20-latency-l0.5 diana-resnet20-latency-l2; do
  src=runs/$r
  [[ -d $src ]] || continue
  mkdir -p "$here/$r"
  for f in config.json log.jsonl warmup-metrics.json mapping.json metrics.json; do
    if [[ -f $src/$f ]]; then cp "$src/$f" "$here/$r/$f"; fi
  done
  if [[ -f $src/metrics.json ]]; then finished+=("$src"); fi
done
if (( ${#finished[@]} > 0 )); then
  node dist/cli/main.js pareto "${finished[@]}" --objective latency --out "$here/front"
fi
ls -R "$here"
