/**
 * The fused weight quantizer kernels (src/backend/fused/weight_quant.ts) against the
 * TF.js-op compositions they replace, on the 'cpu' and 'wasm' backends: the forward bit for
 * bit (round half to even included), both gradients to float rounding, per-tensor and
 * per-channel scales (depthwise [C, 1] too), values exactly on rounding ties; numTensors flat.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initEngine } from '../../src/backend/engine.js';
import { WEIGHT_QUANT } from '../../src/backend/fused/weight_quant.js';
import {
  pow2WeightQuant, pow2WeightQuantComposite, ternaryWeightQuant, ternaryWeightQuantComposite,
} from '../../src/quant/quantizers.js';
import { relError, seededData, useBackend } from '../helpers/backends.js';

type Quant = (w: tf.Tensor, p: tf.Tensor) => tf.Tensor;

/** y, dL/dw and dL/dp of L = Σ y·g, as plain arrays. */
function run(q: Quant, w: tf.Tensor, p: tf.Tensor, g: tf.Tensor): Float32Array[] {
  return tf.tidy(() => {
    const y = q(w, p);
    const [dw, dp] = tf.grads((ww: tf.Tensor, pp: tf.Tensor) => tf.sum(tf.mul(q(ww, pp), g)))([w, p]);
    return [y, dw!, dp!].map((t) => t.dataSync() as Float32Array);
  });
}

interface Case { name: string; wShape: number[]; p: () => tf.Tensor; fused: Quant; composite: Quant; ties?: number }
const cases: Case[] = [
  { name: 'pow2 8-bit, one scale', wShape: [3, 3, 5, 7], p: () => tf.scalar(0.9), fused: (w, p) => pow2WeightQuant(w, p, 8), composite: (w, p) => pow2WeightQuantComposite(w, p, 8) },
  { name: 'pow2 4-bit, ties', wShape: [3, 3, 4, 6], p: () => tf.scalar(1.2), fused: (w, p) => pow2WeightQuant(w, p, 4), composite: (w, p) => pow2WeightQuantComposite(w, p, 4), ties: 7 },
  { name: 'ternary per channel', wShape: [3, 3, 5, 7], p: () => tf.tensor1d(seededData(7, 9).map((v) => -1 + 0.5 * v)), fused: (w, p) => ternaryWeightQuant(w, p), composite: (w, p) => ternaryWeightQuantComposite(w, p) },
  { name: 'ternary, gradient passed outside, ties', wShape: [1, 1, 9, 4], p: () => tf.tensor1d([0, -0.5, -1, 0.3]), fused: (w, p) => ternaryWeightQuant(w, p, true), composite: (w, p) => ternaryWeightQuantComposite(w, p, true), ties: 1 },
  { name: 'ternary depthwise [C, 1]', wShape: [3, 3, 6, 1], p: () => tf.tensor2d(seededData(6, 4).map((v) => -1 + 0.5 * v), [6, 1]), fused: (w, p) => ternaryWeightQuant(w, p), composite: (w, p) => ternaryWeightQuantComposite(w, p) },
];

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`fused weight quantizers on ${backend}`, () => {
    for (const c of cases) {
      it(`${c.name}: forward exact, gradients to float rounding`, async () => {
        if (backend === 'wasm') await initEngine('wasm'); else await useBackend('cpu');
        expect(tf.getKernel(WEIGHT_QUANT, backend)).toBeTruthy();
        const n = c.wShape.reduce((a, b) => a * b, 1);
        let data = seededData(n, 3).map((v) => 1.5 * v);
        const p = c.p();
        if (c.ties) {
          // Put every third weight exactly on a rounding tie: w/S·L = k + 0.5.
          const S = p.rank === 0 ? 2 ** Math.floor(Math.log2(p.dataSync()[0]!)) : null;
          data = data.map((v, i) => (S !== null && i % 3 === 0 ? S * (Math.floor(v * c.ties!) + 0.5) / c.ties! : v));
        }
        const w = tf.tensor(data, c.wShape), g = tf.tensor(seededData(n, 5), c.wShape);
        const a = run(c.fused, w, p, g), b = run(c.composite, w, p, g);
        // (+0 and −0 compare equal: WASM's Round gives −0 for −0.5, the CPU's +0.)
        expect(Array.from(a[0]!, (v) => v + 0)).toEqual(Array.from(b[0]!, (v) => v + 0));
        expect(relError(b[1]!, a[1]!)).toBeLessThan(1e-6);
        expect(relError(b[2]!, a[2]!)).toBeLessThan(1e-5);
        const before = tf.memory().numTensors;
        for (let i = 0; i < 5; i++) run(c.fused, w, p, g);
        expect(tf.memory().numTensors).toBe(before);
        tf.dispose([w, g, p]);
      });
    }
  });
}
