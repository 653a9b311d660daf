/**
 * The feasible forward mapping of a budgeted search (search/feasible.ts): hand-built cases on
 * DIANA ResNet20's count tables (a fitting argmax is taken whole; a swap within a layer
 * is made even where each of its moves alone would leave the budget; a move that lowers
 * the cost makes room for one that raises it; the more confident of two moves that do not
 * both fit), invariants over random proposals, the final projection keeping the forward
 * mapping, and the model's forward pass on a given mapping with the softmax gradient.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../src/backend/engine.js';
import { moveCosts, networkObjective } from '../../src/hw/budget.js';
import { planLayers } from '../../src/hw/cost.js';
import { loadPlatform } from '../../src/hw/platform.js';
import { initParams } from '../../src/models/params.js';
import { Rng } from '../../src/models/rng.js';
import { geometry } from '../../src/models/spec.js';
import { buildModel } from '../../src/models/zoo.js';
import { feasibleForwardUnsupported, feasibleStep, keepingPreferences } from '../../src/search/feasible.js';
import { SearchModel, type Assignment } from '../../src/search/model.js';
import { projectToBudget } from '../../src/search/projection.js';

beforeAll(async () => { await initEngine('wasm'); });

const p = loadPlatform('diana');
const plans = planLayers(p, geometry(buildModel('resnet20')), 'resnet20');
const DIG = p.cus.findIndex((c) => c.name === 'digital'), ANA = p.cus.findIndex((c) => c.name === 'analog');
const split = plans.map((plan, l) => l).filter((l) => plans[l]!.searchable && plans[l]!.eligible.length === 2);
const costOf = (a: Assignment) => networkObjective(p, plans, a.map((cus) => p.cus.map((_, i) => cus.filter((c) => c === i).length)), 'latency');
const countsOfLayer = (cus: number[]) => p.cus.map((_, i) => cus.filter((c) => c === i).length);
/** Split layers: the first `frac` of the channels digital, the rest analog; other layers on their CU. */
const mapping = (frac: (l: number) => number): Assignment => plans.map((plan, l) => {
  const C = plan.layer.cout;
  if (!split.includes(l)) return Array(C).fill(plan.eligible[0]!);
  const k = Math.round(frac(l) * C);
  return Array.from({ length: C }, (_, c) => (c < k ? DIG : ANA));
});
/** α-like preferences: `conf` in favour of the proposal's CU where it differs from `from`. */
const prefsFor = (from: Assignment, to: Assignment, conf: (l: number, c: number) => number) =>
  from.map((cus, l) => cus.map((cu, c) => p.cus.map((_, i) => (i === to[l]![c] && to[l]![c] !== cu ? conf(l, c) : i === cu ? 0 : -1))));
const moved = (a: Assignment, moves: [number, number, number][]) => {
  const b = a.map((x) => x.slice());
  for (const [l, c, to] of moves) b[l]![c] = to;
  return b;
};

