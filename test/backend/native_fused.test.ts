/**
 * The fused kernels of the native addon and of hetsplit's WebAssembly module (training BatchNorm and its gradient, PACT both ways) against
 * the compositions they replace, run on TF.js's CPU backend: values, batch statistics and
 * gradients, on odd shapes; and no tensor leaks over repeated training steps.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initEngine } from '../../src/backend/engine.js';
import { loadNative } from '../../src/backend/native/addon.js';
import { batchNormTrain } from '../../src/models/batchnorm.js';
import { pactQuant } from '../../src/quant/quantizers.js';
import { BATCH_NORM } from '../../src/util/kernel_names.js';
import { relError, seededData, useBackend } from '../helpers/backends.js';

tf.env().set('PROD', true);
const { addon } = loadNative();
// The native addon where it built, and hetsplit's own WebAssembly module (always there).
const sets = [...(addon ? ['native' as const] : []), 'wasm' as const];

/** y, the statistics and the gradients of Σ(y·w) w.r.t. x, γ, β, as plain arrays. */
function bnRun(shape: [number, number, number, number], eps: number) {
  const n = shape.reduce((a, b) => a * b, 1), c = shape[3];
  const x = tf.tensor4d(seededData(n, 1).map((v) => 3 * v + 0.5), shape);
  const g = tf.tensor1d(seededData(c, 2)), b = tf.tensor1d(seededData(c, 3));
  const w = tf.tensor4d(seededData(n, 4), shape);
  let mean: Float32Array = new Float32Array(), variance: Float32Array = new Float32Array();
  const y = batchNormTrain(x, g, b, eps, (s) => { mean = s.mean.dataSync() as Float32Array; variance = s.variance.dataSync() as Float32Array; });
  const grads = tf.grads((xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
    tf.sum(tf.mul(batchNormTrain(xx as tf.Tensor4D, gg as tf.Tensor1D, bb as tf.Tensor1D, eps), w)))([x, g, b]);
  const out = { y: y.dataSync() as Float32Array, mean, variance, grads: grads.map((t) => t.dataSync() as Float32Array) };
  tf.dispose([x, g, b, w, y, ...grads]);
  return out;
}

for (const set of sets) describe(`${set} fused BatchNorm`, () => {
  for (const shape of [[4, 8, 8, 16], [3, 5, 7, 5], [2, 1, 1, 64], [1, 9, 9, 19]] as [number, number, number, number][]) {
    it(`matches the composition on the CPU backend: ${JSON.stringify(shape)}`, async () => {
      await useBackend('cpu');
      const ref = bnRun(shape, 1e-5);
      await initEngine('wasm', undefined, set);
      expect(tf.getKernel(BATCH_NORM, 'wasm')).toBeTruthy();
      const got = bnRun(shape, 1e-5);
      expect(relError(ref.y, got.y)).toBeLessThan(1e-5);
      expect(relError(ref.mean, got.mean)).toBeLessThan(1e-5);
      expect(relError(ref.variance, got.variance)).toBeLessThan(1e-5);
      for (let i = 0; i < 3; i++) expect(relError(ref.grads[i]!, got.grads[i]!)).toBeLessThan(1e-4);
    });
  }

  it('the tfjs kernel set has no fused BatchNorm (the composition runs)', async () => {
    await initEngine('wasm', undefined, 'tfjs');
    expect(tf.getKernel(BATCH_NORM, 'wasm')).toBeUndefined();
    await initEngine('wasm', undefined, set);
    expect(tf.getKernel(BATCH_NORM, 'wasm')).toBeTruthy();
  });

  it('keeps numTensors flat over repeated training steps', async () => {
    await initEngine('wasm', undefined, set);
    const x = tf.tensor4d(seededData(2 * 6 * 6 * 8, 1), [2, 6, 6, 8]);
    const g = tf.variable(tf.ones([8])), b = tf.variable(tf.zeros([8]));
    const step = () => tf.tidy(() => {
      const { grads } = tf.variableGrads(() => tf.sum(tf.square(batchNormTrain(x, g as unknown as tf.Tensor1D, b as unknown as tf.Tensor1D, 1e-5))) as tf.Scalar, [g, b]);
      g.assign(tf.sub(g, tf.mul(grads[g.name]!, 0.01)));
    });
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, g, b]);
  });
});

for (const set of sets) describe(`${set} PACT`, () => {
  for (const [n, bits, clip] of [[1000, 8, 6], [70001, 4, 2.5], [3, 2, 1]] as [number, number, number][]) {
    it(`forward and gradients match the CPU backend: ${n} values, ${bits} bits, clip ${clip}`, async () => {
      const run = () => {
        const x = tf.tensor1d(seededData(n, 5).map((v) => 4 * v + 1));
        const a = tf.scalar(clip), w = tf.tensor1d(seededData(n, 6));
        const y = pactQuant(x, a, bits);
        const [dx, da] = tf.grads((xx: tf.Tensor, aa: tf.Tensor) => tf.sum(tf.mul(pactQuant(xx, aa, bits), w)))([x, a]);
        const out = [y, dx!, da!].map((t) => t.dataSync() as Float32Array);
        tf.dispose([x, a, w, y, dx!, da!]);
        return out;
      };
      await useBackend('cpu');
      const ref = run();
      await initEngine('wasm', undefined, set);
      const got = run();
      expect(relError(ref[0]!, got[0]!)).toBe(0);
      expect(relError(ref[1]!, got[1]!)).toBe(0);
      expect(relError(ref[2]!, got[2]!)).toBeLessThan(1e-5);
    });
  }
});
