/**
 * The feasible forward mapping of a budgeted search (`--search-forward feasible`).
 *
 * With the hard relaxation the network trained during the search is the argmax mapping's,
 * and that mapping may leave the budget for many steps (α moves channels to the precise
 * CU faster than the multiplier rises); the final projection then moves those channels
 * back into a network that trained with them precise. Measured: at the min-latency cost
 * the exact-gradient search's 10 transient moves of 3 channels, all undone, cost 0.36
 * points against the same search with α frozen, which is bit-identical to its warm start.
 *
 * Here the forward pass follows α only as far as the budget allows: after each step the
 * channels whose argmax CU differs from the forward mapping's are moved, swaps within a
 * layer (one channel to a CU, one back from it: the counts do not change) and moves that
 * do not raise the cost first, then the others in order of α's confidence (α[to] − α[from])
 * while the cost stays within the budget. When the whole argmax mapping fits, it is the
 * forward mapping. So every network the search trains is within the budget, and the
 * mapping it ends on is the network trained (the final projection only fills what is left
 * of the budget). The multiplier still follows the argmax mapping's cost, so α is pushed
 * back under the budget and a channel can reach the precise CU when another leaves it.
 */
import { costOf } from '../hw/budget.js';
import type { LayerPlan, Objective } from '../hw/cost.js';
import type { Platform } from '../hw/platform.js';
import { exactCostUnsupported } from './exact_cost.js';
import type { Assignment } from './model.js';
import type { Preferences } from './projection.js';

export interface FeasibleStep { assignment: Assignment; accepted: number; refused: number }

const countsOf = (p: Platform, a: number[]) => {
  const c = p.cus.map(() => 0);
  for (const cu of a) c[cu]!++;
  return c;
};

/**
 * The next forward mapping: `current` (within `budget`) moved towards `proposal` (the argmax
 * mapping after the step) as far as the budget allows. `pref`: α per layer, channel and CU.
 */
export function feasibleStep(p: Platform, plans: LayerPlan[], objective: Objective, budget: number,
  current: Assignment, proposal: Assignment, pref: Preferences): FeasibleStep {
  const counts = current.map((a) => countsOf(p, a));
  const layerCost = counts.map((c, l) => costOf(p, plans[l]!, c, objective));
  const proposed = proposal.map((a) => countsOf(p, a));
  const limit = budget * (1 + 1e-12);
  const total = (cs: number[][]) => cs.reduce((s, c, l) => s + costOf(p, plans[l]!, c, objective), 0);
  const moves: { l: number; c: number; to: number; confidence: number }[] = [];
  proposal.forEach((a, l) => a.forEach((to, c) => {
    const from = current[l]![c]!;
    if (to !== from) moves.push({ l, c, to, confidence: pref[l]![c]![to]! - pref[l]![c]![from]! });
  }));
  if (moves.length === 0 || total(proposed) <= limit) {
    return { assignment: proposal.map((a) => a.slice()), accepted: moves.length, refused: 0 };
  }
  // Within a layer, a move to a CU and one back from it leave the counts, so the cost, as
  // they are: such swaps are paired first (most confident with most confident) and made
  // together. Single moves are made alone.
  type Move = (typeof moves)[number];
  const units: { moves: Move[]; confidence: number }[] = [];
  const byConfidence = (x: Move, y: Move) => y.confidence - x.confidence || x.l - y.l || x.c - y.c;
  const byLayer = new Map<number, Move[]>();
  for (const m of moves) byLayer.set(m.l, [...(byLayer.get(m.l) ?? []), m]);
  for (const [l, ms] of byLayer) {
    const dir = (m: Move) => `${current[l]![m.c]}>${m.to}`;
    const queues = new Map<string, Move[]>();
    for (const m of ms.sort(byConfidence)) queues.set(dir(m), [...(queues.get(dir(m)) ?? []), m]);
    for (const m of ms) {
      const mine = queues.get(dir(m))!;
      if (mine[0] !== m) continue; // already paired
      const back = queues.get(`${m.to}>${current[l]![m.c]}`);
      if (back?.length) {
        mine.shift();
        const other = back.shift()!;
        units.push({ moves: [m, other], confidence: m.confidence + other.confidence });
      }
    }
    for (const q of queues.values()) for (const m of q) units.push({ moves: [m], confidence: m.confidence });
  }
  units.sort((x, y) => y.confidence - x.confidence || byConfidence(x.moves[0]!, y.moves[0]!));
  const out = current.map((a) => a.slice());
  let cost = layerCost.reduce((s, v) => s + v, 0);
  let accepted = 0;
  const after = (u: { moves: Move[] }) => {
    const c = counts[u.moves[0]!.l]!.slice();
    for (const m of u.moves) { c[out[m.l]![m.c]!]!--; c[m.to]!++; }
    return { c, v: costOf(p, plans[u.moves[0]!.l]!, c, objective) };
  };
  const apply = (u: { moves: Move[] }, next: { c: number[]; v: number }) => {
    const l = u.moves[0]!.l;
    cost += next.v - layerCost[l]!;
    layerCost[l] = next.v;
    counts[l] = next.c;
    for (const m of u.moves) out[m.l]![m.c] = m.to;
    accepted += u.moves.length;
  };
  // First what does not raise the cost, then the rest by confidence while it fits.
  const pending: typeof units = [];
  for (const u of units) {
    const next = after(u);
    if (next.v <= layerCost[u.moves[0]!.l]!) apply(u, next);
    else pending.push(u);
  }
  for (const u of pending) {
    const next = after(u);
    if (cost + next.v - layerCost[u.moves[0]!.l]! <= limit) apply(u, next);
  }
  return { assignment: out, accepted, refused: moves.length - accepted };
}

/**
 * Preferences that keep `forward`'s channels where they are and rank the rest by α: the
 * final projection of a feasible search then only spends what is left of the budget.
 */
export function keepingPreferences(pref: Preferences, forward: Assignment): Preferences {
  const KEEP = 1e6;
  return pref.map((layer, l) => layer.map((row, c) => row.map((v, i) => (i === forward[l]![c] ? v + KEEP : v))));
}

/** Why the feasible forward cannot run this search (null: it can): the exact cost term's needs, and a budget. */
export function feasibleForwardUnsupported(plans: LayerPlan[], relaxation: 'hard' | 'soft', budgeted: boolean): string | null {
  if (!budgeted) return 'it needs a budget (--budget, --budget-latency-ms or --budget-energy-mj)';
  return exactCostUnsupported(plans, relaxation);
}
