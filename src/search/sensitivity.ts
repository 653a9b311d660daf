/**
 * Channel sensitivity for the warm start: an estimate of how much the loss grows when a
 * channel's weights are quantized the way a less precise CU quantizes them instead of the
 * most precise CU's way. With d = Q_i(w) − Q_best(w) over the channel's weights and the
 * gradients g_b of `loss` on micro-batches b of the network with every channel on its
 * most precise CU:
 *   taylor:  Δ_c(i) = |Σ_w ḡ_w d_w|                      (first order; ḡ summed over batches)
 *   fisher:  Δ_c(i) = Σ_w ḡ_w d_w + ½ Σ_w H_w d_w²,       H_w = B · mean_b g_{b,w}²
 * the second a second-order Taylor expansion whose diagonal Hessian is the empirical
 * Fisher (B · E[g_b²] estimates the per-sample E[g²] for micro-batches of B images). At a
 * trained network the first-order term is small and noisy; the curvature term is what
 * tells a channel ternary quantization hurts from one it does not. But a diagonal H drops
 * the correlations between a channel's weights, which ternary quantization's structured d
 * (small weights to 0, large ones to ±S) is all about; the channel's own block of the
 * Fisher, in d's direction, keeps them:
 *   channel-fisher:  Δ_c(i) = ½ E_n[(g_n·d)²]                 (g_n per image; no first-order term)
 * with E_n[(g_n·d)²] estimated from the micro-batch products t_b = g_b·d as B·Var(t_b) + t̄². Preferences are −Δ
 * (0 on the most precise CU), on one scale across layers, so the knapsack can trade them.
 *   measured: per layer and cheaper CU i, the loss increase measured when ALL the layer's
 *            channels run on i (every other layer on its precise CU) and the network is
 *            output-calibrated, as a fine-tune starts from it; spread over the layer's
 *            channels in proportion to their taylor Δ (evenly where those are all 0). A
 *            layer-level measurement, not a first-order estimate: one calibration and one
 *            loss pass per split layer.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { SearchModel } from './model.js';
import { byPrecision } from '../hw/platform.js';
import type { Preferences } from './projection.js';

export const SENSITIVITY_SCORES = ['taylor', 'fisher', 'channel-fisher', 'measured'] as const;
export type SensitivityScore = typeof SENSITIVITY_SCORES[number];
/** train's score when none is given (the budget study: "A second-order score that works"). */
export const DEFAULT_SENSITIVITY: SensitivityScore = 'channel-fisher';

export function sensitivityPreferences(model: SearchModel, batches: Iterable<{ x: tf.Tensor4D; y: tf.Tensor1D }>,
  loss: (logits: tf.Tensor2D, y: tf.Tensor1D) => tf.Scalar, score: Exclude<SensitivityScore, 'measured'> = 'taylor'): Preferences {
  const { platform, plans, spec } = model;
  const precise = plans.map((plan) => byPrecision(platform, plan.eligible)[0]!);
  const weights = model.group('weights');
  const wVars = spec.layers.map((l) => weights.get(`${l.name}.w`)!);
  if (score === 'channel-fisher') return channelFisherPreferences(model, batches, loss, precise, wVars);
  const sums = wVars.map((w) => tf.zeros(w.shape));
  const squares = score === 'fisher' ? wVars.map((w) => tf.zeros(w.shape)) : null;
  const { nb, images } = eachGradient(model, batches, loss, precise, wVars, (grads) => {
    wVars.forEach((w, k) => {
      const g = grads[w.name]!;
      sums[k] = accumulate(sums[k]!, g);
      if (squares) squares[k] = accumulate(squares[k]!, tf.square(g));
    });
  });
  // fisher: ḡ = Σ g_b / nb, H = B · Σ g_b² / nb with B = images / nb.
  const gScale = score === 'fisher' ? 1 / Math.max(1, nb) : 1;
  const hScale = nb > 0 ? images / nb / nb : 0;
  const out = zeroPreferences(model);
  spec.layers.forEach((l, k) => {
    if (!isSplit(plans[k]!)) return;
    const qBest = model.quantizedWeights(k, precise[k]!);
    const axes = channelAxes(l.kind);
    for (const i of plans[k]!.eligible) {
      if (i === precise[k]) continue;
      const d = tf.tidy(() => {
        const diff = tf.sub(model.quantizedWeights(k, i), qBest);
        const first = tf.mul(tf.mul(sums[k]!, gScale), diff);
        if (!squares) return tf.abs(tf.sum(first, axes)).dataSync() as Float32Array;
        const second = tf.mul(tf.mul(squares[k]!, 0.5 * hScale), tf.square(diff));
        return tf.sum(tf.add(first, second), axes).dataSync() as Float32Array;
      });
      d.forEach((v, c) => { out[k]![c]![i] = -v; });
    }
    qBest.dispose();
  });
  tf.dispose(sums);
  if (squares) tf.dispose(squares);
  return out;
}

