/**
 * Fake quantizers (quantize → dequantize in float) with straight-through gradients, as
 * the ODiMO reference trains them (shared/design/odimo-method.md §2). Each is one
 * tf.customGrad whose forward and gradient sit side by side.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PACT, PACT_GRAD, pactScale, registerPactKernels } from '../backend/fused/pact.js';
import { registerWeightQuantKernels, WEIGHT_QUANT, WEIGHT_QUANT_GRAD } from '../backend/fused/weight_quant.js';

registerPactKernels();
registerWeightQuantKernels();

const fusedWeightQuant = () => Boolean(tf.getKernel(WEIGHT_QUANT, tf.getBackend()) && tf.getKernel(WEIGHT_QUANT_GRAD, tf.getBackend()));

const LN2 = Math.LN2;
/** 2^floor(log2 x), elementwise. */
const pow2Floor = (x: tf.Tensor) => tf.pow(2, tf.floor(tf.div(tf.log(x), LN2)));
/** 2^ceil(log2 x), elementwise. */
const pow2Ceil = (x: tf.Tensor) => tf.pow(2, tf.ceil(tf.div(tf.log(x), LN2)));

/** The scale s and effective clip a' = (2^bits − 1)/s of the PACT quantizer, as numbers (export). */
export function pactConstants(clip: tf.Tensor, bits: number): { scale: number; clipEffective: number } {
  return pactScale(clip.dataSync()[0]!, bits);
}

type Fn2 = (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;
const grad2 = (f: (a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] }) =>
  tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as Fn2;

/** Sum `t` down to `shape` (undoing broadcasting). */
function sumTo(t: tf.Tensor, shape: number[]): tf.Tensor {
  if (t.shape.join() === shape.join()) return t;
  if (shape.length === 0) return tf.sum(t);
  const lead = t.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < t.rank; i++) if (i < lead || shape[i - lead] === 1 && t.shape[i] !== 1) axes.push(i);
  return tf.reshape(tf.sum(t, axes), shape);
}

/**
 * PACT activation quantizer, unsigned, `bits` bits, learnable clip a (a scalar):
 *   s = (2^bits − 1)/a rounded DOWN to a power of two, a' = (2^bits − 1)/s,
 *   y = floor(s·clamp(x, 0, a'))/s.
 * Gradients: dy/dx = 1 on 0 < x < a', else 0; dy/da = Σ dy where x ≥ a' (PACT).
 * On 'wasm' and 'cpu' it runs as one fused kernel each way (src/backend/fused/pact.ts);
 * elsewhere as TF.js ops. s and a' come from one definition (pactScale) either way.
 */
export function pactQuant(x: tf.Tensor, clip: tf.Tensor, bits: number): tf.Tensor {
  if (tf.getKernel(PACT, tf.getBackend()) && tf.getKernel(PACT_GRAD, tf.getBackend())) {
    return grad2((xx, a, save) => {
      save([xx, a]);
      return {
        value: tf.engine().runKernel(PACT, { x: xx, clip: a }, { bits }) as tf.Tensor,
        gradFunc: (dy, [x0, a0]) => tf.engine().runKernel(PACT_GRAD, { dy, x: x0!, clip: a0! }, { bits }) as tf.Tensor[],
      };
    })(x, clip);
  }
  return pactQuantComposite(x, clip, bits);
}

/** PACT as TF.js ops (any backend); the fused kernels are tested against it. */
export function pactQuantComposite(x: tf.Tensor, clip: tf.Tensor, bits: number): tf.Tensor {
  const { scale, clipEffective } = pactScale(clip.dataSync()[0]!, bits);
  return grad2((xx, a, save) => {
    save([xx]);
    return {
      value: tf.div(tf.floor(tf.mul(tf.clipByValue(xx, 0, clipEffective), scale)), scale),
      gradFunc: (dy, [x0]) => {
        const inside = tf.logicalAnd(tf.greater(x0!, 0), tf.less(x0!, clipEffective));
        const above = tf.greaterEqual(x0!, clipEffective);
        return [tf.where(inside, dy, tf.zerosLike(dy)), sumTo(tf.where(above, dy, tf.zerosLike(dy)), a.shape)];
      },
    };
  })(x, clip);
}

