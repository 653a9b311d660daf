import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { layerCost, planLayers, type LayerPlan } from '../../src/hw/cost.js';
import { loadPlatform, type Platform } from '../../src/hw/platform.js';
import { SoftCost } from '../../src/hw/soft.js';
import { Rng } from '../../src/models/rng.js';
import { geometry } from '../../src/models/spec.js';
import { buildModel } from '../../src/models/zoo.js';
import { useBackend } from '../helpers/backends.js';

beforeAll(async () => { await useBackend('wasm'); });

const CASES: [string, string][] = [['diana', 'resnet20'], ['darkside', 'mobilenetv1'], ['diana-riscv', 'resnet8'], ['diana', 'mobilenetv1']];

function setup(platform: string, model: string) {
  const p = loadPlatform(platform);
  const plans = planLayers(p, geometry(buildModel(model)), model);
  return { p, plans };
}

/** counts[l][i] → tensor [numCUs, layers]. */
function toTensor(p: Platform, counts: number[][]): tf.Tensor2D {
  return tf.tensor2d(p.cus.map((_, i) => counts.map((c) => c[i]!)));
}

function randomSplit(p: Platform, plan: LayerPlan, rng: Rng): number[] {
  const counts = p.cus.map(() => 0);
  let left = plan.layer.cout;
  plan.eligible.forEach((i, k) => {
    const n = k === plan.eligible.length - 1 ? left : Math.floor(rng.next() * (left + 1));
    counts[i] = n; left -= n;
  });
  return counts;
}