/** A layer whose output channels are split among CUs: the layers the scores value. */
const isSplit = (plan: SearchModel['plans'][number]): boolean => plan.searchable && plan.mode === 'per-channel';

/** Every channel 0 on each CU its layer may use (−∞ elsewhere): the scores fill in the split layers. */
const zeroPreferences = ({ spec, plans, platform }: SearchModel): Preferences => spec.layers.map((l, k) =>
  Array.from({ length: l.cout }, () => Array.from({ length: platform.cus.length }, (_, i) => (plans[k]!.eligible.includes(i) ? 0 : -Infinity))));

/** acc + x, kept past the caller's tidy scope; acc is disposed. */
function accumulate(acc: tf.Tensor, x: tf.Tensor): tf.Tensor {
  const next = tf.keep(tf.add(acc, x));
  acc.dispose();
  return next;
}

/**
 * Per micro-batch, the gradients of `loss` w.r.t. the weights `wVars` of the network with
 * every channel on its most precise CU, handed to `use` inside a tidy scope (keep what
 * outlives it); the mapping is restored after. Returns the batch and image counts.
 */
function eachGradient(model: SearchModel, batches: Iterable<{ x: tf.Tensor4D; y: tf.Tensor1D }>,
  loss: (logits: tf.Tensor2D, y: tf.Tensor1D) => tf.Scalar, precise: number[], wVars: tf.Variable[],
  use: (grads: tf.NamedTensorMap) => void): { nb: number; images: number } {
  model.fix(model.spec.layers.map((l, k) => Array(l.cout).fill(precise[k]!)));
  let nb = 0, images = 0;
  try {
    for (const b of batches) {
      nb++;
      images += b.y.shape[0];
      tf.tidy(() => use(tf.variableGrads(() => loss(model.forward(b.x).logits, b.y), wVars).grads));
    }
  } finally {
    model.unfix();
  }
  return { nb, images };
}

/** Output-channel axes to reduce over: HWIO's first three, depthwise [k, k, C, 1]'s 0, 1, 3. */
const channelAxes = (kind: string): number[] => (kind === 'depthwise' ? [0, 1, 3] : [0, 1, 2]);

/**
 * The channel-fisher score (see the header): per split layer and cheaper CU i, the channel's
 * weight change d = Q_i(w) − Q_best(w) and per micro-batch b of B images the directional
 * derivative t_b = g_b·d; Δ = ½ E_n[(g_n·d)²] = ½ (B·(mean t_b² − t̄²) + t̄²), the
 * per-image second moment from the micro-batch ones.
 */
