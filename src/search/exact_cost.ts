/**
 * The search's cost term with exact gradients (hard relaxation, per-channel layers): its
 * value is the exact cost of the argmax mapping, and its gradient w.r.t. θ[i, c] is the
 * exact cost of moving channel c alone from its CU a(c) to CU i (hw/budget.ts moveCosts):
 *   cost = cost(n) + Σ_l Σ_c Σ_i θ_l[i, c]·M_l[a(c)][i],
 * whose second term is 0 in the forward pass (θ is one-hot on a(c), M[a][a] = 0). Where the
 * soft cost (hw/soft.ts) differentiates smooth surrogates of the count tables — a ramp for
 * an idle CU's fixed overhead, a straight-through ceil, a softmax for the max over parallel
 * CUs — this is the finite difference the discrete search actually faces, per channel and
 * per direction (moving a channel onto an idle CU pays its overhead; moving one off the
 * layer's bottleneck CU saves, off the other CU costs).
 */
import * as tf from '@tensorflow/tfjs-core';
import { moveCosts, networkObjective } from '../hw/budget.js';
import type { LayerPlan, Objective } from '../hw/cost.js';
import type { Assignment, SearchModel } from './model.js';

/** `assignment`: the argmax mapping the forward pass uses (model.discretise(), which the caller may already hold). */
export function exactCostTerm(model: SearchModel, assignment: Assignment, objective: Objective, temperature: number): tf.Scalar {
  const { platform, plans } = model;
  const counts = model.countsOf(assignment);
  const thetas = model.channelThetas(temperature);
  let term: tf.Tensor = tf.scalar(networkObjective(platform, plans, counts, objective));
  thetas.forEach((theta, l) => {
    if (!theta) return;
    const M = moveCosts(platform, plans[l]!, counts[l]!, objective);
    const n = platform.cus.length, C = assignment[l]!.length;
    const g = new Float32Array(n * C);
    assignment[l]!.forEach((a, c) => {
      for (let i = 0; i < n; i++) { const m = M[a]![i]!; g[i * C + c] = Number.isFinite(m) ? m : 0; }
    });
    term = tf.add(term, tf.sum(tf.mul(theta, tf.tensor2d(g, [n, C]))));
  });
  return term as tf.Scalar;
}

/** Why the exact cost term cannot drive this search (null: it can). */
export function exactCostUnsupported(plans: LayerPlan[], relaxation: 'hard' | 'soft'): string | null {
  if (relaxation !== 'hard') return 'it needs the hard relaxation (--relaxation hard)';
  const layer = plans.find((p) => p.searchable && p.mode !== 'per-channel');
  return layer ? `${layer.layer.name} is a ${layer.mode} split, which it does not cover (per-channel splits only)` : null;
}
