/**
 * Per-channel ops with hand-written gradients (src/models/channel.ts) against TF.js's own
 * autodiff of the same expression on the CPU backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../src/backend/engine.js';
import { addBias, channelSum, mixChannels } from '../../src/models/channel.js';
import { relError, seededData, useBackend } from '../helpers/backends.js';

const SHAPES: [number, number, number, number][] = [[2, 5, 7, 3], [1, 1, 1, 4], [3, 4, 4, 1], [4, 9, 9, 6]];

function t(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(seededData(shape.reduce((a, b) => a * b, 1), seed), shape);
}

/** Value and gradients of sum(f(...)·w) for a fixed random weighting w. */
function valueAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], w: tf.Tensor): Float32Array[] {
  const { value, grads } = tf.valueAndGrads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), w)))(inputs);
  const out = [value, ...grads].map((g) => g.dataSync() as Float32Array);
  tf.dispose([value, ...grads]);
  return out;
}

async function compare(ours: (...xs: tf.Tensor[]) => tf.Tensor, reference: (...xs: tf.Tensor[]) => tf.Tensor,
  shapes: number[][], outShape: number[]) {
  await useBackend('cpu');
  const mk = () => ({ xs: shapes.map((s, i) => t(s, 10 + i)), w: t(outShape, 99) });
  let { xs, w } = mk();
  const ref = valueAndGrads(reference, xs, w);
  tf.dispose([...xs, w]);
  for (const backend of ['cpu', 'wasm'] as const) {
    await useBackend(backend);
    ({ xs, w } = mk());
    const before = tf.memory().numTensors;
    const got = valueAndGrads(ours, xs, w);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([...xs, w]);
    got.forEach((g, i) => expect(relError(g, ref[i]!), `${backend} output ${i}`).toBeLessThan(1e-5));
  }
}

beforeAll(async () => { await initEngine('wasm'); });

describe('per-channel ops with hand-written gradients', () => {
  for (const s of SHAPES) {
    const c = s[3];
    it(`channelSum ${JSON.stringify(s)} equals tf.sum over N, H, W`, async () => {
      await compare((x) => channelSum(x!), (x) => tf.sum(x!, [0, 1, 2]), [s], [c]);
    });
    it(`addBias ${JSON.stringify(s)}: value and gradients of y + b`, async () => {
      await compare((y, b) => addBias(y as tf.Tensor4D, b!), (y, b) => tf.add(y!, b!), [s, [c]], s);
    });
    it(`mixChannels ${JSON.stringify(s)}: value and gradients of a·m + b·(1 − m)`, async () => {
      await compare((a, b, m) => mixChannels(a as tf.Tensor4D, b as tf.Tensor4D, m!),
        (a, b, m) => tf.add(tf.mul(a!, m!), tf.mul(b!, tf.sub(1, m!))), [s, s, [c]], s);
    });
  }
});
