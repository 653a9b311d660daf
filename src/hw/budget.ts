/**
 * Exact choice of per-layer integer channel counts under a cost budget: one count vector
 * per layer, maximising a per-layer value (e.g. the learned preference of the channels it
 * keeps where they are), with the network cost (Σ layer latency, or Σ layer energy) ≤ the
 * budget: a knapsack over the layers' exact count tables.
 */
import { UserError } from '../util/errors.js';
import { bestSplit, layerCost, networkCost, type Counts, type LayerPlan, type Objective } from './cost.js';
import { byPrecision, type Platform } from './platform.js';

/** Every count vector of a layer over its eligible CUs (all on CU order; ≤ 3 eligible CUs). */
export function countOptions(p: Platform, plan: LayerPlan): number[][] {
  const C = plan.layer.cout, E = plan.eligible;
  const vec = (split: number[]) => { const c = p.cus.map(() => 0); E.forEach((i, k) => { c[i] = split[k]!; }); return c; };
  if (E.length === 1) return [vec([C])];
  if (E.length === 2) return Array.from({ length: C + 1 }, (_, a) => vec([a, C - a]));
  if (E.length === 3) {
    const out: number[][] = [];
    for (let a = 0; a <= C; a++) for (let b = 0; b <= C - a; b++) out.push(vec([a, b, C - a - b]));
    return out;
  }
  throw new UserError(`${plan.layer.name}: budgets support layers with at most 3 eligible compute units (${E.length} here)`);
}

export function costOf(p: Platform, plan: LayerPlan, counts: number[], objective: Objective): number {
  const c = layerCost(p, plan, counts);
  return objective === 'latency' ? c.latencyCycles : c.energyMJ;
}

export function networkObjective(p: Platform, plans: LayerPlan[], counts: Counts, objective: Objective): number {
  const c = networkCost(p, plans, counts);
  return objective === 'latency' ? c.cycles : c.energyMJ;
}

/**
 * The count vectors (one per layer) maximising Σ value(l, counts) with network cost ≤
 * budget, exactly: a dynamic programme over the layers whose states are the Pareto front
 * of (cost so far, value so far) — a state survives only if no cheaper state has at least
 * its value. null when even the cheapest choice exceeds the budget.
 */
export function countsUnderBudget(p: Platform, plans: LayerPlan[], objective: Objective, budget: number,
  value: (layer: number, counts: number[]) => number): Counts | null {
  const options = plans.map((plan) => countOptions(p, plan));
  // The front as parallel arrays, cost ascending and value strictly ascending; per layer,
  // each state's predecessor in the previous front and its option, for the way back.
  let front: Front = { n: 1, cost: new Float64Array([0]), value: new Float64Array([0]), prev: new Int32Array([-1]), option: new Int32Array([-1]) };
  const fronts: Front[] = [];
  plans.forEach((plan, l) => {
    const opts = options[l]!;
    const oc = opts.map((c) => costOf(p, plan, c, objective));
    const ov = opts.map((c) => value(l, c));
    // Every (state, option) pair within the budget, in the order (cost ↑, value ↓, state ↑,
    // option ↑), keeping a pair only if its value beats every pair before it: the options'
    // shifted copies of the front merged in one at a time (pruning a part first keeps the
    // same survivors), with no sort of all pairs and no object per pair.
    let next: Front = emptyFront(0);
    opts.forEach((_, k) => { next = mergePruned(next, shifted(front, oc[k]!, ov[k]!, k, budget)); });
    fronts.push(next);
    front = next;
  });
  if (front.n === 0) return null;
  // The last state of the front has the highest value.
  let i = front.n - 1;
  const out: Counts = new Array(plans.length);
  for (let l = plans.length - 1; l >= 0; l--) {
    out[l] = options[l]![fronts[l]!.option[i]!]!;
    i = fronts[l]!.prev[i]!;
  }
  return out;
}

interface Front { n: number; cost: Float64Array; value: Float64Array; prev: Int32Array; option: Int32Array }

function emptyFront(n: number): Front {
  return { n: 0, cost: new Float64Array(n), value: new Float64Array(n), prev: new Int32Array(n), option: new Int32Array(n) };
}

