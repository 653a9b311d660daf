/** One optimisation step of a float model; returns the loss (a number). */
import * as tf from '@tensorflow/tfjs-core';
import { forward, type ForwardOptions } from '../models/forward.js';
import type { ParamStore } from '../models/params.js';
import type { ModelSpec } from '../models/spec.js';
import { countCorrect, crossEntropy } from './loss.js';
import type { Sgd } from './sgd.js';

export interface StepResult { loss: number; correct: number }

export function trainStep(spec: ModelSpec, params: ParamStore, opt: Sgd, x: tf.Tensor4D,
  labels: tf.Tensor1D, fwd: Omit<ForwardOptions, 'training'> = {}): StepResult {
  const vars = [...params.trainable.values()];
  return tf.tidy(() => {
    let logits: tf.Tensor2D | null = null;
    const { value, grads } = tf.variableGrads(() => {
      // Kept past the tape's cleanup (the outer tidy releases it) to count hits.
      logits = tf.keep(forward(spec, params, x, { ...fwd, training: true }));
      return crossEntropy(logits, labels);
    }, vars);
    const loss = value.dataSync()[0];
    if (!Number.isFinite(loss)) throw new NonFiniteLossError(loss);
    opt.apply(params.trainable, grads);
    const correct = countCorrect(logits!, labels);
    (logits as tf.Tensor | null)?.dispose();
    return { loss, correct };
  });
}

export class NonFiniteLossError extends Error {
  constructor(readonly loss: number) { super(`training loss became ${loss} (diverged): lower the learning rate`); }
}