/**
 * Symmetric `bits`-bit weight quantizer with one power-of-two scale per layer:
 *   S = 2^floor(log2 p),  Q(w) = S·round(L·clamp(w/S, −1, 1))/L,  L = 2^(bits−1) − 1.
 * Gradients (straight-through rounding): dQ/dw = 1 on |w| ≤ S, else 0;
 * dQ/dp = dQ/dS (rounding of S to a power of two passed straight through), with
 * dQ/dS = round(L·w/S)/L − w/S inside and sign(w) where clipped (as LSQ).
 */
export function pow2WeightQuant(w: tf.Tensor, p: tf.Tensor, bits: number): tf.Tensor {
  const L = 2 ** (bits - 1) - 1;
  if (!fusedWeightQuant()) return pow2WeightQuantComposite(w, p, bits);
  // On 'wasm' and 'cpu': one fused kernel each way (src/backend/fused/weight_quant.ts).
  return grad2((ww, pp, save) => {
    const S = pow2Floor(pp);
    save([ww, S]);
    return {
      value: tf.engine().runKernel(WEIGHT_QUANT, { w: ww, scale: S }, { levels: L }) as tf.Tensor,
      gradFunc: (dy, [w0, S0]) => {
        const [dw, dS] = tf.engine().runKernel(WEIGHT_QUANT_GRAD, { dy, w: w0!, scale: S0! }, { levels: L, passOutside: false }) as tf.Tensor[];
        return [dw!, tf.reshape(dS!, p.shape)];
      },
    };
  })(w, p);
}

/** pow2WeightQuant as TF.js ops (any backend); the fused kernels are tested against it. */
export function pow2WeightQuantComposite(w: tf.Tensor, p: tf.Tensor, bits: number): tf.Tensor {
  const L = 2 ** (bits - 1) - 1;
  return grad2((ww, pp, save) => {
    const S = pow2Floor(pp);
    const u = tf.clipByValue(tf.div(ww, S), -1, 1);
    const q = tf.div(tf.round(tf.mul(u, L)), L);
    save([ww, S, q]);
    return {
      value: tf.mul(q, S),
      gradFunc: (dy, [w0, S0, q0]) => {
        const inside = tf.lessEqual(tf.abs(w0!), S0!);
        const dS = tf.where(inside, tf.sub(q0!, tf.div(w0!, S0!)), tf.sign(w0!));
        return [tf.where(inside, dy, tf.zerosLike(dy)), sumTo(tf.mul(dy, dS), p.shape)];
      },
    };
  })(w, p);
}

/**
 * Ternary weights with one scale per output channel (last axis), S_c = exp(p_c):
 *   Q(w) = S_c·round(clamp(w/S_c, −1, 1)) ∈ {−S_c, 0, S_c}.
 * Gradients: dQ/dw = 1 on |w| ≤ S_c (everywhere with `passOutside`, as the reference);
 * dQ/dp_c = S_c·dQ/dS_c, with dQ/dS = round(w/S) − w/S inside and sign(w) where clipped.
 */
export function ternaryWeightQuant(w: tf.Tensor, logScale: tf.Tensor, passOutside = false): tf.Tensor {
  if (!fusedWeightQuant()) return ternaryWeightQuantComposite(w, logScale, passOutside);
  return grad2((ww, ls, save) => {
    const S = tf.exp(ls);
    save([ww, S]);
    return {
      value: tf.engine().runKernel(WEIGHT_QUANT, { w: ww, scale: S }, { levels: 1 }) as tf.Tensor,
      gradFunc: (dy, [w0, S0]) => {
        const [dw, dS] = tf.engine().runKernel(WEIGHT_QUANT_GRAD, { dy, w: w0!, scale: S0! }, { levels: 1, passOutside }) as tf.Tensor[];
        return [dw!, tf.mul(dS!, S0!)];
      },
    };
  })(w, logScale);
}

