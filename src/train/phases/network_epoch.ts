/**
 * One training epoch of the searchable network (search or fine-tune), step by step: the
 * phase sets its per-step schedules in `beforeStep`, gives the loss and the optimiser
 * update, and may read each step's channel counts (`afterStep`, the budget controller).
 * With distillation, the float teacher's logits are computed per batch outside the tape.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { SearchModel } from '../../search/model.js';
import type { PhaseBar, RunContext } from '../context.js';
import { countCorrect, crossEntropy } from '../loss.js';
import { NonFiniteLossError } from '../step.js';

export interface Output { logits: tf.Tensor2D; counts: tf.Tensor2D }

/**
 * Task loss: cross-entropy, or with distillation (1 − w)·CE + w·τ²·KL(p_teacher ‖ p_student)
 * at temperature τ (Hinton et al.).
 */
export function taskLoss(logits: tf.Tensor2D, y: tf.Tensor1D, teacher: tf.Tensor2D | null, distill: { weight: number; temperature: number }): tf.Scalar {
  const ce = crossEntropy(logits, y);
  if (!teacher || distill.weight <= 0) return ce;
  const t = distill.temperature;
  const pt = tf.softmax(tf.div(teacher, t));
  const kl = tf.div(tf.sum(tf.mul(pt, tf.sub(tf.logSoftmax(tf.div(teacher, t)), tf.logSoftmax(tf.div(logits, t))))), logits.shape[0]);
  return tf.add(tf.mul(ce, 1 - distill.weight), tf.mul(kl, distill.weight * t * t)) as tf.Scalar;
}

export interface EpochHooks {
  /** Global step (0-based over the phase) about to run: set learning rates; returns the temperature. */
  beforeStep(step: number): number;
  lossOf(out: Output, y: tf.Tensor1D, teacher: tf.Tensor2D | null): tf.Scalar;
  apply(grads: Record<string, tf.Tensor>): void;
  /** The step's integer channel counts [numCUs × layers], row-major (hard relaxation). */
  afterStep?(counts: Float32Array): void;
  /** Float teacher logits of a batch (distillation), or none. */
  teacher?: ((x: tf.Tensor4D) => tf.Tensor2D) | null;
}

/**
 * One optimisation step of a searchable network: gradient of `lossOf` w.r.t. `vars`, handed
 * to `apply` (the phase's optimisers); quantizer scales kept positive. `onCounts` receives
 * the step's channel counts [numCUs × layers] (row-major).
 */
export function networkStep(model: SearchModel, vars: tf.Variable[], T: number, x: tf.Tensor4D, y: tf.Tensor1D,
  lossOf: (out: Output, y: tf.Tensor1D) => tf.Scalar, apply: (grads: Record<string, tf.Tensor>) => void,
  onCounts?: (counts: Float32Array) => void): { loss: number; correct: number } {
  let counts: Float32Array | null = null;
  const r = tf.tidy(() => {
    let logits: tf.Tensor2D | null = null;
    const { value, grads } = tf.variableGrads(() => {
      const out = model.forward(x, T);
      logits = tf.keep(out.logits);
      if (onCounts) counts = out.counts.dataSync() as Float32Array;
      return lossOf(out, y);
    }, vars);
    const lv = value.dataSync()[0]!;
    if (!Number.isFinite(lv)) throw new NonFiniteLossError(lv);
    apply(grads);
    const k = countCorrect(logits!, y);
    (logits as tf.Tensor | null)?.dispose();
    return { loss: lv, correct: k };
  });
  model.clampQuantParams();
  if (counts) onCounts!(counts);
  return r;
}

export function networkEpoch(ctx: RunContext, phase: 'search' | 'finetune', epoch: number, model: SearchModel, vars: tf.Variable[],
  bar: PhaseBar | null, h: EpochHooks): { loss: number; correct: number; seen: number; temperature: number } {
  let loss = 0, correct = 0, seen = 0, step = epoch * ctx.stepsPerEpoch, T = 1;
  for (const b of ctx.batches(epoch)) {
    const teacher = h.teacher ? tf.tidy(() => h.teacher!(b.x)) : null;
    try {
      T = h.beforeStep(step++);
      const r = networkStep(model, vars, T, b.x, b.y, (out, y) => h.lossOf(out, y, teacher), h.apply, h.afterStep);
      loss += r.loss * b.size; correct += r.correct; seen += b.size;
    } catch (e) {
      throw ctx.diverged(e, phase, epoch);
    } finally { tf.dispose([b.x, b.y]); teacher?.dispose(); }
    bar?.increment(1, { loss: (loss / seen).toFixed(3), acc: (correct / seen).toFixed(3), epoch: epoch + 1 });
  }
  return { loss, correct, seen, temperature: T };
}
