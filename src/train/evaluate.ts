/**
 * A network's accuracy over image records, in one inference pass: over all the records
 * given and over their first `prefix` (the genuine-pixel test records, which lead the
 * test set), so the test set and its genuine records cost one pass, not two.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ImageSet } from '../data/cifar.js';
import { epochBatches, type Normalization } from '../data/pipeline.js';

/** Images per inference batch. */
export const EVAL_BATCH = 256;

export interface Accuracies {
  /** Over every record of `indices`. */
  accuracy: number;
  /** Over the first `prefix` of them (NaN when prefix is 0). */
  prefixAccuracy: number;
}

export function accuracies(logitsOf: (x: tf.Tensor4D) => tf.Tensor2D, set: ImageSet, indices: Int32Array,
  norm: Normalization, prefix = 0, batchSize = EVAL_BATCH): Accuracies {
  const p = Math.min(prefix, indices.length);
  let correct = 0, prefixCorrect = 0, at = 0;
  for (const b of epochBatches(set, indices, { batchSize, shuffle: false, augment: false, norm, seed: 0, dropLast: false }, 0)) {
    const hits = tf.tidy(() => tf.cast(tf.equal(tf.argMax(logitsOf(b.x), 1), tf.cast(b.y, 'int32')), 'int32').dataSync());
    tf.dispose([b.x, b.y]);
    for (let i = 0; i < hits.length; i++, at++) {
      correct += hits[i]!;
      if (at < p) prefixCorrect += hits[i]!;
    }
  }
  return { accuracy: indices.length ? correct / indices.length : NaN, prefixAccuracy: p ? prefixCorrect / p : NaN };
}

/**
 * Test accuracy over the records `all` and over the genuine records among them (the first
 * `genuine` of the set, when the data source knows them; `all` starts at record 0).
 */
export function testAccuracies(logitsOf: (x: tf.Tensor4D) => tf.Tensor2D, set: ImageSet, all: Int32Array,
  genuine: number | null, norm: Normalization): { testAccuracy: number; genuineTestAccuracy: number | null } {
  const g = genuine ? Math.min(genuine, all.length) : 0;
  if (g && all[g - 1] !== g - 1) throw new Error('testAccuracies: the genuine records must lead the records evaluated');
  const a = accuracies(logitsOf, set, all, norm, g);
  return { testAccuracy: a.accuracy, genuineTestAccuracy: g ? a.prefixAccuracy : null };
}
