/**
 * Exact (hard) cost of a mapped network: integer channel counts per CU and layer →
 * cycles, ms, mJ. Also the per-layer plans (which CU may run which layer, and the
 * geometry it sees) and the analytic mappings: all-on-one-CU and per-layer optimal
 * integer splits.
 */
import type { LayerGeometry } from '../models/spec.js';
import { UserError } from '../util/errors.js';
import { numberOps } from './expr.js';
import { canRun, isSplitLayer, LATENCY, vars, type Platform } from './platform.js';

export interface LayerPlan {
  layer: LayerGeometry;
  /** Geometry each CU sees when computing some of this layer's channels; null: it cannot. */
  views: (LayerGeometry | null)[];
  /** CUs that may compute channels of this layer, in platform order. */
  eligible: number[];
  /** More than one eligible CU: the search decides the split. */
  searchable: boolean;
  /** 'conv-vs-depthwise': a depthwise position whose conv-CU channels come from a full conv. */
  mode: 'per-channel' | 'conv-vs-depthwise';
}

/** Per layer: which CUs can run it and as what. Throws a UserError if no CU can. */
export function planLayers(p: Platform, layers: LayerGeometry[], model = 'model'): LayerPlan[] {
  const plans = layers.map((layer): LayerPlan => {
    if (isSplitLayer(p, layer) && p.split.style === 'conv-vs-depthwise') {
      const views: (LayerGeometry | null)[] = p.cus.map(() => null);
      const asConv: LayerGeometry = { ...layer, kind: 'conv', groups: 1 };
      const conv = p.cus[p.split.conv]!, dw = p.cus[p.split.depthwise]!;
      if (canRun(conv, asConv)) views[conv.index] = asConv;
      if (canRun(dw, layer)) views[dw.index] = layer;
      const eligible = views.flatMap((v, i) => (v ? [i] : []));
      if (eligible.length > 0) {
        return { layer, views, eligible, searchable: eligible.length > 1, mode: 'conv-vs-depthwise' as const };
      }
    }
    const views = p.cus.map((cu) => (canRun(cu, layer) ? layer : null));
    let eligible = views.flatMap((v, i) => (v ? [i] : []));
    if (eligible.length === 0) {
      throw new UserError(`platform ${p.name} cannot run layer ${layer.name} of ${model} (kind ${layer.kind}, ` +
        `${layer.kx}x${layer.ky}, groups ${layer.groups}): no compute unit supports it`);
    }
    // In a conv-vs-depthwise platform only the split positions are searched; every other
    // layer runs on the first CU (platform order) that can run it.
    if (p.split.style === 'conv-vs-depthwise' && eligible.length > 1) {
      for (const i of eligible.slice(1)) views[i] = null;
      eligible = eligible.slice(0, 1);
    }
    return { layer, views, eligible, searchable: eligible.length > 1, mode: 'per-channel' as const };
  });
  checkLatencies(p, plans, model);
  return plans;
}

/**
 * Every latency expression on every layer of the model, as each CU that may run it sees
 * it, for a few channel counts: a finite number of cycles >= 0, or one line naming the CU,
 * the layer and the value (before any training starts).
 */
function checkLatencies(p: Platform, plans: LayerPlan[], model: string): void {
  for (const plan of plans) {
    for (const i of plan.eligible) {
      const view = plan.views[i]!;
      for (const n of new Set([1, Math.ceil(view.cout / 2), view.cout])) {
        let v: number;
        try {
          v = cuCycles(p, i, view, n);
        } catch (e) {
          throw new UserError(`platform ${p.name}: cus[${i}] (${p.cus[i]!.name}).latency cannot be evaluated on layer ${plan.layer.name} of ${model} (n=${n}): ${(e as Error).message}`);
        }
        if (!Number.isFinite(v) || v < 0) {
          throw new UserError(`platform ${p.name}: cus[${i}] (${p.cus[i]!.name}).latency is ${v} on layer ${plan.layer.name} of ${model} ` +
            `(${view.kind} ${view.cin}->${view.cout} ${view.kx}x${view.ky}, ${view.h}x${view.w} output, stride ${view.stride}, n=${n}): expected a finite number of cycles >= 0`);
        }
      }
    }
  }
}

/** Cycles CU `cu` spends on `n` channels of a layer it sees as `view`; 0 when n = 0. */
export function cuCycles(p: Platform, cu: number, view: LayerGeometry, n: number): number {
  if (n <= 0) return 0;
  return p.cus[cu]!.exprs.value(LATENCY, numberOps(vars(view, n)));
}