function compare(p: Platform, plans: LayerPlan[], counts: number[][], temperature: number) {
  const sc = new SoftCost(p, plans, { temperature });
  const r = sc.evaluate(toTensor(p, counts));
  const cycles = r.cycles.arraySync();
  const lat = r.layerLatency.arraySync();
  const en = r.layerEnergy.arraySync();
  tf.dispose(Object.values(r)); sc.dispose();
  return plans.map((plan, l) => ({ hard: layerCost(p, plan, counts[l]!), cycles: p.cus.map((_, i) => cycles[i]![l]!), lat: lat[l]!, en: en[l]! }));
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

describe('soft cost (the differentiable twin of the hard cost)', () => {
  it.each(CASES)('%s/%s: equals the hard cost at one-hot integer counts', (platform, model) => {
    const { p, plans } = setup(platform, model);
    for (const cu of p.cus) {
      const counts = plans.map((plan) => {
        const c = p.cus.map(() => 0);
        c[plan.views[cu.index] ? cu.index : plan.eligible[0]!] = plan.layer.cout;
        return c;
      });
      for (const row of compare(p, plans, counts, 0.05)) {
        row.cycles.forEach((c, i) => expect(rel(c, row.hard.cycles[i]!)).toBeLessThan(1e-6));
        expect(rel(row.lat, row.hard.latencyCycles)).toBeLessThan(1e-6);
        expect(rel(row.en, row.hard.energyMJ)).toBeLessThan(1e-6);
      }
    }
  });

  it.each(CASES)('%s/%s: at integer splits, per-CU cycles are exact and max/min converge as temperature -> 0', (platform, model) => {
    const { p, plans } = setup(platform, model);
    const rng = new Rng(3);
    const counts = plans.map((plan) => randomSplit(p, plan, rng));
    let prevLat = Infinity;
    for (const tau of [0.3, 0.05, 0.01, 1e-3]) {
      const rows = compare(p, plans, counts, tau);
      let latErr = 0, enErr = 0;
      rows.forEach((row, l) => {
        row.cycles.forEach((c, i) => expect(rel(c, row.hard.cycles[i]!)).toBeLessThan(1e-6));
        // bound: |smooth max - max| <= (#CUs - 1)*s*tau/e, s = the layer's cheapest all-on-one latency
        const plan = plans[l]!;
        const s = Math.min(...plan.eligible.map((i) => layerCost(p, plan, p.cus.map((_, j) => (j === i ? plan.layer.cout : 0))).latencyCycles));
        expect(Math.abs(row.lat - row.hard.latencyCycles)).toBeLessThanOrEqual((p.cus.length - 1) * s * tau / Math.E * (1 + 1e-5) + 1e-3);
        latErr += Math.abs(row.lat - row.hard.latencyCycles) / row.hard.latencyCycles;
        enErr += rel(row.en, row.hard.energyMJ);
      });
      expect(latErr).toBeLessThanOrEqual(prevLat + 1e-5); // down to float32 noise
      prevLat = latErr;
      if (tau === 1e-3) {
        expect(latErr / rows.length).toBeLessThan(1e-4);
        expect(enErr / rows.length).toBeLessThan(1e-3);
      }
    }
  });

  it('gradients w.r.t. n: hand-computed straight-through values on DIANA conv1', () => {
    const { p, plans } = setup('diana', 'resnet20');
    const sc = new SoftCost(p, plans);
    const base = plans.map((plan) => [plan.layer.cout / 2, plan.layer.cout / 2]);
    base[0] = [8.5, 7.5];
    const pick = (cu: number) => tf.grad((c: tf.Tensor) => tf.slice(sc.evaluate(c as tf.Tensor2D).cycles, [cu, 0], [1, 1]).sum());
    const counts = toTensor(p, base);
    const gD = pick(0)(counts).arraySync() as number[][];
    const gA = pick(1)(counts).arraySync() as number[][];
    // digital: d/dn [ceil(n/16)*1728 + h*w*(n+3)/8] = 1728/16 (straight-through ceil) + 1024/8 = 236
    expect(gD[0]![0]).toBeCloseTo(236, 3);
    expect(gD[1]![0]).toBe(0);
    // analog: d/dn [216 + ceil(n/512)*1*1024/4*18.2] = 4659.2/512 = 9.1 (u is piecewise constant)
    expect(gA[1]![0]).toBeCloseTo(9.1, 4);
    // the gate: at n = 0.5 the analog CU is charged t = r*(r*216 + ceil(n/512)*4659.2), r = ramp(n) = 0.5:
    // dt/dn = 1*(0.5*216 + 4659.2) + 0.5*(216 + 9.1) = 4879.75 > 0
    base[0] = [15.5, 0.5];
    const g0 = pick(1)(toTensor(p, base)).arraySync() as number[][];
    expect(g0[1]![0]).toBeCloseTo(4879.75, 1);
    sc.dispose();
  });

  it('gradients w.r.t. n point the right way for latency and energy', () => {
    const { p, plans } = setup('diana', 'resnet20');
    const sc = new SoftCost(p, plans);
    const counts = toTensor(p, plans.map((plan) => [plan.layer.cout / 2, plan.layer.cout / 2]));
    const gLat = tf.grad((c: tf.Tensor) => sc.evaluate(c as tf.Tensor2D).latency)(counts).arraySync() as number[][];
    const gEn = tf.grad((c: tf.Tensor) => sc.evaluate(c as tf.Tensor2D).energy)(counts).arraySync() as number[][];
    plans.forEach((plan, l) => {
      const hard = layerCost(p, plan, [plan.layer.cout / 2, plan.layer.cout / 2]);
      const slow = hard.cycles[0]! > hard.cycles[1]! ? 0 : 1;
      // more channels never make a CU cheaper ...
      expect(gLat[slow]![l]).toBeGreaterThan(0);
      expect(gEn[0]![l]).toBeGreaterThan(0);
      expect(gEn[1]![l]).toBeGreaterThan(0);
      // ... and moving a channel off the bottleneck CU lowers the latency
      expect(gLat[1 - slow]![l]! - gLat[slow]![l]!).toBeLessThan(0);
    });
    sc.dispose();
  });

  it('allocates nothing that outlives the call', () => {
    const { p, plans } = setup('diana-riscv', 'resnet20');
    const sc = new SoftCost(p, plans);
    const counts = toTensor(p, plans.map((plan) => [plan.layer.cout, 0, 0]));
    const before = tf.memory().numTensors;
    for (let k = 0; k < 3; k++) {
      const g = tf.grad((c: tf.Tensor) => sc.evaluate(c as tf.Tensor2D).energy)(counts);
      g.dispose();
      tf.dispose(Object.values(sc.evaluate(counts)));
    }
    expect(tf.memory().numTensors).toBe(before);
    sc.dispose(); counts.dispose();
  });
});
