/**
 * Plain float training (the warm-up phase of a search): SGD + momentum, cosine learning
 * rate, validation every epoch, test accuracy at the end (whole test set and, when the
 * data source has one, its genuine-pixel prefix).
 */
import * as tf from '@tensorflow/tfjs-core';
import cliProgress from 'cli-progress';
import type { CifarData, ImageSet } from '../data/cifar.js';
import { epochBatches, trainValSplit, type Normalization } from '../data/pipeline.js';
import { forward } from '../models/forward.js';
import { initParams, type ParamStore } from '../models/params.js';
import type { ModelSpec } from '../models/spec.js';
import { Sgd } from './sgd.js';
import { accuracies, testAccuracies } from './evaluate.js';
import { trainStep } from './step.js';

export interface FloatTrainOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  seed: number;
  valSize: number;
  /** Use only the first N training images of the split (quick runs). */
  trainLimit?: number;
  norm: Normalization;
  progress: boolean;
}

export interface EpochLog {
  epoch: number;
  lr: number;
  loss: number;
  trainAccuracy: number;
  valAccuracy: number;
  seconds: number;
  imgPerSec: number;
  numTensors: number;
}

export interface FloatTrainResult {
  params: ParamStore;
  epochs: EpochLog[];
  testAccuracy: number;
  genuineTestAccuracy: number | null;
  genuineTestRecords: number | null;
}

/** The float network's inference logits, for `evaluate.ts`. */
export const floatLogits = (spec: ModelSpec, params: ParamStore) => (x: tf.Tensor4D) => forward(spec, params, x, { training: false });

export function evaluate(spec: ModelSpec, params: ParamStore, set: ImageSet, indices: Int32Array,
  batchSize: number, norm: Normalization): number {
  return accuracies(floatLogits(spec, params), set, indices, norm, 0, batchSize).accuracy;
}

export function cosineLr(base: number, epoch: number, epochs: number): number {
  return 0.5 * base * (1 + Math.cos((Math.PI * epoch) / Math.max(1, epochs)));
}

export function trainFloat(spec: ModelSpec, data: CifarData, o: FloatTrainOptions,
  log: (line: string) => void = () => undefined): FloatTrainResult {
  const params = initParams(spec, o.seed);
  const opt = new Sgd({ lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay });
  const split = trainValSplit(data.train.n, o.valSize, o.seed);
  const trainIdx = o.trainLimit ? split.train.subarray(0, Math.min(o.trainLimit, split.train.length)) : split.train;
  const stepsPerEpoch = Math.floor(trainIdx.length / o.batchSize);
  if (stepsPerEpoch < 1) throw new Error(`${trainIdx.length} training images make no batch of ${o.batchSize}`);
  const epochs: EpochLog[] = [];
  const bar = o.progress ? new cliProgress.SingleBar({
    format: 'float  epoch {epoch}/{epochs} {bar} {value}/{total} | loss {loss} | acc {acc} | ETA {eta_formatted}',
    etaBuffer: 20,
  }, cliProgress.Presets.shades_classic) : null;
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    opt.options.lr = cosineLr(o.lr, epoch, o.epochs);
    const t0 = performance.now();
    let loss = 0, correct = 0, seen = 0, steps = 0;
    bar?.start(stepsPerEpoch, 0, { epoch: epoch + 1, epochs: o.epochs, loss: '-', acc: '-' });
    for (const b of epochBatches(data.train, trainIdx, {
      batchSize: o.batchSize, shuffle: true, augment: true, norm: o.norm, seed: o.seed, dropLast: true,
    }, epoch)) {
      try {
        const r = trainStep(spec, params, opt, b.x, b.y);
        loss += r.loss; correct += r.correct; seen += b.size; steps++;
      } finally {
        tf.dispose([b.x, b.y]);
      }
      bar?.update(steps, { loss: (loss / steps).toFixed(3), acc: (correct / seen).toFixed(3) });
    }
    bar?.stop();
    const seconds = (performance.now() - t0) / 1000;
    const valAccuracy = evaluate(spec, params, data.train, split.val, 256, o.norm);
    const e: EpochLog = {
      epoch: epoch + 1, lr: opt.options.lr, loss: loss / steps, trainAccuracy: correct / seen, valAccuracy,
      seconds, imgPerSec: seen / seconds, numTensors: tf.memory().numTensors,
    };
    epochs.push(e);
    log(`epoch ${e.epoch}/${o.epochs}: loss ${e.loss.toFixed(4)} train ${(100 * e.trainAccuracy).toFixed(2)}% val ${(100 * valAccuracy).toFixed(2)}% (${seconds.toFixed(1)} s, ${e.imgPerSec.toFixed(1)} img/s)`);
  }
  opt.dispose();
  const all = Int32Array.from({ length: data.test.n }, (_, i) => i);
  const g = data.genuineTestRecords;
  const { testAccuracy, genuineTestAccuracy } = testAccuracies(floatLogits(spec, params), data.test, all, g, o.norm);
  return { params, epochs, testAccuracy, genuineTestAccuracy, genuineTestRecords: g };
}
