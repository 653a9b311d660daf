/** WASM Identity shares the buffer (src/backend/wasm/identity.ts): values, lifetime, leaks. */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../src/backend/engine.js';
import { compareWithCpu } from '../helpers/backends.js';

beforeAll(async () => { await initEngine('wasm'); });

describe('wasm Identity', () => {
  for (const shape of [[1], [2, 5, 7, 3], [128, 4, 4, 16]]) {
    it(`matches the CPU backend ${JSON.stringify(shape)}`, async () => {
      const r = await compareWithCpu('Identity', { x: { shape, seed: 3 } }, {});
      expect(r.shape).toEqual(shape);
      expect(r.err).toBe(0);
      expect(r.numTensorsLeaked).toBe(0);
    });
  }

  it('a clone outlives its source, and a variable assigned after cloning leaves the clone alone', async () => {
    await initEngine('wasm');
    const before = tf.memory().numTensors;
    const x = tf.tensor1d([1, 2, 3]);
    const c = tf.clone(x);
    x.dispose();
    expect(Array.from(c.dataSync())).toEqual([1, 2, 3]);
    const v = tf.variable(c);
    const saved = tf.clone(v);
    const next = tf.tensor1d([7, 8, 9]);
    v.assign(next);
    next.dispose();
    expect(Array.from(saved.dataSync())).toEqual([1, 2, 3]);
    expect(Array.from(v.dataSync())).toEqual([7, 8, 9]);
    tf.dispose([c, v, saved]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('gradients that save their inputs are unchanged (conv + relu + mul chain)', async () => {
    await initEngine('wasm');
    const x = tf.randomNormal([2, 6, 6, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 2) as tf.Tensor4D;
    const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.relu(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')), a.mean()));
    const g = tf.grads(f)([x, w]);
    const gw = g[1]!.dataSync();
    await tf.setBackend('cpu');
    const xc = tf.tensor(x.dataSync(), x.shape), wc = tf.tensor(w.dataSync(), w.shape);
    const gc = tf.grads(f)([xc, wc]);
    const ref = gc[1]!.dataSync();
    let maxErr = 0;
    for (let i = 0; i < ref.length; i++) maxErr = Math.max(maxErr, Math.abs(gw[i]! - ref[i]!) / (1 + Math.abs(ref[i]!)));
    expect(maxErr).toBeLessThan(1e-5);
    await tf.setBackend('wasm');
  });
});
