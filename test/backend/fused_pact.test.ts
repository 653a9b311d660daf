import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { pactQuant, pactQuantComposite } from '../../src/quant/quantizers.js';
import { useBackend } from '../helpers/backends.js';

/** Values around every regime: negative, exactly 0, inside, on the grid, at/above the clip. */
function data(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const u = s / 2 ** 31;
    out[i] = i % 11 === 0 ? 0 : i % 13 === 0 ? 7.9375 : (u - 0.2) * 10;
  }
  return out;
}

async function run(backend: 'cpu' | 'wasm', fused: boolean, bits: number, clip: number) {
  await useBackend(backend);
  const x = tf.tensor4d(data(2 * 5 * 7 * 3, 9), [2, 5, 7, 3]);
  const a = tf.scalar(clip);
  const dy = tf.tensor4d(data(2 * 5 * 7 * 3, 4), [2, 5, 7, 3]);
  const f = fused ? pactQuant : pactQuantComposite;
  const y = f(x, a, bits);
  const [gx, ga] = tf.grads((xx: tf.Tensor, aa: tf.Tensor) => f(xx, aa, bits))([x, a], dy);
  const out = { y: Array.from(y.dataSync()), gx: Array.from(gx!.dataSync()), ga: ga!.dataSync()[0]! };
  tf.dispose([x, a, dy, y, gx!, ga!]);
  return out;
}

describe('fused PACT kernels (wasm and cpu) vs the composite TF.js ops on cpu', () => {
  for (const [bits, clip] of [[7, 6], [7, 1], [8, 3.3], [4, 0.7]] as const) {
    it(`bits ${bits}, clip ${clip}: identical values and gradients`, async () => {
      const ref = await run('cpu', false, bits, clip);
      // the fused path really is taken on both backends
      expect(tf.getKernel('HetsplitPact', 'wasm')).toBeTruthy();
      expect(tf.getKernel('HetsplitPactGrad', 'cpu')).toBeTruthy();
      for (const backend of ['wasm', 'cpu'] as const) {
        const got = await run(backend, true, bits, clip);
        expect(got.y).toEqual(ref.y);
        expect(got.gx).toEqual(ref.gx);
        // a float32 sum of up to 210 terms: equal to a few ulps (the native kernel sums in another order)
        expect(Math.abs(got.ga - ref.ga)).toBeLessThanOrEqual(1e-6 * Math.abs(ref.ga) + 1e-6);
      }
      expect(ref.ga).not.toBe(0); // some inputs are above the clip
      expect(ref.gx.some((v) => v === 0) && ref.gx.some((v) => v !== 0)).toBe(true);
    });
  }
});

describe('fused PACT on WASM when an output allocation grows the heap', () => {
  it('reads its inputs after allocating (views taken before a heap growth are detached)', async () => {
    await useBackend('wasm');
    // Large enough that allocating the outputs grows the WASM heap at least once.
    const n = 3 * 2 ** 22;
    const x = tf.tensor1d(data(n, 5)), dy = tf.tensor1d(data(n, 6)), a = tf.scalar(6);
    const [gx, ga] = tf.grads((xx: tf.Tensor, aa: tf.Tensor) => pactQuant(xx, aa, 7))([x, a], dy);
    const y = pactQuant(x, a, 7);
    const xs = x.dataSync(), g = dy.dataSync(), ys = y.dataSync(), dxs = gx!.dataSync();
    let above = 0;
    for (let i = 0; i < n; i += 997) {
      const v = xs[i]!;
      expect(ys[i]).toBe(Math.floor(Math.min(Math.max(v, 0), 7.9375) * 16) / 16);
      expect(dxs[i]).toBe(v > 0 && v < 7.9375 ? g[i] : 0);
    }
    for (let i = 0; i < n; i++) if (xs[i]! >= 7.9375) above += g[i]!;
    expect(ga!.dataSync()[0]).toBeCloseTo(above, -1);
    tf.dispose([x, dy, a, y, gx!, ga!]);
  });
});
