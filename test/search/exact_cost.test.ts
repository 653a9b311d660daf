/**
 * The search's exact cost term (search/exact_cost.ts) and the one-channel move costs it is
 * built from (hw/budget.ts moveCosts): the move costs against the network cost of the moved
 * mapping and their reversibility; the term's value against the exact cost of the argmax
 * mapping, its gradient w.r.t. α against the softmax Jacobian applied to the move costs by hand.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../src/backend/engine.js';
import { moveCosts, networkObjective } from '../../src/hw/budget.js';
import { planLayers } from '../../src/hw/cost.js';
import { loadPlatform } from '../../src/hw/platform.js';
import { initParams } from '../../src/models/params.js';
import { geometry } from '../../src/models/spec.js';
import { buildModel } from '../../src/models/zoo.js';
import { exactCostTerm, exactCostUnsupported } from '../../src/search/exact_cost.js';
import { SearchModel } from '../../src/search/model.js';

beforeAll(async () => { await initEngine('wasm'); });

describe('moveCosts', () => {
  const p = loadPlatform('diana');
  const plans = planLayers(p, geometry(buildModel('resnet20')), 'resnet20');
  const split = plans.map((plan, l) => ({ plan, l })).filter(({ plan }) => plan.searchable && plan.mode === 'per-channel');
  // A mapping with both CUs busy in some layers, one idle in others.
  const counts = plans.map((plan, l) => {
    const c = p.cus.map(() => 0);
    const [a, b] = plan.eligible;
    if (b === undefined) { c[a!] = plan.layer.cout; return c; }
    const k = l % 3 === 0 ? plan.layer.cout : Math.floor(plan.layer.cout * (l % 3) / 3);
    c[a!] = k; c[b] = plan.layer.cout - k;
    return c;
  });
  const base = networkObjective(p, plans, counts, 'latency');

  it('is the network cost of the mapping with one channel moved, minus its cost; 0 on the diagonal; NaN from an idle CU', () => {
    expect(split.length).toBeGreaterThan(10);
    for (const { plan, l } of split) {
      const M = moveCosts(p, plan, counts[l]!, 'latency');
      for (const a of plan.eligible) {
        for (const i of plan.eligible) {
          if (counts[l]![a]! === 0) { expect(M[a]![i]).toBeNaN(); continue; }
          const moved = counts.map((c) => c.slice());
          moved[l]![a]!--; moved[l]![i]!++;
          expect(M[a]![i]).toBeCloseTo(networkObjective(p, plans, moved, 'latency') - base, 6);
          if (a === i) expect(M[a]![i]).toBe(0);
        }
      }
    }
  });

  it('moving a channel and moving it back cost opposite amounts, for either objective', () => {
    let checked = 0;
    for (const objective of ['latency', 'energy'] as const) {
      for (const { plan, l } of split) {
        const [a, b] = plan.eligible as [number, number];
        for (const [from, to] of [[a, b], [b, a]] as const) {
          if (counts[l]![from]! === 0) continue;
          const M = moveCosts(p, plan, counts[l]!, objective);
          const after = counts[l]!.slice(); after[from]!--; after[to]!++;
          expect(moveCosts(p, plan, after, objective)[to]![from]).toBeCloseTo(-M[from]![to]!, 9);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(20);
  });
});

describe('exactCostTerm', () => {
  it('is the exact cost of the argmax mapping, with the move costs through softmax(α/T) as its α gradient', () => {
    const p = loadPlatform('diana');
    const spec = buildModel('tinycnn');
    const plans = planLayers(p, geometry(spec), 'tinycnn');
    const float = initParams(spec, 5);
    const m = SearchModel.fromFloat(spec, float, p, plans, { relaxation: 'hard' });
    float.dispose();
    const n = p.cus.length;
    // A mixed mapping with margins that differ per channel (the softmax is not saturated).
    const assignment = spec.layers.map((l, k) => Array.from({ length: l.cout }, (_, c) => plans[k]!.eligible[(c * 7 + k) % plans[k]!.eligible.length]!));
    m.setAlpha(assignment, 1);
    const T = 1.5;
    const alphas = m.group('alpha');
    const before = tf.memory().numTensors;
    const { value, grads } = tf.tidy(() => {
      const r = tf.variableGrads(() => exactCostTerm(m, m.discretise(), 'latency', T), [...alphas.values()]);
      return { value: r.value.dataSync()[0]!, grads: Object.fromEntries(Object.entries(r.grads).map(([k, g]) => [k, g.arraySync() as number[][]])) };
    });
    expect(tf.memory().numTensors).toBe(before);
    const counts = m.countsOf(m.discretise());
    const exact = networkObjective(p, plans, counts, 'latency');
    expect(Math.abs(value - exact)).toBeLessThanOrEqual(1e-6 * exact);
    let checked = 0;
    spec.layers.forEach((l, k) => {
      const plan = plans[k]!;
      if (!plan.searchable || plan.mode !== 'per-channel') return;
      const alpha = alphas.get(`${l.name}.alpha`)!.arraySync() as number[][];
      const g = grads[alphas.get(`${l.name}.alpha`)!.name]!;
      const M = moveCosts(p, plan, counts[k]!, 'latency');
      for (let c = 0; c < l.cout; c++) {
        const a = assignment[k]![c]!;
        const e = plan.eligible.map((i) => Math.exp(alpha[i]![c]! / T));
        const z = e.reduce((s, v) => s + v, 0);
        const prob = e.map((v) => v / z);
        const mean = plan.eligible.reduce((s, i, j) => s + prob[j]! * M[a]![i]!, 0);
        plan.eligible.forEach((j, jj) => {
          const want = prob[jj]! * (M[a]![j]! - mean) / T;
          expect(Math.abs(g[j]![c]! - want)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(want)));
          checked++;
        });
        for (let i = 0; i < n; i++) if (!plan.eligible.includes(i)) expect(g[i]![c]!).toBe(0);
      }
    });
    expect(checked).toBeGreaterThan(50);
    m.dispose();
  });

  it('says why it cannot drive a soft relaxation or a conv-vs-depthwise split', () => {
    const diana = loadPlatform('diana');
    const dianaPlans = planLayers(diana, geometry(buildModel('resnet20')), 'resnet20');
    expect(exactCostUnsupported(dianaPlans, 'hard')).toBeNull();
    expect(exactCostUnsupported(dianaPlans, 'soft')).toMatch(/hard relaxation/);
    const dark = loadPlatform('darkside');
    const mbv1 = buildModel('mobilenetv1');
    expect(exactCostUnsupported(planLayers(dark, geometry(mbv1), 'mobilenetv1'), 'hard')).toMatch(/conv-vs-depthwise split/);
  });
});
