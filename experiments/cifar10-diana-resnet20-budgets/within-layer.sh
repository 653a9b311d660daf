#!/usr/bin/env bash
# Within-layer choice, adversarial: each warm start's per-layer counts (no-search/, ablation
# 2) with the LEAST Taylor-sensitive channels on the digital CU, fine-tuned 4 epochs of
# 20,000 images like every baseline (train --mapping <file>.json). Against the warm start
# (the most sensitive on digital) and the random twins, it bounds what any within-layer
# channel choice can change after the fine-tune. Resumable: run it again to continue.
set -euo pipefail
cd "$(dirname "$0")/../.."
E=experiments/cifar10-diana-resnet20-budgets
H="node dist/cli/main.js"
OUT=$E/within-layer
mkdir -p "$OUT"
for seed in ${SEEDS:-42 43 44}; do
  # The warm start's scores for this seed (they do not depend on the budget): no training.
  sens="$OUT/sens-s$seed"
  [[ -f $sens/sensitivity.json ]] || $H train --platform diana --target latency --from-warmup "$E/warmup" --epochs-search 0 \
    --epochs-finetune 0 --train-limit 20000 --budget 0.45 --seed "$seed" --out "$sens" 2>&1 | tee -a "$OUT/log.txt"
  for budget in ${BUDGETS:-0.45 0.6 min-latency 0.8}; do
    id="least-b$budget-s$seed"
    [[ -f $OUT/$id/metrics.json ]] && continue
    src="$E/no-search/b$budget-s$seed/mapping.json"
    [[ -f $src ]] || { echo "skip $id: $src missing (run no-search.sh)"; continue; }
    [[ -f $OUT/$id.json ]] || node $E/within-layer.mjs "$src" "$sens/sensitivity.json" "$OUT/$id.json" | tee -a "$OUT/log.txt"
    $H train --platform diana --target latency --from-warmup "$E/warmup" --epochs-search 0 --epochs-finetune 4 \
      --train-limit 20000 --mapping "$OUT/$id.json" --seed "$seed" --out "$OUT/$id" \
      $( [[ -d $OUT/$id ]] && echo --resume ) 2>&1 | tee -a "$OUT/log.txt"
  done
done
