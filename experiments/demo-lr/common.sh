# Sourced by run.sh, score.sh and cost-grad.sh (from the repository root): the demo's warm-up, imported
# once, and point NAME ARGS…, which trains one point with the caller's DEMO array and ARGS
# into points/NAME (skipped when finished; its log in points/NAME.log).
E=experiments/demo-lr
H="node dist/cli/main.js"
WARM=$E/warmup
[[ -f $WARM/warmup.bin ]] || { rm -rf "$WARM"; $H import assets/models/resnet20-odimo-fp.onnx --out "$WARM"; }
mkdir -p "$E/points"
# The demo's settings at its lr (1e-4): score.sh and cost-grad.sh (run.sh varies the lr).
DEMO_LR=(--platform diana --target latency --from-warmup "$WARM" --train-limit 1280 --test-limit 1017 --val-size 500 --batch 64 --lr-weights 1e-4 --lr-finetune 1e-4)
point() { # name, then train's arguments
  local name=$1; shift
  [[ -f $E/points/$name/metrics.json ]] && return 0
  rm -rf "$E/points/$name"
  $H train "${DEMO[@]}" --out "$E/points/$name" "$@" > "$E/points/$name.log" 2>&1
  echo "$name done"
}
