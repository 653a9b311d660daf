import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../src/backend/engine.js';
import { parseRecords, FORMATS, type ImageSet } from '../../src/data/cifar.js';
import { assembleBatch, epochBatches, trainValSplit, writeImage } from '../../src/data/pipeline.js';
import { Rng } from '../../src/models/rng.js';
import { fakeRecords } from '../helpers/fake_cifar.js';

const set: ImageSet = parseRecords(fakeRecords(10, 1, 1), FORMATS.cifar10, 'mem');
const px = (i: number, c: number, y: number, x: number) => set.images[i * 3072 + c * 1024 + y * 32 + x] / 255;

beforeAll(async () => { await initEngine('cpu'); });

describe('train/validation split', () => {
  it('is seeded, disjoint and complete', () => {
    const a = trainValSplit(100, 10, 7), b = trainValSplit(100, 10, 7), c = trainValSplit(100, 10, 8);
    expect(Array.from(a.val)).toEqual(Array.from(b.val));
    expect(Array.from(a.val)).not.toEqual(Array.from(c.val));
    expect(a.train.length).toBe(90);
    expect(new Set([...a.train, ...a.val]).size).toBe(100);
  });
});

describe('image assembly and augmentation', () => {
  it('without augmentation: NHWC, pixels / 255', () => {
    const out = new Float32Array(3072);
    writeImage(set, 3, out, 0, 0, 0, false, 'unit');
    expect(out[(5 * 32 + 7) * 3 + 2]).toBeCloseTo(px(3, 2, 5, 7), 6);
  });

  it('a crop shift moves pixels and fills the padding with zeros', () => {
    const out = new Float32Array(3072);
    writeImage(set, 3, out, 0, -4, 2, false, 'unit'); // window starts 4 above, 2 right
    expect(out[(0 * 32 + 0) * 3]).toBe(0); // row −4: padding
    expect(out[(4 * 32 + 0) * 3 + 1]).toBeCloseTo(px(3, 1, 0, 2), 6);
    expect(out[(10 * 32 + 30) * 3]).toBe(0); // column 32: padding
  });

  it('a flip mirrors the crop window', () => {
    const out = new Float32Array(3072);
    writeImage(set, 3, out, 0, 0, 0, true, 'unit');
    expect(out[(9 * 32 + 0) * 3]).toBeCloseTo(px(3, 0, 9, 31), 6);
    writeImage(set, 3, out, 0, 1, 3, true, 'unit');
    // flipped crop: out[y][x] = padded[y+1][31−x+3]
    expect(out[(2 * 32 + 10) * 3]).toBeCloseTo(px(3, 0, 3, 24), 6);
    expect(out[(2 * 32 + 0) * 3]).toBe(0); // source column 34: padding
  });

  it('mean/std normalisation', () => {
    const out = new Float32Array(3072);
    writeImage(set, 0, out, 0, 0, 0, false, 'meanstd');
    expect(out[0]).toBeCloseTo((px(0, 0, 0, 0) - 0.4914) / 0.2470, 5);
  });

  it('augmentation is reproducible for a seed', () => {
    const a = assembleBatch(set, [1, 2, 3], true, 4, 'unit', new Rng(3));
    const b = assembleBatch(set, [1, 2, 3], true, 4, 'unit', new Rng(3));
    expect(Buffer.from(a.xs.buffer).equals(Buffer.from(b.xs.buffer))).toBe(true);
  });
});

describe('epoch batches', () => {
  it('visit each index once (keeping the last partial batch), leak no tensors', () => {
    const before = tf.memory().numTensors;
    const seen: number[] = [];
    const idx = Int32Array.from([0, 1, 2, 3, 4, 5, 6]);
    for (const b of epochBatches(set, idx, { batchSize: 3, shuffle: true, augment: false, norm: 'unit', seed: 1, dropLast: false }, 0)) {
      seen.push(...Array.from(b.y.dataSync()));
      expect(b.x.shape.slice(1)).toEqual([32, 32, 3]);
      tf.dispose([b.x, b.y]);
    }
    expect(seen.sort()).toEqual(Array.from(idx).map((i) => set.labels[i]).sort());
    expect(tf.memory().numTensors).toBe(before);
  });

  it('drop the partial batch when training', () => {
    let n = 0;
    for (const b of epochBatches(set, Int32Array.from([0, 1, 2, 3, 4, 5, 6]), { batchSize: 3, shuffle: true, augment: true, norm: 'unit', seed: 1, dropLast: true }, 0)) {
      n += b.size;
      tf.dispose([b.x, b.y]);
    }
    expect(n).toBe(6);
  });
});