/** a before b in the order (cost ↑, value ↓, prev ↑, option ↑). */
function before(a: Front, i: number, b: Front, j: number): boolean {
  const ca = a.cost[i]!, cb = b.cost[j]!;
  if (ca !== cb) return ca < cb;
  const va = a.value[i]!, vb = b.value[j]!;
  if (va !== vb) return va > vb;
  const pa = a.prev[i]!, pb = b.prev[j]!;
  return pa !== pb ? pa < pb : a.option[i]! < b.option[j]!;
}

/**
 * The front's states with option k's cost and value added, those within the budget (a
 * prefix: costs ascend), in the merge order. Adding a constant keeps them sorted but for
 * rounding, which can make two costs equal; a pass of insertion sort restores the order.
 */
function shifted(f: Front, dc: number, dv: number, k: number, budget: number): Front {
  const out = emptyFront(f.n);
  let n = 0;
  for (let i = 0; i < f.n; i++) {
    const c = f.cost[i]! + dc;
    if (c > budget) break;
    out.cost[n] = c; out.value[n] = f.value[i]! + dv; out.prev[n] = i; out.option[n] = k;
    for (let j = n; j > 0 && before(out, j, out, j - 1); j--) swap(out, j, j - 1);
    n++;
  }
  out.n = n;
  return out;
}

function swap(f: Front, i: number, j: number): void {
  [f.cost[i], f.cost[j]] = [f.cost[j]!, f.cost[i]!];
  [f.value[i], f.value[j]] = [f.value[j]!, f.value[i]!];
  [f.prev[i], f.prev[j]] = [f.prev[j]!, f.prev[i]!];
  [f.option[i], f.option[j]] = [f.option[j]!, f.option[i]!];
}

/** a and b merged in order, keeping each state whose value beats every state before it. */
function mergePruned(a: Front, b: Front): Front {
  const out = emptyFront(a.n + b.n);
  let i = 0, j = 0, n = 0, best = -Infinity;
  while (i < a.n || j < b.n) {
    const fromA = j >= b.n || (i < a.n && before(a, i, b, j));
    const src = fromA ? a : b, s = fromA ? i++ : j++;
    if (src.value[s]! > best) {
      best = src.value[s]!;
      out.cost[n] = src.cost[s]!; out.value[n] = best; out.prev[n] = src.prev[s]!; out.option[n] = src.option[s]!;
      n++;
    }
  }
  out.n = n;
  return out;
}

/** A layer whose channels the uniform heuristic splits: per channel, between exactly two CUs. */
export function splitsInTwo(plan: LayerPlan): boolean {
  return plan.searchable && plan.mode === 'per-channel' && plan.eligible.length === 2;
}

/**
 * The uniform heuristic under a budget: the same fraction f of every split layer's
 * channels on its more precise CU (rounded to whole channels), the rest on the other,
 * with the largest f on a grid of 1/steps whose network cost is ≤ the budget. Layers that
 * do not split per channel between exactly two CUs keep their cost-optimal split. The
 * cost is not monotonic in f (a layer's latency is the slower CU's), so every grid value
 * is tried. null when none fits.
 */
export function uniformCounts(p: Platform, plans: LayerPlan[], objective: Objective, budget: number,
  steps = 4096): { counts: Counts; fraction: number; cost: number } | null {
  const split = plans.map(splitsInTwo);
  const fixed = plans.map((plan, l) => (split[l] ? null : bestSplit(p, plan, objective)));
  const countsAt = (f: number): Counts => plans.map((plan, l) => {
    if (!split[l]) return fixed[l]!;
    const [precise, other] = byPrecision(p, plan.eligible) as [number, number];
    const c = p.cus.map(() => 0);
    c[precise] = Math.round(f * plan.layer.cout);
    c[other] = plan.layer.cout - c[precise]!;
    return c;
  });
  for (let k = steps; k >= 0; k--) {
    const counts = countsAt(k / steps);
    const cost = networkObjective(p, plans, counts, objective);
    if (cost <= budget) return { counts, fraction: k / steps, cost };
  }
  return null;
}

