#!/usr/bin/env bash
# A shorter fine-tune: does the mapping matter when the fine-tune has less time to repair it?
# The study's within-layer and max-precise comparisons, fine-tuned FT_EPOCHS epochs of
# FT_LIMIT images (default 1 × 20,000) instead of 4 × 20,000, into short/ft<E>x<N>/:
#   b<B>              the warm start (--sensitivity taylor: Taylor-valued knapsack counts, the most sensitive
#                     channels on digital; no α search, like no-search.sh)
#   random-b<B>       its counts, channels at random (train --mapping random:<run dir>)
#   least-b<B>        its counts, the LEAST sensitive channels on digital (within-layer.mjs)
#   max-precise-b<B>  the most digital channels that fit (cost model only), channels at random
#   measured-b<B>     the warm start with --sensitivity measured (only with MEASURED=1)
# With BASELINES=1, the rest of the front at the same length, for the hypervolume:
#   bmin-latency, random-bmin-latency  the warm start at the min-latency baseline's cost, its twin
#   min-latency                        the min-latency baseline (every seed)
#   uniform-b<B>                       the uniform heuristic (every seed and budget)
#   all:digital, all:analog, min-energy  seed 42 only, like the study's extra/
# With SEARCHED=1, the default pipeline at the same length: the warm start, then FT_EPOCHS
# epochs of α search (hard forward: it trains the deployed network) and no fine-tune:
#   searched-b<B>     (from the taylor warm start; SEARCHED=1 without CHANNEL_FISHER=1)
#   searched-cf-b<B>  (from the channel-fisher warm start; SEARCHED=1 CHANNEL_FISHER=1)
# With EXACT=1 CHANNEL_FISHER=1, the same search from the channel-fisher warm start with
# --cost-grad exact, and random channels with the searched mapping's counts, fine-tuned as
# long, at each budget and at the min-latency baseline's cost (B = min-latency):
#   searched-cf-exact-b<B>, random-searched-cf-exact-b<B>
# With FROZEN=1, the control for the exact search at the min-latency cost: the same search
# with α frozen (--lr-alpha 1e-12), so the network trains on the warm start's mapping
# through the search's own forward, multiplier and schedule:
#   frozen-cf-exact-bmin-latency
# With FEASIBLE=1, the exact-gradient search with the feasible forward (--search-forward
# feasible: the network trained is the argmax moved only as far as the budget allows) at
# FEASIBLE_BUDGETS (default: the min-latency cost), and with FEASIBLE_TWINS=1 random channels
# with its counts, fine-tuned as long:
#   feasible-cf-exact-b<B>, random-feasible-cf-exact-b<B>
# With CHANNEL_FISHER=1, the warm start with --sensitivity channel-fisher (the curvature
# score, train's default since 2026-11-25) and its own random twin, at each budget and at
# the min-latency baseline's cost:
#   cf-b<B>, random-cf-b<B>, cf-bmin-latency, random-cf-bmin-latency
# CORE=0 skips the four core points (warm start, random twin, least, max-precise) and
# runs only what the other switches ask for (e.g. channel-fisher at the study's 4 × 20,000,
# whose comparisons are no-search/, max-precise/ and the sweep).
# Resumable: run it again to continue (finished points are skipped).
set -euo pipefail
cd "$(dirname "$0")/../.."
E=experiments/cifar10-diana-resnet20-budgets
H="node dist/cli/main.js"
EP=${FT_EPOCHS:-1}
LIM=${FT_LIMIT:-20000}
OUT=$E/short/ft${EP}x$LIM
mkdir -p "$OUT"
BASE=(--platform diana --target latency --from-warmup "$E/warmup" --train-limit "$LIM")
run() { # id, then train's own arguments
  local id=$1; shift
  [[ -f $OUT/$id/metrics.json ]] && return 0
  $H train "${BASE[@]}" "$@" --out "$OUT/$id" $( [[ -d $OUT/$id ]] && echo --resume ) 2>&1 | tee -a "$OUT/log.txt"
}
point() { local id=$1; shift; run "$id" --epochs-search 0 --epochs-finetune "$EP" "$@"; }
for seed in ${SEEDS:-42 43 44}; do
  for budget in ${BUDGETS:-0.45 0.6 0.8}; do
    if [[ ${CORE:-1} == 1 ]]; then
      point "b$budget-s$seed" --budget "$budget" --sensitivity taylor --seed "$seed"
      point "random-b$budget-s$seed" --mapping "random:$OUT/b$budget-s$seed" --seed "$seed"
      least="$OUT/least-b$budget-s$seed.json"
      [[ -f $least ]] || node $E/within-layer.mjs "$OUT/b$budget-s$seed/mapping.json" "$OUT/b$budget-s$seed/sensitivity.json" "$least" | tee -a "$OUT/log.txt"
      point "least-b$budget-s$seed" --mapping "$least" --seed "$seed"
      point "max-precise-b$budget-s$seed" --mapping max-precise --budget "$budget" --seed "$seed"
    fi
    if [[ ${MEASURED:-0} == 1 ]]; then point "measured-b$budget-s$seed" --budget "$budget" --sensitivity measured --seed "$seed"; fi
    if [[ ${BASELINES:-0} == 1 ]]; then point "uniform-b$budget-s$seed" --mapping uniform --budget "$budget" --seed "$seed"; fi
    if [[ ${CHANNEL_FISHER:-0} == 1 ]]; then
      point "cf-b$budget-s$seed" --budget "$budget" --sensitivity channel-fisher --seed "$seed"
      point "random-cf-b$budget-s$seed" --mapping "random:$OUT/cf-b$budget-s$seed" --seed "$seed"
    fi
    if [[ ${SEARCHED:-0} == 1 && ${CHANNEL_FISHER:-0} != 1 ]]; then run "searched-b$budget-s$seed" --epochs-search "$EP" --epochs-finetune 0 --budget "$budget" --sensitivity taylor --seed "$seed"; fi
    if [[ ${SEARCHED:-0} == 1 && ${CHANNEL_FISHER:-0} == 1 ]]; then
      run "searched-cf-b$budget-s$seed" --epochs-search "$EP" --epochs-finetune 0 --budget "$budget" --sensitivity channel-fisher --seed "$seed"
    fi
    if [[ ${CHANNEL_FISHER:-0} == 1 && ${EXACT:-0} == 1 ]]; then
      run "searched-cf-exact-b$budget-s$seed" --epochs-search "$EP" --epochs-finetune 0 --budget "$budget" --sensitivity channel-fisher --cost-grad exact --seed "$seed"
      point "random-searched-cf-exact-b$budget-s$seed" --mapping "random:$OUT/searched-cf-exact-b$budget-s$seed" --seed "$seed"
    fi
  done
  if [[ ${CHANNEL_FISHER:-0} == 1 ]]; then
    point "cf-bmin-latency-s$seed" --budget min-latency --sensitivity channel-fisher --seed "$seed"
    point "random-cf-bmin-latency-s$seed" --mapping "random:$OUT/cf-bmin-latency-s$seed" --seed "$seed"
  fi
  if [[ ${CHANNEL_FISHER:-0} == 1 && ${EXACT:-0} == 1 ]]; then
    run "searched-cf-exact-bmin-latency-s$seed" --epochs-search "$EP" --epochs-finetune 0 --budget min-latency --sensitivity channel-fisher --cost-grad exact --seed "$seed"
    point "random-searched-cf-exact-bmin-latency-s$seed" --mapping "random:$OUT/searched-cf-exact-bmin-latency-s$seed" --seed "$seed"
  fi
  if [[ ${FEASIBLE:-0} == 1 ]]; then
    for budget in ${FEASIBLE_BUDGETS:-min-latency}; do
      run "feasible-cf-exact-b$budget-s$seed" --epochs-search "$EP" --epochs-finetune 0 --budget "$budget" --sensitivity channel-fisher --cost-grad exact --search-forward feasible --seed "$seed"
      if [[ ${FEASIBLE_TWINS:-0} == 1 ]]; then point "random-feasible-cf-exact-b$budget-s$seed" --mapping "random:$OUT/feasible-cf-exact-b$budget-s$seed" --seed "$seed"; fi
    done
  fi
  if [[ ${FROZEN:-0} == 1 ]]; then
    run "frozen-cf-exact-bmin-latency-s$seed" --epochs-search "$EP" --epochs-finetune 0 --budget min-latency --sensitivity channel-fisher --cost-grad exact --lr-alpha 1e-12 --seed "$seed"
  fi
  if [[ ${BASELINES:-0} == 1 ]]; then
    point "bmin-latency-s$seed" --budget min-latency --sensitivity taylor --seed "$seed"
    point "random-bmin-latency-s$seed" --mapping "random:$OUT/bmin-latency-s$seed" --seed "$seed"
    point "min-latency-s$seed" --mapping min-latency --seed "$seed"
    if [[ $seed == 42 ]]; then
      for m in all:digital all:analog min-energy; do point "${m/:/-}-s$seed" --mapping "$m" --seed "$seed"; done
    fi
  fi
done