/** ternaryWeightQuant as TF.js ops (any backend); the fused kernels are tested against it. */
export function ternaryWeightQuantComposite(w: tf.Tensor, logScale: tf.Tensor, passOutside = false): tf.Tensor {
  return grad2((ww, ls, save) => {
    const S = tf.exp(ls);
    const r = tf.round(tf.clipByValue(tf.div(ww, S), -1, 1));
    save([ww, S, r]);
    return {
      value: tf.mul(r, S),
      gradFunc: (dy, [w0, S0, r0]) => {
        const inside = tf.lessEqual(tf.abs(w0!), S0!);
        const dS = tf.where(inside, tf.sub(r0!, tf.div(w0!, S0!)), tf.sign(w0!));
        return [passOutside ? dy : tf.where(inside, dy, tf.zerosLike(dy)), sumTo(tf.mul(tf.mul(dy, dS), S0!), logScale.shape)];
      },
    };
  })(w, logScale);
}

/**
 * Bias on `bits` bits (16) with one power-of-two scale covering max|b|:
 *   S = 2^ceil(log2 max|b|),  Q(b) = S·round(L·b/S)/L,  L = 2^(bits−1) − 1.
 * Straight-through gradient (identity).
 */
export function biasQuant(b: tf.Tensor, bits: number): tf.Tensor {
  const L = 2 ** (bits - 1) - 1;
  const f = tf.customGrad(((bb: tf.Tensor) => {
    const S = pow2Ceil(tf.maximum(tf.max(tf.abs(bb)), 1e-12));
    return { value: tf.mul(tf.div(tf.round(tf.mul(tf.div(bb, S), L)), L), S), gradFunc: (dy: tf.Tensor) => dy };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(b) as tf.Tensor;
}

/**
 * The integers and scale(s) behind quantized weights, for export: dequantized value =
 * integer × scale. `axis` is the output-channel axis of `w` (per-channel ternary scales);
 * `param` is the quantizer's p (power-of-two) or its per-channel log-scales of w's
 * channels (ternary). Float weights come back as they are, scale 1.
 */
export function integerWeights(w: tf.Tensor, format: number | 'ternary' | 'float', param: tf.Tensor | null, axis: number):
  { values: Float32Array; scale: number[] } {
  let out!: { values: Float32Array; scale: number[] };
  tf.tidy(() => {
    if (format === 'float') {
      out = { values: w.dataSync() as Float32Array, scale: [1] };
    } else if (typeof format === 'number') {
      const L = 2 ** (format - 1) - 1;
      const S = pow2Floor(param!);
      out = { values: tf.round(tf.mul(tf.clipByValue(tf.div(w, S), -1, 1), L)).dataSync() as Float32Array, scale: [S.dataSync()[0]! / L] };
    } else {
      const S = tf.exp(param!);
      const shape = w.shape.map((d, i) => (i === axis ? d : 1));
      out = { values: tf.round(tf.clipByValue(tf.div(w, tf.reshape(S, shape)), -1, 1)).dataSync() as Float32Array, scale: Array.from(S.dataSync()) };
    }
  });
  return out;
}

/**
 * The integers and scale of `b` (some channels of a layer's bias) quantized on `bits` bits
 * with the scale biasQuant uses for the whole layer bias `layerBias`.
 */
export function integerBias(b: tf.Tensor, layerBias: tf.Tensor, bits: number): { values: Float32Array; scale: number } {
  let out!: { values: Float32Array; scale: number };
  tf.tidy(() => {
    const L = 2 ** (bits - 1) - 1;
    const S = pow2Ceil(tf.maximum(tf.max(tf.abs(layerBias)), 1e-12));
    out = { values: tf.round(tf.mul(tf.div(b, S), L)).dataSync() as Float32Array, scale: S.dataSync()[0]! / L };
  });
  return out;
}

/** Initial p of the power-of-two weight quantizer: 2^floor(log2(2·max|W|)). */
export function initPow2Scale(w: Float32Array | number[]): number {
  let m = 0;
  for (const v of w) m = Math.max(m, Math.abs(v));
  return 2 ** Math.floor(Math.log2(Math.max(2 * m, 1e-12)));
}

/**
 * Initial log-scale of the ternary quantizer: the three levels equiprobable for
 * N(0, σ²), σ = sqrt(2/(C_out·k·k)): round(w/S) = 0 on |w| < S/2, and
 * P(|w| < S/2) = 1/3 gives S/2 = 0.4307σ, S ≈ 0.861σ.
 */
export function initTernaryLogScale(cout: number, kx: number, ky: number): number {
  return Math.log(0.861 * Math.sqrt(2 / (cout * kx * ky)));
}
