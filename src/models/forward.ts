/** Forward pass of a float ModelSpec (conv/depthwise/FC + BatchNorm + ReLU + residual adds). */
import * as tf from '@tensorflow/tfjs-core';
import { batchNormTrain } from './batchnorm.js';
import { addBias } from './channel.js';
import type { ParamStore } from './params.js';
import { tfPadding, walkModel, type Activation, type ConvLayerSpec, type ModelSpec, type PoolSpec } from './spec.js';

export interface ForwardOptions {
  training: boolean;
  /**
   * Conv-vs-depthwise layers (those with a `<name>.conv.w` parameter): output channels
   * [0, k) come from the conv branch, [k, C) from the depthwise branch. Default k = C/2.
   */
  splitPoints?: Map<string, number>;
  /** BatchNorm running-average momentum (PyTorch convention: new = (1−m)·old + m·batch). */
  bnMomentum?: number;
  bnEps?: number;
}

function convLayer(l: ConvLayerSpec, p: ParamStore, x: tf.Tensor4D, opt: ForwardOptions): tf.Tensor4D {
  const w = p.get(`${l.name}.w`);
  if (l.kind === 'fc') {
    const flat = tf.reshape(x, [x.shape[0], l.cin]);
    const y = tf.add(tf.matMul(flat, tf.reshape(w, [l.cin, l.cout])), p.get(`${l.name}.b`));
    return tf.reshape(y, [x.shape[0], 1, 1, l.cout]) as tf.Tensor4D;
  }
  const y = convOf(l, x, w as tf.Tensor4D, l.kind === 'depthwise');
  const out = normAct(l, l.name, p, y, opt);
  if (!p.has(`${l.name}.conv.w`)) return out;
  // Conv-vs-depthwise layer: a full conv branch computes the first k channels.
  const yc = normAct(l, `${l.name}.conv`, p, convOf(l, x, p.get(`${l.name}.conv.w`) as tf.Tensor4D, false), opt);
  return mixPrefix(yc, out, opt.splitPoints?.get(l.name) ?? Math.floor(l.cout / 2));
}

/** The layer's convolution (its stride, padding and dilation) of x with the HWIO weights w. */
export function convOf(l: ConvLayerSpec, x: tf.Tensor4D, w: tf.Tensor4D, depthwise: boolean): tf.Tensor4D {
  const d = l.dilation ?? 1;
  return depthwise
    ? tf.depthwiseConv2d(x, w, l.stride, tfPadding(l), 'NHWC', d)
    : tf.conv2d(x, w, l.stride, tfPadding(l), 'NHWC', d);
}

export function activation(act: Activation, y: tf.Tensor4D): tf.Tensor4D {
  return act === 'relu' ? tf.relu(y) : act === 'relu6' ? tf.relu6(y) : y;
}

/**
 * A pooling node. Padded windows are computed exactly: max pools pad with −∞; average
 * pools divide the zero-padded window sum by the number of positions counted.
 */
export function pool(p: PoolSpec, x: tf.Tensor4D): tf.Tensor4D {
  if (p.kind === 'global') return tf.mean(x, [1, 2], true) as tf.Tensor4D;
  const [t, b, l, r] = p.pad ?? [0, 0, 0, 0];
  const padded = t + b + l + r > 0;
  const pads: [number, number][] = [[0, 0], [t, b], [l, r], [0, 0]];
  if (p.kind === 'max') {
    return tf.maxPool(padded ? tf.pad(x, pads, -3.4e38) : x, p.k!, p.stride!, 'valid');
  }
  const sum = tf.avgPool(padded ? tf.pad(x, pads) : x, p.k!, p.stride!, 'valid');
  if (!padded || p.countIncludePad) return sum as tf.Tensor4D;
  // Fraction of each window that lies inside the input: the average over real positions only.
  const ones = tf.pad(tf.ones([1, x.shape[1], x.shape[2], 1]), pads);
  return tf.div(sum, tf.avgPool(ones as tf.Tensor4D, p.k!, p.stride!, 'valid')) as tf.Tensor4D;
}

/** Channels [0, k) of a, [k, C) of b. */
export function mixPrefix(a: tf.Tensor4D, b: tf.Tensor4D, k: number): tf.Tensor4D {
  const c = a.shape[3];
  const m = tf.tensor1d(Array.from({ length: c }, (_, i) => (i < k ? 1 : 0)));
  return tf.add(tf.mul(a, m), tf.mul(b, tf.sub(1, m))) as tf.Tensor4D;
}

/** BatchNorm (or bias) of parameters `prefix.*`, then ReLU if the layer has one. */
function normAct(l: ConvLayerSpec, prefix: string, p: ParamStore, y0: tf.Tensor4D, opt: ForwardOptions): tf.Tensor4D {
  let y = y0;
  if (l.bn) {
    const eps = opt.bnEps ?? 1e-5;
    const gamma = p.get(`${prefix}.gamma`) as tf.Tensor1D;
    const beta = p.get(`${prefix}.beta`) as tf.Tensor1D;
    const rMean = p.get(`${prefix}.mean`), rVar = p.get(`${prefix}.var`);
    if (opt.training) {
      const m = opt.bnMomentum ?? 0.1;
      const n = y.size / l.cout;
      y = batchNormTrain(y, gamma, beta, eps, ({ mean, variance }) => {
        // Running variance uses the unbiased estimate, as PyTorch does.
        rMean.assign(tf.add(tf.mul(rMean, 1 - m), tf.mul(mean, m)));
        rVar.assign(tf.add(tf.mul(rVar, 1 - m), tf.mul(variance, (m * n) / Math.max(1, n - 1))));
      });
    } else {
      // y·s + (β − μ·s) with s = γ/σ: two broadcast passes (WASM's FusedBatchNorm is ~3x slower).
      const s = tf.mul(gamma, tf.rsqrt(tf.add(rVar, eps)));
      y = tf.add(tf.mul(y, s), tf.sub(beta, tf.mul(rMean, s))) as tf.Tensor4D;
    }
  } else {
    y = addBias(y, p.get(`${prefix}.b`));
  }
  return activation(l.act, y);
}

/** Logits [B, numClasses]. Call inside tf.tidy / variableGrads. */
export function forward(spec: ModelSpec, p: ParamStore, x: tf.Tensor4D, opt: ForwardOptions): tf.Tensor2D {
  const out = walkModel<tf.Tensor4D>(spec, x, {
    layer: (l, _k, input) => convLayer(l, p, input, opt),
    add: (a, u, v) => (a.relu ? tf.relu(tf.add(u, v)) : tf.add(u, v)) as tf.Tensor4D,
    pool: (p, input) => pool(p, input),
  });
  return tf.reshape(out, [x.shape[0], spec.numClasses]);
}
