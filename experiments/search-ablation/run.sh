#!/usr/bin/env bash
# Each change of issue 13 measured on its own, at a small budget: DIANA ResNet20 from the
# imported reference warm-up, latency budget 0.6 x all:digital, 1 search + 1 fine-tune
# epoch of 5,000 images (2,000 validation images), seed 42. One run per variant, each
# differing from the default in one flag. Indicative only (one seed, 10k images).
set -euo pipefail
cd "$(dirname "$0")/../.."
E=experiments/search-ablation
H="node dist/cli/main.js"
if [[ ! -f $E/warmup/warmup.bin ]]; then rm -rf "$E/warmup"; $H import ../shared/models/resnet20-odimo-fp.onnx --out "$E/warmup" --no-eval; fi
COMMON=(--platform diana --from-warmup "$E/warmup" --sensitivity taylor --budget 0.6 --target latency --epochs-search 1 --epochs-finetune 1
  --train-limit 5000 --val-size 2000 --lagrange-lr 0.05)   # the default when this was measured (now 0.5, from the last variant)
run() { # name, extra flags...
  local name=$1; shift
  local dir=$E/runs/$name
  if [[ -f $dir/metrics.json ]]; then echo "$name: done"; return; fi
  rm -rf "$dir"
  $H train "${COMMON[@]}" "$@" --out "$dir" > "$E/runs/$name.log" 2>&1 || echo "$name: failed (see $E/runs/$name.log)"
}
mkdir -p "$E/runs"
run default
run soft --relaxation soft
run even-start --warm-start even        # the even split with the warm start's logit gap; even-start-gap0.02 (kept) used 0.02 and collapsed
run no-calibrate --no-calibrate
run distill --distill 0.5
run ternary-pass --ternary-grad pass
run lr3e-4 --lr-weights 3e-4 --lr-finetune 3e-4
run lagrange-lr0.5 --lagrange-lr 0.5
node -e '
const fs = require("fs"), path = require("path");
const dir = process.argv[1];
const rows = fs.readdirSync(dir).filter((d) => fs.existsSync(path.join(dir, d, "metrics.json"))).map((d) => {
  const m = JSON.parse(fs.readFileSync(path.join(dir, d, "metrics.json"), "utf8"));
  const st = JSON.parse(fs.readFileSync(path.join(dir, d, "state.json"), "utf8"));
  const log = fs.readFileSync(path.join(dir, d, "log.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  const s = log.filter((r) => r.phase === "search").at(-1);
  return { variant: d, testAccuracy: m.testAccuracy, genuineTestAccuracy: m.genuineTestAccuracy, latencyCycles: m.latencyCycles, budget: m.budget,
    searchValAccuracy: s?.valAccuracy ?? null, searchDiscreteValAccuracy: s?.discreteValAccuracy ?? null,
    projection: st.projection ?? null, seconds: log.reduce((a, r) => a + r.seconds, 0) };
});
fs.writeFileSync(path.join(dir, "..", "results.json"), JSON.stringify(rows, null, 2) + "\n");
for (const r of rows) console.log(r.variant.padEnd(14), (100 * r.testAccuracy).toFixed(2), (100 * r.genuineTestAccuracy).toFixed(2), r.latencyCycles.toFixed(0), (r.latencyCycles / r.budget).toFixed(4));
' "$E/runs"
