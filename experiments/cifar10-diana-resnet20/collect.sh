#!/usr/bin/env bash
# Copies the small result files of the two runs here (never checkpoints).
set -euo pipefail
cd "$(dirname "$0")"
for r in diana-resnet20-latency-l0.5 diana-resnet20-latency-l2; do
  src=../../runs/$r
  [[ -d $src ]] || continue
  mkdir -p "$r"
  for f in config.json log.jsonl warmup-metrics.json mapping.json metrics.json; do
    [[ -f $src/$f ]] && cp "$src/$f" "$r/$f"
  done
done
ls -R .
