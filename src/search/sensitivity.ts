/**
 * Channel sensitivity for the warm start: a first-order (Taylor) estimate of how much the
 * loss grows when a channel's weights are quantized the way a less precise CU quantizes
 * them instead of the most precise CU's way,
 *   Δ_c(i) = Σ_{w ∈ channel c} g_w · (Q_i(w) − Q_best(w)),
 * with g the gradient of `loss` for the network with every channel on its most precise CU,
 * accumulated over a few batches. Preferences are −|Δ_c(i)| (0 on the most precise CU).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { SearchModel } from './model.js';
import { precisionRank, type Preferences } from './projection.js';

export function sensitivityPreferences(model: SearchModel, batches: Iterable<{ x: tf.Tensor4D; y: tf.Tensor1D }>,
  loss: (logits: tf.Tensor2D, y: tf.Tensor1D) => tf.Scalar): Preferences {
  const { platform, plans, spec } = model;
  const precise = plans.map((plan) => [...plan.eligible].sort((a, b) => precisionRank(platform.cus[b]!) - precisionRank(platform.cus[a]!) || a - b)[0]!);
  const weights = model.group('weights');
  const wVars = spec.layers.map((l) => weights.get(`${l.name}.w`)!);
  model.fix(spec.layers.map((l, k) => Array(l.cout).fill(precise[k]!)));
  const sums = spec.layers.map((l) => tf.zeros(weights.get(`${l.name}.w`)!.shape));
  try {
    for (const b of batches) {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => loss(model.forward(b.x).logits, b.y), wVars);
        spec.layers.forEach((_, k) => {
          const g = grads[wVars[k]!.name]!;
          const next = tf.keep(tf.add(sums[k]!, g));
          sums[k]!.dispose();
          sums[k] = next;
        });
      });
    }
  } finally {
    model.unfix();
  }
  const out: Preferences = spec.layers.map((l, k) => {
    const plan = plans[k]!;
    const n = platform.cus.length;
    const pref = Array.from({ length: l.cout }, () => Array.from({ length: n }, (_, i) => (plan.eligible.includes(i) ? 0 : -Infinity)));
    if (!plan.searchable || plan.mode !== 'per-channel') return pref;
    const qBest = model.quantizedWeights(k, precise[k]!);
    for (const i of plan.eligible) {
      if (i === precise[k]) continue;
      const d = tf.tidy(() => {
        const qi = model.quantizedWeights(k, i);
        const prod = tf.mul(sums[k]!, tf.sub(qi, qBest));
        // Output channels: the last axis (HWIO), axis 2 for depthwise [k, k, C, 1].
        const axes = l.kind === 'depthwise' ? [0, 1, 3] : [0, 1, 2];
        return tf.sum(prod, axes).dataSync() as Float32Array;
      });
      d.forEach((v, c) => { pref[c]![i] = -Math.abs(v); });
    }
    qBest.dispose();
    return pref;
  });
  tf.dispose(sums);
  return out;
}
