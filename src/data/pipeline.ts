/**
 * Splits, augmentation and batching. Images stay uint8 (CHW planes, as stored) until a
 * batch is assembled into NHWC float32: random crop 32 with 4-pixel zero padding and a
 * horizontal flip on the training split only; normalisation is configurable.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../models/rng.js';
import { PIXELS, type ImageSet } from './cifar.js';

/**
 * Input preprocessing: 'unit' (pixels / 255), 'meanstd' (CIFAR-10's channel statistics),
 * or an imported network's own: x = (pixel·scale − mean[c]) / std[c].
 */
export type Normalization = 'unit' | 'meanstd' | { scale: number; mean: number[]; std: number[] };

/** CIFAR-10 per-channel statistics of the training set (on 0..1 pixels). */
const CIFAR_MEAN = [0.4914, 0.4822, 0.4465];
const CIFAR_STD = [0.2470, 0.2435, 0.2616];

/** Per channel, x = pixel·scale[c] + shift[c]. */
export function normCoefficients(norm: Normalization): { scale: number[]; shift: number[] } {
  const t = norm === 'unit' ? { scale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1] }
    : norm === 'meanstd' ? { scale: 1 / 255, mean: CIFAR_MEAN, std: CIFAR_STD } : norm;
  return { scale: t.std.map((s) => t.scale / s), shift: t.mean.map((m, c) => -m / t.std[c]! + 0) }; // + 0: no −0 for a zero mean
}

/** Whether inputs are never negative under this preprocessing (zero padding included). */
export function normNonNegative(norm: Normalization): boolean {
  return normCoefficients(norm).shift.every((v) => v >= 0);
}

export function describeNorm(norm: Normalization): string {
  if (typeof norm === 'string') return norm;
  return `pixels x ${norm.scale}, mean [${norm.mean.join(', ')}], std [${norm.std.join(', ')}]`;
}

export interface Split { train: Int32Array; val: Int32Array }

/** Seeded split of indices 0..n-1 into `n − valSize` training and `valSize` validation. */
export function trainValSplit(n: number, valSize: number, seed: number): Split {
  if (valSize < 0 || valSize >= n) throw new Error(`validation size ${valSize} must be in [0, ${n})`);
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  new Rng(seed).shuffle(idx);
  return { train: idx.slice(0, n - valSize).sort(), val: idx.slice(n - valSize).sort() };
}

export interface AugmentOptions { crop: boolean; flip: boolean; pad: number }

/**
 * Writes image `src` of `set` into `out` (NHWC, 32x32x3 floats at `offset`), optionally
 * shifted by (dy, dx) within a zero-padded frame and mirrored.
 */
export function writeImage(set: ImageSet, src: number, out: Float32Array, offset: number,
  dy: number, dx: number, flip: boolean, norm: Normalization): void {
  const base = src * PIXELS;
  const k = normCoefficients(norm);
  for (let c = 0; c < 3; c++) {
    const scale = k.scale[c]!, shift = k.shift[c]!;
    const plane = base + c * 1024;
    for (let y = 0; y < 32; y++) {
      const sy = y + dy;
      for (let x = 0; x < 32; x++) {
        const sx0 = x + dx;
        const sx = flip ? 31 - sx0 + 2 * dx : sx0; // mirror inside the crop window
        const v = sy < 0 || sy > 31 || sx < 0 || sx > 31 ? shift /* zero pixel */ : set.images[plane + sy * 32 + sx] * scale + shift;
        out[offset + (y * 32 + x) * 3 + c] = v;
      }
    }
  }
}

export interface Batch { x: tf.Tensor4D; y: tf.Tensor1D; size: number }

export interface BatchSourceOptions {
  batchSize: number;
  shuffle: boolean;
  augment: boolean;
  norm: Normalization;
  seed: number;
  /** Keep a final partial batch (evaluation) or drop it (training). */
  dropLast: boolean;
}

/** Host-side batch assembly: a pure function of (set, indices, rng), no tensors. */
export function assembleBatch(set: ImageSet, indices: ArrayLike<number>, augment: boolean, pad: number,
  norm: Normalization, rng: Rng): { xs: Float32Array; ys: Float32Array } {
  const b = indices.length;
  const xs = new Float32Array(b * 32 * 32 * 3);
  const ys = new Float32Array(b);
  for (let i = 0; i < b; i++) {
    const src = indices[i];
    let dy = 0, dx = 0, flip = false;
    if (augment) {
      dy = rng.int(2 * pad + 1) - pad;
      dx = rng.int(2 * pad + 1) - pad;
      flip = rng.next() < 0.5;
    }
    writeImage(set, src, xs, i * 3072, dy, dx, flip, norm);
    ys[i] = set.labels[src];
  }
  return { xs, ys };
}

/**
 * One epoch of batches, assembled on the host one batch ahead. Tensors are created only
 * when a batch is taken and belong to the caller (dispose them). Host assembly of a
 * 128-image augmented batch takes a few ms against a multi-second training step, so it
 * runs on the training thread (see the bench note) rather than in a worker.
 */
export function* epochBatches(set: ImageSet, indices: Int32Array, opts: BatchSourceOptions, epoch: number): Generator<Batch> {
  const rng = new Rng(opts.seed * 1000003 + epoch);
  const order = Int32Array.from(indices);
  if (opts.shuffle) rng.shuffle(order);
  const n = opts.dropLast ? order.length - (order.length % opts.batchSize) : order.length;
  const prepare = (start: number) => assembleBatch(set, order.subarray(start, Math.min(n, start + opts.batchSize)),
    opts.augment, 4, opts.norm, rng);
  let next = n > 0 ? prepare(0) : null;
  for (let start = 0; start < n; start += opts.batchSize) {
    const cur = next!;
    const size = cur.ys.length;
    const batch: Batch = { x: tf.tensor4d(cur.xs, [size, 32, 32, 3]), y: tf.tensor1d(cur.ys), size };
    next = start + opts.batchSize < n ? prepare(start + opts.batchSize) : null;
    yield batch;
  }
}
