#!/usr/bin/env bash
# Does the choice of channels within a layer matter before any training? The warm start's
# mapping on each budget (channels ranked by --sensitivity taylor | fisher | channel-fisher,
# counts from the exact knapsack), calibrated and tested with no search and no fine-tune,
# against random channels with the taylor and channel-fisher mappings' counts (seeds 42,
# 43), and against the max-precise heuristic's counts (cost model only; channels at random,
# seeds 42, 43). channel-fisher-order-b<B>: the taylor mapping's counts, channels ranked by
# channel-fisher (the within-layer order alone). ~1 min a point on 1 thread.
set -euo pipefail
cd "$(dirname "$0")/../.."
E=experiments/cifar10-diana-resnet20-budgets
H="node dist/cli/main.js"
OUT=$E/zero-shot
ZERO=(--platform diana --target latency --from-warmup "$E/warmup" --epochs-search 0 --epochs-finetune 0 --train-limit 20000)
mkdir -p "$OUT"
for b in 0.45 0.6 0.8; do
  for score in taylor fisher channel-fisher; do
    [[ -f $OUT/$score-b$b/metrics.json ]] || { rm -rf "$OUT/$score-b$b"; $H train "${ZERO[@]}" --budget "$b" --seed 42 --sensitivity "$score" --out "$OUT/$score-b$b"; }
  done
  order=$OUT/channel-fisher-order-b$b
  [[ -f $order.json ]] || node $E/within-layer.mjs "$OUT/taylor-b$b/mapping.json" "$OUT/channel-fisher-b$b/sensitivity.json" "$order.json" most
  [[ -f $order/metrics.json ]] || { rm -rf "$order"; $H train "${ZERO[@]}" --mapping "$order.json" --seed 42 --out "$order"; }
  for s in 42 43; do
    [[ -f $OUT/random-b$b-s$s/metrics.json ]] || { rm -rf "$OUT/random-b$b-s$s"; $H train "${ZERO[@]}" --mapping "random:$OUT/taylor-b$b" --seed "$s" --out "$OUT/random-b$b-s$s"; }
    [[ -f $OUT/random-cf-b$b-s$s/metrics.json ]] || { rm -rf "$OUT/random-cf-b$b-s$s"; $H train "${ZERO[@]}" --mapping "random:$OUT/channel-fisher-b$b" --seed "$s" --out "$OUT/random-cf-b$b-s$s"; }
    [[ -f $OUT/max-precise-b$b-s$s/metrics.json ]] || { rm -rf "$OUT/max-precise-b$b-s$s"; $H train "${ZERO[@]}" --mapping max-precise --budget "$b" --seed "$s" --out "$OUT/max-precise-b$b-s$s"; }
  done
done