/** The arithmetic `combine` needs; numbers here, tensors (with smooth max/min) in soft.ts. */
export interface CombineOps<T> {
  add(a: T, b: T): T;
  sub(a: T, b: T): T;
  scale(a: T, k: number): T;
  max(xs: T[]): T;
  min(xs: T[]): T;
}

/**
 * Layer latency and energy from the CUs' busy times (cycles), written once for both
 * evaluations. The CUs start together and run in parallel:
 *   latency L = max_i t_i
 *   energy (mW·cycles) = Σ_i P_i·t_i                                  each CU while busy
 *                      + Σ_groups (P_group − Σ_{i∈group} P_i)·min_{i∈group} t_i
 *                                                                      all of a group busy at once
 *                      + Σ_i P_idle,i·(L − t_i)                        each CU idling
 * DIANA: P_both·t_c + P_ana·(t_A − t_c) + P_dig·(t_D − t_c), t_c = min(t_D, t_A).
 * Darkside: 168·t_C + 118·t_W + 1.32·[(L − t_C) + (L − t_W)].
 */
export function combine<T>(p: Platform, ops: CombineOps<T>, t: T[]): { latency: T; energy: T } {
  const latency = ops.max(t);
  let energy = ops.scale(t[0]!, p.cus[0]!.powerMW);
  for (let i = 1; i < t.length; i++) energy = ops.add(energy, ops.scale(t[i]!, p.cus[i]!.powerMW));
  for (const g of p.overlaps) {
    const extra = g.powerMW - g.cus.reduce((s, i) => s + p.cus[i]!.powerMW, 0);
    energy = ops.add(energy, ops.scale(ops.min(g.cus.map((i) => t[i]!)), extra));
  }
  p.cus.forEach((cu, i) => {
    if (cu.idlePowerMW > 0) energy = ops.add(energy, ops.scale(ops.sub(latency, t[i]!), cu.idlePowerMW));
  });
  return { latency, energy };
}

const numberCombine: CombineOps<number> = {
  add: (a, b) => a + b, sub: (a, b) => a - b, scale: (a, k) => a * k,
  max: (xs) => Math.max(...xs), min: (xs) => Math.min(...xs),
};

export interface LayerCost {
  /** Busy cycles per CU. */
  cycles: number[];
  latencyCycles: number;
  energyMJ: number;
}

/** Exact cost of one layer with integer channel counts per CU. */
export function layerCost(p: Platform, plan: LayerPlan, counts: number[]): LayerCost {
  const cycles = p.cus.map((_, i) => {
    const n = counts[i] ?? 0;
    if (n === 0) return 0;
    const view = plan.views[i];
    if (!view) throw new Error(`${plan.layer.name}: ${n} channels on ${p.cus[i]!.name}, which cannot run it`);
    return cuCycles(p, i, view, n);
  });
  return fromCycles(p, cycles);
}

function fromCycles(p: Platform, cycles: number[]): LayerCost {
  const { latency, energy } = combine(p, numberCombine, cycles);
  return { cycles, latencyCycles: latency, energyMJ: energy / p.clockHz };
}

/** Channel counts per layer (outer) and CU (inner). */
export type Counts = number[][];

export interface NetworkCost { cycles: number; ms: number; energyMJ: number; layers: LayerCost[] }

export function networkCost(p: Platform, plans: LayerPlan[], counts: Counts): NetworkCost {
  const layers = plans.map((plan, l) => {
    const c = counts[l]!;
    const total = c.reduce((a, b) => a + b, 0);
    if (total !== plan.layer.cout) throw new Error(`${plan.layer.name}: ${total} channels mapped, layer has ${plan.layer.cout}`);
    return layerCost(p, plan, c);
  });
  const cycles = layers.reduce((s, l) => s + l.latencyCycles, 0);
  return {
    cycles, ms: (cycles / p.clockHz) * 1e3,
    energyMJ: layers.reduce((s, l) => s + l.energyMJ, 0), layers,
  };
}

export type Objective = 'latency' | 'energy';

/** Cycles of every eligible CU for n = 0..cout channels (exact). */
function tables(p: Platform, plan: LayerPlan): Map<number, Float64Array> {
  const m = new Map<number, Float64Array>();
  for (const i of plan.eligible) {
    const t = new Float64Array(plan.layer.cout + 1);
    for (let n = 1; n <= plan.layer.cout; n++) t[n] = cuCycles(p, i, plan.views[i]!, n);
    m.set(i, t);
  }
  return m;
}

