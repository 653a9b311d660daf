import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../src/backend/engine.js';
import type { ImageSet } from '../../src/data/cifar.js';
import { accuracies, testAccuracies } from '../../src/train/evaluate.js';

/**
 * 700 records (three inference batches of 256, the last partial); a "network" that reads
 * its prediction off the first R pixel (pixel = 20 × class), so which records it gets
 * right is known here: every third record is predicted one class off.
 */
const N = 700;
function dataset(): { set: ImageSet; right: boolean[] } {
  const images = new Uint8Array(N * 3072), labels = new Uint8Array(N);
  const right: boolean[] = [];
  for (let i = 0; i < N; i++) {
    labels[i] = (i * 7 + 3) % 10;
    const pred = i % 3 === 0 ? (labels[i]! + 1) % 10 : labels[i]!;
    images[i * 3072] = 20 * pred;
    right.push(pred === labels[i]);
  }
  return { set: { n: N, images, labels }, right };
}
const centers = () => tf.tensor2d(Array.from({ length: 10 }, (_, c) => (20 * c) / 255), [1, 10]);
/** logits_c = −|x[·,0,0,R] − 20c/255| ('unit' normalisation: x = pixel / 255). */
const logitsOf = (x: tf.Tensor4D) => tf.neg(tf.abs(tf.sub(tf.reshape(tf.slice(x, [0, 0, 0, 0], [x.shape[0], 1, 1, 1]), [x.shape[0], 1]), centers()))) as tf.Tensor2D;

const mean = (b: boolean[]) => b.filter(Boolean).length / b.length;

describe('accuracy in one pass over the records and a prefix of them', () => {
  beforeAll(async () => { await initEngine('wasm'); });

  it('counts the records and the prefix as the hand count does, in the order given', () => {
    const { set, right } = dataset();
    // A permuted subset of 611 records: the prefix is the first 300 of that order.
    const idx = Int32Array.from({ length: 611 }, (_, j) => (j * 263) % N);
    const before = tf.memory().numTensors;
    const a = accuracies(logitsOf, set, idx, 'unit', 300);
    expect(tf.memory().numTensors).toBe(before);
    expect(a.accuracy).toBeCloseTo(mean(Array.from(idx, (i) => right[i]!)), 12);
    expect(a.prefixAccuracy).toBeCloseTo(mean(Array.from(idx.subarray(0, 300), (i) => right[i]!)), 12);
    expect(Number.isNaN(accuracies(logitsOf, set, idx, 'unit').prefixAccuracy)).toBe(true);
    // A batch size that does not divide the records changes nothing.
    expect(accuracies(logitsOf, set, idx, 'unit', 300, 100)).toEqual(a);
  });

  it('test and genuine accuracies: the genuine records lead the test records', () => {
    const { set, right } = dataset();
    const all = Int32Array.from({ length: 650 }, (_, i) => i);
    const t = testAccuracies(logitsOf, set, all, 257, 'unit');
    expect(t.testAccuracy).toBeCloseTo(mean(right.slice(0, 650)), 12);
    expect(t.genuineTestAccuracy).toBeCloseTo(mean(right.slice(0, 257)), 12);
    // More genuine records than are tested: the tested ones; none known: null.
    expect(testAccuracies(logitsOf, set, all.subarray(0, 100), 257, 'unit').genuineTestAccuracy).toBeCloseTo(mean(right.slice(0, 100)), 12);
    expect(testAccuracies(logitsOf, set, all, null, 'unit').genuineTestAccuracy).toBeNull();
    expect(() => testAccuracies(logitsOf, set, all.subarray(5), 10, 'unit')).toThrow(/genuine records must lead/);
  });
});
