/**
 * From per-channel preferences to a mapping that meets a cost budget exactly:
 *  1. per layer, the count vectors are valued by the best channel choice they allow
 *     (channels sorted by how much they prefer one CU over the other);
 *  2. an exact knapsack over the layers (hw/budget.ts) picks the counts of highest value
 *     with cost ≤ budget;
 *  3. what is left of the budget goes to more precise CUs: the largest cost ≤ budget among
 *     the count vectors that keep at least those channels on the precise CUs (a subset-sum
 *     over the layers), so the mapping lands on the budget.
 * Used to project the searched mapping onto the budget at the end of a search, and, with
 * sensitivity scores as preferences, to warm-start the search.
 */
import { countsUnderBudget, costOf, fillToBudget } from '../hw/budget.js';
import type { Counts, LayerPlan, Objective } from '../hw/cost.js';
import { byPrecision, type Platform } from '../hw/platform.js';
import type { Assignment } from './model.js';

/** Per layer, per output channel, per CU (platform order): higher = rather on that CU. */
export type Preferences = number[][][];

/**
 * The channels of one layer per CU for the given counts, maximising Σ pref: exact for two
 * CUs (sort by the preference difference); for more, CUs take their most preferred
 * remaining channels in order of precision.
 */
export function assignWithCounts(pref: number[][], counts: number[], order: number[]): number[] {
  const C = pref.length;
  const out = new Array<number>(C).fill(-1);
  const used = order.filter((i) => counts[i]! > 0);
  if (used.length === 1) return out.fill(used[0]!);
  if (used.length === 2) {
    const [a, b] = used as [number, number];
    const idx = Array.from({ length: C }, (_, c) => c).sort((x, y) => (pref[y]![a]! - pref[y]![b]!) - (pref[x]![a]! - pref[x]![b]!) || x - y);
    idx.forEach((c, k) => { out[c] = k < counts[a]! ? a : b; });
    return out;
  }
  for (const i of used) {
    const free = Array.from({ length: C }, (_, c) => c).filter((c) => out[c] === -1).sort((x, y) => pref[y]![i]! - pref[x]![i]! || x - y);
    free.slice(0, counts[i]!).forEach((c) => { out[c] = i; });
  }
  return out;
}

function layerValue(pref: number[][], counts: number[], order: number[]): number {
  const a = assignWithCounts(pref, counts, order);
  return a.reduce((s, cu, c) => s + pref[c]![cu]!, 0);
}

export interface ProjectionResult { assignment: Assignment; cost: number; moved: number }

/**
 * A mapping within `budget` (exact cost in the objective's unit) that keeps the most
 * preferred channels where they prefer to be, then fills the budget with more precise
 * channels. Conv-vs-depthwise layers keep their prefix form (channels [0, k) on the
 * conv CU); their preference is read per channel like any other layer's. Throws when not
 * even the cheapest mapping fits.
 */
export function projectToBudget(p: Platform, plans: LayerPlan[], objective: Objective, budget: number,
  pref: Preferences, current?: Assignment): ProjectionResult {
  const orders = plans.map((plan) => byPrecision(p, plan.eligible));
  const prefix = (l: number) => plans[l]!.mode === 'conv-vs-depthwise' && plans[l]!.searchable;
  const assign = (l: number, counts: number[]): number[] => {
    if (!prefix(l)) return assignWithCounts(pref[l]!, counts, orders[l]!);
    const conv = p.split.style === 'conv-vs-depthwise' ? p.split.conv : orders[l]![0]!;
    const k = counts[conv]!;
    const other = plans[l]!.eligible.find((i) => i !== conv)!;
    return Array.from({ length: plans[l]!.layer.cout }, (_, c) => (c < k ? conv : other));
  };
  // Value tables per layer, cached by count vector.
  const cache = plans.map(() => new Map<string, number>());
  const value = (l: number, counts: number[]): number => {
    const key = counts.join();
    let v = cache[l]!.get(key);
    if (v === undefined) {
      v = prefix(l) ? assign(l, counts).reduce((s, cu, c) => s + pref[l]![c]![cu]!, 0) : layerValue(pref[l]!, counts, orders[l]!);
      cache[l]!.set(key, v);
    }
    return v;
  };
  const kept: Counts | null = countsUnderBudget(p, plans, objective, budget, value);
  if (!kept) throw new Error(`no mapping fits the budget ${budget}`);
  // Then spend what is left of the budget on more precise channels (exact subset-sum on a fine
  // grid). Where the cost steps of the kept counts leave more than 1% unspent, the floor is
  // relaxed (fewer of the kept precise channels required) until the mapping lands.
  let counts = kept;
  for (const keep of [1, 0.9, 0.75, 0.5, 0]) {
    const floor = kept.map((c, l) => {
      const f = p.cus.map(() => 0);
      const top = orders[l]![0]!;
      f[top] = Math.floor(keep * c[top]!);
      return f;
    });
    counts = fillToBudget(p, plans, objective, budget, keep === 1 ? kept : floor, orders);
    const total = counts.reduce((s, c, l) => s + costOf(p, plans[l]!, c, objective), 0);
    if (total >= 0.99 * budget) break;
  }
  const assignment: Assignment = counts.map((c, l) => assign(l, c));
  const total = counts.reduce((sum, c, l) => sum + costOf(p, plans[l]!, c, objective), 0);
  const moved = current ? assignment.reduce((s, a, l) => s + a.filter((cu, c) => cu !== current[l]![c]).length, 0) : 0;
  return { assignment, cost: total, moved };
}