/** The heuristic mappings whose counts come from a budget (train --mapping NAME --budget B). */
export const BUDGET_BASELINES: readonly string[] = ['uniform', 'max-precise'];

/**
 * The most-precise-channels heuristic under a budget: the count vectors that put the most
 * channels, summed over the network, on each layer's most precise CU with network cost
 * ≤ budget (the exact knapsack, no accuracy information: what an engineer does without a
 * sensitivity score). null when none fits.
 */
export function maxPreciseCounts(p: Platform, plans: LayerPlan[], objective: Objective, budget: number): { counts: Counts; precise: number; cost: number } | null {
  const top = plans.map((plan) => byPrecision(p, plan.eligible)[0]!);
  const counts = countsUnderBudget(p, plans, objective, budget, (l, c) => c[top[l]!]!);
  if (!counts) return null;
  return { counts, precise: counts.reduce((s, c, l) => s + c[top[l]!]!, 0), cost: networkObjective(p, plans, counts, objective) };
}

/**
 * One layer's exact cost of moving a single channel: M[a][i] = cost(n − e_a + e_i) − cost(n)
 * for CUs a (holding a channel) and i that may both run the layer; 0 on the diagonal, NaN
 * where the move is impossible. The search's exact cost gradient: what the count tables
 * say one channel's move costs, fixed overheads and ceil steps included.
 */
export function moveCosts(p: Platform, plan: LayerPlan, counts: number[], objective: Objective): number[][] {
  const base = costOf(p, plan, counts, objective);
  return p.cus.map((_, a) => p.cus.map((_, i) => {
    if (!plan.eligible.includes(a) || !plan.eligible.includes(i) || counts[a]! < 1) return NaN;
    if (a === i) return 0;
    const moved = counts.slice();
    moved[a]!--;
    moved[i]!++;
    return costOf(p, plan, moved, objective) - base;
  }));
}

/** The lowest network cost any mapping reaches (the cost is a sum over layers). */
export function cheapestCost(p: Platform, plans: LayerPlan[], objective: Objective): number {
  return plans.reduce((s, plan) => s + Math.min(...countOptions(p, plan).map((c) => costOf(p, plan, c, objective))), 0);
}

/**
 * The count vectors with the largest network cost ≤ budget among those that keep at least
 * `floor`'s channels on each layer's more precise CUs (`order[l]`: the layer's CUs, most
 * precise first; a vector qualifies when, for every prefix of that order, it has at least
 * as many channels there as `floor`). Landing on the budget: a subset-sum over the layers
 * with costs rounded UP to budget/bins (always feasible; at most layers × budget/bins short).
 */
export function fillToBudget(p: Platform, plans: LayerPlan[], objective: Objective, budget: number, floor: Counts,
  order: number[][], bins = 20000): Counts {
  const unit = budget / bins;
  const covers = (l: number, c: number[]) => {
    let a = 0, b = 0;
    return order[l]!.every((i) => { a += c[i]!; b += floor[l]![i]!; return a >= b; });
  };
  const options = plans.map((plan, l) => countOptions(p, plan).filter((c) => covers(l, c)));
  let reach = new Uint8Array(bins + 1);
  reach[0] = 1;
  const picks: Int32Array[] = [], weights: number[][] = [];
  plans.forEach((plan, l) => {
    const w = options[l]!.map((c) => Math.ceil(costOf(p, plan, c, objective) / unit - 1e-9));
    const next = new Uint8Array(bins + 1);
    const pick = new Int32Array(bins + 1).fill(-1);
    for (let b = 0; b <= bins; b++) {
      if (!reach[b]) continue;
      w.forEach((wk, k) => { const nb = b + wk; if (nb <= bins && !next[nb]) { next[nb] = 1; pick[nb] = k; } });
    }
    picks.push(pick); weights.push(w);
    reach = next;
  });
  let end = bins;
  while (end >= 0 && !reach[end]) end--;
  if (end < 0) return floor.map((c) => c.slice());
  const out: Counts = new Array(plans.length);
  for (let l = plans.length - 1; l >= 0; l--) {
    const k = picks[l]![end]!;
    out[l] = options[l]![k]!;
    end -= weights[l]![k]!;
  }
  return out;
}
