/**
 * The warm start's channel scores against a plain-loop computation of their formulas
 * (search/sensitivity.ts): per micro-batch gradients of the all-precise network, the
 * weight change d = Q_analog(w) − Q_digital(w) per output channel,
 *   taylor: −|Σ ḡ·d| with ḡ summed over batches,
 *   fisher: −(Σ ḡ·d + ½ Σ H d²), ḡ the mean gradient, H = B · mean_b g_b²;
 *   channel-fisher: −½ (B·(mean_b t_b² − t̄²) + t̄²) with t_b = g_b·d per channel;
 * and the measured score against the calibrated loss of each probe mapping, step by step.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../src/backend/engine.js';
import { planLayers } from '../../src/hw/cost.js';
import { loadPlatform } from '../../src/hw/platform.js';
import { initParams } from '../../src/models/params.js';
import { geometry } from '../../src/models/spec.js';
import { buildModel } from '../../src/models/zoo.js';
import { SearchModel } from '../../src/search/model.js';
import { measuredPreferences, sensitivityPreferences } from '../../src/search/sensitivity.js';
import { crossEntropy } from '../../src/train/loss.js';

beforeAll(async () => { await initEngine('wasm'); });

describe('sensitivityPreferences', () => {
  it('taylor, fisher and channel-fisher match their formulas computed channel by channel; the precise CU scores 0', () => {
    const p = loadPlatform('diana');
    const spec = buildModel('tinycnn');
    const plans = planLayers(p, geometry(spec), 'tinycnn');
    const float = initParams(spec, 4);
    const m = SearchModel.fromFloat(spec, float, p, plans, { relaxation: 'hard' });
    float.dispose();
    const B = 3;
    const batches = [0, 1].map((s) => ({
      x: tf.randomUniform([B, 32, 32, 3], 0, 1, 'float32', 10 + s) as tf.Tensor4D,
      y: tf.tensor1d([s, 3, 7], 'int32') as tf.Tensor1D,
    }));
    const digital = p.cus.findIndex((c) => c.weights !== 'ternary');
    const analog = 1 - digital;
    // Reference: gradients per batch, by hand.
    const wVars = spec.layers.map((l) => m.group('weights').get(`${l.name}.w`)!);
    m.fix(spec.layers.map((l) => Array(l.cout).fill(digital)));
    const grads = batches.map((b) => {
      const { grads: g } = tf.variableGrads(() => crossEntropy(m.forward(b.x).logits, b.y), wVars);
      const arrays = wVars.map((v) => g[v.name]!.dataSync().slice() as Float32Array);
      tf.dispose(Object.values(g));
      return arrays;
    });
    m.unfix();
    const taylor = sensitivityPreferences(m, batches, crossEntropy, 'taylor');
    const fisher = sensitivityPreferences(m, batches, crossEntropy, 'fisher');
    const live = tf.memory().numTensors;
    const channel = sensitivityPreferences(m, batches, crossEntropy, 'channel-fisher');
    expect(tf.memory().numTensors).toBe(live); // every probe's d and running sums freed
    let checked = 0;
    spec.layers.forEach((l, k) => {
      const plan = plans[k]!;
      if (!plan.searchable || plan.mode !== 'per-channel') return;
      const qa = m.quantizedWeights(k, analog), qd = m.quantizedWeights(k, digital);
      const a = qa.dataSync(), dgt = qd.dataSync();
      tf.dispose([qa, qd]);
      const C = l.cout, n = a.length; // HWIO: the output channel is the fastest axis
      const first = new Float64Array(C), second = new Float64Array(C), firstSum = new Float64Array(C);
      const t0 = new Float64Array(C), t1 = new Float64Array(C);
      for (let j = 0; j < n; j++) {
        const c = j % C, d = a[j]! - dgt[j]!;
        const g0 = grads[0]![k]![j]!, g1 = grads[1]![k]![j]!;
        t0[c] += g0 * d;
        t1[c] += g1 * d;
        firstSum[c] += (g0 + g1) * d;
        first[c] += ((g0 + g1) / 2) * d;
        second[c] += 0.5 * B * ((g0 * g0 + g1 * g1) / 2) * d * d;
      }
      for (let c = 0; c < C; c++) {
        expect(taylor[k]![c]![digital]).toBe(0);
        expect(fisher[k]![c]![digital]).toBe(0);
        const tol = (x: number) => 1e-4 * Math.abs(x) + 1e-9;
        expect(Math.abs(taylor[k]![c]![analog]! + Math.abs(firstSum[c]!))).toBeLessThan(tol(firstSum[c]!));
        const want = -(first[c]! + second[c]!);
        expect(Math.abs(fisher[k]![c]![analog]! - want)).toBeLessThan(tol(want) + 1e-4 * Math.abs(second[c]!));
        // channel-fisher: the per-image E[(g·d)²] from two micro-batches of B images
        const tm = (t0[c]! + t1[c]!) / 2, t2 = (t0[c]! ** 2 + t1[c]! ** 2) / 2;
        const wantChannel = -0.5 * (B * Math.max(0, t2 - tm * tm) + tm * tm);
        expect(channel[k]![c]![digital]).toBe(0);
        expect(channel[k]![c]![analog]!).toBeLessThanOrEqual(0);
        expect(Math.abs(channel[k]![c]![analog]! - wantChannel)).toBeLessThan(tol(wantChannel) + 1e-6 * Math.abs(t2));
        checked++;
      }
      // The curvature term is non-negative and, on random weights, not negligible.
      expect(Math.max(...second)).toBeGreaterThan(0);
    });
    expect(checked).toBeGreaterThan(0);
    tf.dispose(batches.flatMap((b) => [b.x, b.y]));
    m.dispose();
  });

  it('measured: per layer, the calibrated loss increase with the whole layer on the cheaper CU, spread by taylor; parameters restored', () => {
    const p = loadPlatform('diana');
    const spec = buildModel('tinycnn');
    const plans = planLayers(p, geometry(spec), 'tinycnn');
    const float = initParams(spec, 7);
    const m = SearchModel.fromFloat(spec, float, p, plans, { relaxation: 'hard' });
    float.dispose();
    const batches = [0, 1].map((s) => ({
      x: tf.randomUniform([4, 32, 32, 3], 0, 1, 'float32', 20 + s) as tf.Tensor4D,
      y: tf.tensor1d([s, 2, 5, 9], 'int32') as tf.Tensor1D,
    }));
    const digital = p.cus.findIndex((c) => c.weights !== 'ternary');
    const analog = 1 - digital;
    const before = new Map([...m.params.trainable].map(([k, v]) => [k, v.dataSync().slice()]));
    const taylor = sensitivityPreferences(m, batches, crossEntropy, 'taylor');
    const measured = measuredPreferences(m, batches, crossEntropy, taylor);
    // every parameter as it was
    for (const [k, v] of m.params.trainable) expect(Array.from(v.dataSync())).toEqual(Array.from(before.get(k)!));
    // Reference, step by step: from the same parameters, calibrate each mapping and take the mean loss.
    const xs = batches.map((b) => b.x);
    const lossAt = (assignment: number[][]) => {
      for (const [k, v] of m.params.trainable) v.assign(tf.tensor(before.get(k)!, v.shape));
      m.fix(assignment);
      m.calibrate(xs);
      const l = batches.map((b) => tf.tidy(() => crossEntropy(m.forward(b.x).logits, b.y).dataSync()[0]!));
      return (l[0]! + l[1]!) / 2;
    };
    const allDigital = spec.layers.map((l) => Array<number>(l.cout).fill(digital));
    const base = lossAt(allDigital);
    let checked = 0;
    spec.layers.forEach((l, k) => {
      const plan = plans[k]!;
      if (!plan.searchable || plan.mode !== 'per-channel') {
        expect(measured[k]).toEqual(taylor[k]);
        return;
      }
      const want = Math.max(0, lossAt(allDigital.map((a, j) => (j === k ? a.map(() => analog) : a))) - base);
      const got = measured[k]!.reduce((a, row) => a - row[analog]!, 0);
      expect(Math.abs(got - want)).toBeLessThan(1e-5 + 1e-4 * want);
      // within the layer, in proportion to taylor
      const t = taylor[k]!.map((row) => -row[analog]!), tSum = t.reduce((a, b) => a + b, 0);
      measured[k]!.forEach((row, c) => {
        expect(row[digital]).toBe(0);
        expect(Math.abs(-row[analog]! - want * t[c]! / tSum)).toBeLessThan(1e-6 + 1e-4 * want);
      });
      if (want > 0) checked++;
    });
    expect(checked).toBeGreaterThan(0);
    tf.dispose(batches.flatMap((b) => [b.x, b.y]));
    m.dispose();
  });
});