function channelFisherPreferences(model: SearchModel, batches: Iterable<{ x: tf.Tensor4D; y: tf.Tensor1D }>,
  loss: (logits: tf.Tensor2D, y: tf.Tensor1D) => tf.Scalar, precise: number[], wVars: tf.Variable[]): Preferences {
  const { plans, spec } = model;
  // d per split layer and cheaper CU, and the running Σ t_b, Σ t_b².
  const probes: { k: number; i: number; d: tf.Tensor; t: tf.Tensor; t2: tf.Tensor }[] = [];
  spec.layers.forEach((l, k) => {
    if (!isSplit(plans[k]!)) return;
    for (const i of plans[k]!.eligible) {
      if (i === precise[k]) continue;
      const d = tf.tidy(() => tf.sub(model.quantizedWeights(k, i), model.quantizedWeights(k, precise[k]!)));
      probes.push({ k, i, d, t: tf.zeros([l.cout]), t2: tf.zeros([l.cout]) });
    }
  });
  try {
    const { nb, images } = eachGradient(model, batches, loss, precise, wVars, (grads) => {
      for (const p of probes) {
        const tb = tf.sum(tf.mul(grads[wVars[p.k]!.name]!, p.d), channelAxes(spec.layers[p.k]!.kind));
        p.t = accumulate(p.t, tb);
        p.t2 = accumulate(p.t2, tf.square(tb));
      }
    });
    const out = zeroPreferences(model);
    const B = nb > 0 ? images / nb : 1;
    for (const p of probes) {
      const t = p.t.dataSync(), t2 = p.t2.dataSync();
      for (let c = 0; c < t.length; c++) {
        const mean = t[c]! / Math.max(1, nb), m2 = t2[c]! / Math.max(1, nb);
        out[p.k]![c]![p.i] = -0.5 * (B * Math.max(0, m2 - mean * mean) + mean * mean);
      }
    }
    return out;
  } finally {
    for (const p of probes) tf.dispose([p.d, p.t, p.t2]);
  }
}

/**
 * The measured score (see the header): `taylor` gives the within-layer proportions. The
 * network's parameters are restored afterwards (calibration rescales weights).
 */
export function measuredPreferences(model: SearchModel, batches: { x: tf.Tensor4D; y: tf.Tensor1D }[],
  loss: (logits: tf.Tensor2D, y: tf.Tensor1D) => tf.Scalar, taylor: Preferences): Preferences {
  const { platform, plans, spec } = model;
  const precise = plans.map((plan) => byPrecision(platform, plan.eligible)[0]!);
  const xs = batches.map((b) => b.x);
  const n = batches.reduce((a, b) => a + b.y.shape[0], 0);
  const snapshot = new Map([...model.params.trainable].map(([k, v]) => [k, tf.clone(v)]));
  const lossOf = (assignment: number[][]): number => {
    for (const [k, v] of model.params.trainable) v.assign(snapshot.get(k)!);
    model.fix(assignment);
    model.calibrate(xs);
    return batches.reduce((a, b) => a + tf.tidy(() => loss(model.forward(b.x).logits, b.y).dataSync()[0]!) * b.y.shape[0], 0) / n;
  };
  const allPrecise = spec.layers.map((l, k) => Array<number>(l.cout).fill(precise[k]!));
  try {
    const base = lossOf(allPrecise);
    return spec.layers.map((l, k) => {
      const plan = plans[k]!;
      const pref = taylor[k]!.map((row) => row.slice());
      if (!plan.searchable || plan.mode !== 'per-channel') return pref;
      for (const i of plan.eligible) {
        if (i === precise[k]) continue;
        const delta = Math.max(0, lossOf(allPrecise.map((a, j) => (j === k ? a.map(() => i) : a))) - base);
        const t = pref.map((row) => -row[i]!);
        const sum = t.reduce((a, b) => a + b, 0);
        pref.forEach((row, c) => { row[i] = -delta * (sum > 0 ? t[c]! / sum : 1 / l.cout); });
      }
      return pref;
    });
  } finally {
    for (const [k, v] of model.params.trainable) v.assign(snapshot.get(k)!);
    tf.dispose([...snapshot.values()]);
    model.unfix();
  }
}