describe('feasibleStep', () => {
  const current = mapping((l) => (l % 2 ? 0.5 : 0.25));
  const budget = costOf(current);
  // Layers where one more digital channel costs (the move leaves the budget) and one fewer saves.
  const M = (l: number) => moveCosts(p, plans[l]!, countsOfLayer(current[l]!), 'latency');
  const costly = split.filter((l) => M(l)[ANA]![DIG]! > 0);
  const saving = split.filter((l) => M(l)[DIG]![ANA]! < 0);
  const lastAnalog = (l: number) => current[l]!.lastIndexOf(ANA), firstDigital = (l: number) => current[l]!.indexOf(DIG);

  it('takes the argmax whole when it fits the budget', () => {
    const l = saving[0]!;
    const proposal = moved(current, [[l, firstDigital(l), ANA]]);
    const r = feasibleStep(p, plans, 'latency', budget, current, proposal, prefsFor(current, proposal, () => 1));
    expect(r.assignment).toEqual(proposal);
    expect(r).toMatchObject({ accepted: 1, refused: 0 });
    expect(costOf(r.assignment)).toBeLessThan(budget);
  });

  it('keeps a costly move out, and makes a swap within a layer although each of its moves alone would leave the budget', () => {
    expect(costly.length).toBeGreaterThan(2);
    const [l1, l2] = costly as [number, number];
    // l1's swap: one more digital channel alone costs; one fewer alone is checked below
    const swap: [number, number, number][] = [[l1, lastAnalog(l1), DIG], [l1, firstDigital(l1), ANA]];
    const single: [number, number, number] = [l2, lastAnalog(l2), DIG];
    const proposal = moved(current, [...swap, single]);
    expect(costOf(proposal)).toBeGreaterThan(budget);
    expect(costOf(moved(current, [swap[0]!]))).toBeGreaterThan(budget);
    // the single move is the most confident, yet does not fit
    const pref = prefsFor(current, proposal, (l) => (l === l2 ? 5 : 1));
    const r = feasibleStep(p, plans, 'latency', budget, current, proposal, pref);
    expect(r.assignment).toEqual(moved(current, swap));
    expect(r).toMatchObject({ accepted: 2, refused: 1 });
    expect(costOf(r.assignment)).toBeCloseTo(budget, 6);
  });

  it('a move that lowers the cost makes room for one that raises it, though the argmax as a whole does not fit', () => {
    // a saving move (layer ls), a costly one that fits in the saving (lc), and a third that
    // then does not fit (l3); the costly moves are the more confident, so taken in order of
    // confidence alone, neither would fit
    let checked = 0;
    for (const ls of saving) {
      for (const lc of costly) {
        const save = -M(ls)[DIG]![ANA]!, spend = M(lc)[ANA]![DIG]!;
        if (ls === lc || spend > save) continue;
        const l3 = costly.find((l) => l !== ls && l !== lc && M(l)[ANA]![DIG]! > save - spend);
        if (l3 === undefined) continue;
        const made: [number, number, number][] = [[ls, firstDigital(ls), ANA], [lc, lastAnalog(lc), DIG]];
        const proposal = moved(current, [...made, [l3, lastAnalog(l3), DIG]]);
        expect(costOf(proposal)).toBeGreaterThan(budget);
        const r = feasibleStep(p, plans, 'latency', budget, current, proposal, prefsFor(current, proposal, (l) => (l === lc ? 3 : l === l3 ? 2 : 1)));
        expect(r.assignment).toEqual(moved(current, made));
        expect(r).toMatchObject({ accepted: 2, refused: 1 });
        expect(costOf(r.assignment)).toBeLessThanOrEqual(budget * (1 + 1e-12));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('of two costly moves that fit alone but not together, the more confident', () => {
    // the budget: the current cost plus room for the larger of two costly moves only
    const [l1, l2] = costly as [number, number];
    const d1 = M(l1)[ANA]![DIG]!, d2 = M(l2)[ANA]![DIG]!;
    const room = budget + Math.max(d1, d2) + 0.5 * Math.min(d1, d2);
    const proposal = moved(current, [[l1, lastAnalog(l1), DIG], [l2, lastAnalog(l2), DIG]]);
    for (const [first, conf] of [[l1, (l: number) => (l === l1 ? 2 : 1)], [l2, (l: number) => (l === l2 ? 2 : 1)]] as const) {
      const r = feasibleStep(p, plans, 'latency', room, current, proposal, prefsFor(current, proposal, conf));
      expect(r.assignment).toEqual(moved(current, [[first, lastAnalog(first), DIG]]));
    }
  });

  it('random proposals: within the budget, each channel where it was or where α wants it; the argmax itself when it fits', () => {
    const rng = new Rng(11);
    let fits = 0, over = 0;
    for (let trial = 0; trial < 40; trial++) {
      const cur = mapping(() => rng.next());
      const b = costOf(cur) * (1 + 0.02 * rng.next());
      const proposal = cur.map((cus, l) => cus.map((cu) => (split.includes(l) && rng.next() < 0.1 ? (cu === DIG ? ANA : DIG) : cu)));
      const pref = prefsFor(cur, proposal, () => rng.next());
      const r = feasibleStep(p, plans, 'latency', b, cur, proposal, pref);
      expect(costOf(r.assignment)).toBeLessThanOrEqual(b * (1 + 1e-9));
      r.assignment.forEach((cus, l) => cus.forEach((cu, c) => expect([cur[l]![c], proposal[l]![c]]).toContain(cu)));
      const changed = r.assignment.reduce((s, cus, l) => s + cus.filter((cu, c) => cu !== cur[l]![c]).length, 0);
      expect(changed).toBe(r.accepted);
      if (costOf(proposal) <= b) { expect(r.assignment).toEqual(proposal); fits++; } else over++;
    }
    expect(fits).toBeGreaterThan(0);
    expect(over).toBeGreaterThan(0);
  });
});

describe('the final projection of a feasible search', () => {
  it('keeps the forward mapping\'s precise channels and spends only what is left of the budget', () => {
    const rng = new Rng(3);
    for (let trial = 0; trial < 5; trial++) {
      const forward = mapping(() => 0.3 * rng.next());
      const budget = costOf(forward) * 1.05;
      // α that would rather put other channels on digital
      const alpha = forward.map((cus) => cus.map(() => p.cus.map(() => rng.next() * 4 - 2)));
      const r = projectToBudget(p, plans, 'latency', budget, keepingPreferences(alpha, forward), forward);
      expect(r.cost).toBeLessThanOrEqual(budget);
      expect(r.cost).toBeGreaterThanOrEqual(0.99 * budget);
      forward.forEach((cus, l) => cus.forEach((cu, c) => { if (cu === DIG) expect(r.assignment[l]![c]).toBe(DIG); }));
      const plain = projectToBudget(p, plans, 'latency', budget, alpha, forward);
      expect(r.moved).toBeLessThan(plain.moved);
    }
  });
});

describe('SearchModel.setForwardMapping', () => {
  it('runs the given mapping forward (as the fixed network) with the softmax gradient back; null: the argmax again', () => {
    const spec = buildModel('tinycnn');
    const tplans = planLayers(p, geometry(spec), 'tinycnn');
    const float = initParams(spec, 4);
    const m = SearchModel.fromFloat(spec, float, p, tplans, { relaxation: 'hard' });
    float.dispose();
    // a mixed argmax with margins that differ per channel
    m.setAlpha(spec.layers.map((l, k) => Array.from({ length: l.cout }, (_, c) => tplans[k]!.eligible[(c * 5 + k) % tplans[k]!.eligible.length]!)), 1);
    const tsplit = tplans.map((_, l) => l).filter((l) => tplans[l]!.searchable && tplans[l]!.eligible.length === 2);
    const argmax = m.discretise();
    const other = argmax.map((cus, l) => cus.map((cu, c) => (tsplit.includes(l) && c % 3 === 0 ? (cu === DIG ? ANA : DIG) : cu)));
    expect(other).not.toEqual(argmax);
    const x = tf.randomNormal([2, spec.inputShape[0], spec.inputShape[1], spec.inputShape[2]], 0, 1, 'float32', 1) as tf.Tensor4D;
    const logits = () => tf.tidy(() => Array.from(m.forward(x, 1).logits.dataSync()));
    const alphaGrad = () => tf.tidy(() => {
      const alphas = [...m.group('alpha').values()];
      const { grads } = tf.variableGrads(() => tf.sum(tf.square(m.forward(x, 1).logits)) as tf.Scalar, alphas);
      return Object.values(grads).map((g) => Array.from(g.dataSync()));
    });
    const atArgmax = logits();
    m.fix(other);
    const fixedOther = logits();
    m.unfix();
    m.setForwardMapping(other);
    expect(logits()).toEqual(fixedOther);
    const gOther = alphaGrad();
    expect(gOther.some((g) => g.some((v) => v !== 0))).toBe(true);
    // the forward mapping set to the argmax: the plain hard forward, values and gradients
    m.setForwardMapping(argmax);
    const gSame = alphaGrad();
    expect(logits()).toEqual(atArgmax);
    m.setForwardMapping(null);
    expect(logits()).toEqual(atArgmax);
    expect(alphaGrad()).toEqual(gSame);
    const n0 = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) m.setForwardMapping(other);
    m.setForwardMapping(null);
    expect(tf.memory().numTensors).toBe(n0);
    x.dispose();
    m.dispose();
  });

  it('names what it cannot run: no budget, the soft relaxation, a conv-vs-depthwise split', () => {
    expect(feasibleForwardUnsupported(plans, 'hard', true)).toBeNull();
    expect(feasibleForwardUnsupported(plans, 'hard', false)).toMatch(/needs a budget/);
    expect(feasibleForwardUnsupported(plans, 'soft', true)).toMatch(/hard relaxation/);
    const dk = loadPlatform('darkside');
    const dplans = planLayers(dk, geometry(buildModel('mobilenetv1')), 'mobilenetv1');
    expect(feasibleForwardUnsupported(dplans, 'hard', true)).toMatch(/conv-vs-depthwise split/);
  });
});