/**
 * The integer split of one layer's channels over its eligible CUs that minimises the
 * objective (ties: the first found, i.e. more channels on earlier CUs). Exhaustive for up
 * to 3 eligible CUs (≤ (C+1)(C+2)/2 splits, from tables of per-CU cycles); for more, a
 * pairwise-move local search from the best single-CU split.
 */
export function bestSplit(p: Platform, plan: LayerPlan, objective: Objective): number[] {
  const C = plan.layer.cout;
  const E = plan.eligible;
  const counts = p.cus.map(() => 0);
  if (E.length === 1) {
    counts[E[0]!] = C;
    return counts;
  }
  const tab = tables(p, plan);
  const cyc = p.cus.map(() => 0);
  const score = (split: number[]): number => {
    E.forEach((i, k) => { cyc[i] = tab.get(i)![split[k]!]!; });
    const c = fromCycles(p, cyc);
    return objective === 'latency' ? c.latencyCycles : c.energyMJ;
  };
  let best: number[] = [];
  let bestScore = Infinity;
  const consider = (split: number[]): void => {
    const s = score(split);
    if (s < bestScore) { bestScore = s; best = split.slice(); }
  };
  if (E.length === 2) {
    for (let a = C; a >= 0; a--) consider([a, C - a]);
  } else if (E.length === 3) {
    for (let a = C; a >= 0; a--) for (let b = C - a; b >= 0; b--) consider([a, b, C - a - b]);
  } else {
    E.forEach((_, k) => consider(E.map((__, j) => (j === k ? C : 0))));
    for (let step = 2 ** Math.floor(Math.log2(C)); step >= 1; step = Math.floor(step / 2)) {
      let improved = true;
      while (improved) {
        improved = false;
        for (let from = 0; from < E.length; from++) {
          for (let to = 0; to < E.length; to++) {
            if (from === to || best[from]! < step) continue;
            const s = best.slice();
            s[from]! -= step; s[to]! += step;
            const before = bestScore;
            consider(s);
            if (bestScore < before) improved = true;
          }
        }
      }
    }
  }
  E.forEach((i, k) => { counts[i] = best[k]!; });
  return counts;
}

/**
 * Every searchable layer wholly on `cu` (other layers on the one CU that can run them);
 * null if `cu` cannot run one of the searchable layers or would run no layer at all.
 */
export function allOnCounts(p: Platform, plans: LayerPlan[], cu: number): Counts | null {
  const out: Counts = [];
  let used = false;
  for (const plan of plans) {
    const counts = p.cus.map(() => 0);
    const target = plan.searchable ? cu : plan.eligible[0]!;
    if (!plan.views[target]) return null;
    counts[target] = plan.layer.cout;
    used ||= target === cu;
    out.push(counts);
  }
  // A CU that would compute nothing does not name a mapping of its own.
  return used ? out : null;
}

/** Per layer, the integer split that minimises the objective (hard cost only). */
export function bestCounts(p: Platform, plans: LayerPlan[], objective: Objective): Counts {
  return plans.map((plan) => bestSplit(p, plan, objective));
}

export interface NamedMapping { name: string; counts: Counts; cost: NetworkCost }

/** `all:<cu>` for each CU able to run every searchable layer, and `min-latency`. */
export function referenceMappings(p: Platform, plans: LayerPlan[]): NamedMapping[] {
  const out: NamedMapping[] = [];
  for (const cu of p.cus) {
    const counts = allOnCounts(p, plans, cu.index);
    if (counts) out.push({ name: `all:${cu.name}`, counts, cost: networkCost(p, plans, counts) });
  }
  const ml = bestCounts(p, plans, 'latency');
  out.push({ name: 'min-latency', counts: ml, cost: networkCost(p, plans, ml) });
  return out;
}

/**
 * The normaliser of the search's cost term: the cheapest all-on-one-CU mapping for the
 * objective (cycles for latency, mJ for energy), so that λ is O(1).
 */
export function referenceCost(p: Platform, plans: LayerPlan[], objective: Objective): { name: string; value: number } {
  let best: { name: string; value: number } | null = null;
  for (const m of referenceMappings(p, plans)) {
    if (!m.name.startsWith('all:')) continue;
    const value = objective === 'latency' ? m.cost.cycles : m.cost.energyMJ;
    if (!best || value < best.value) best = { name: m.name, value };
  }
  if (!best) throw new UserError(`platform ${p.name}: no compute unit can run every searchable layer, so there is no all-on-one-CU reference cost`);
  return best;
}
