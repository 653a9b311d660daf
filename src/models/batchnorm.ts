/**
 * Training-mode BatchNorm over N·H·W with a hand-written gradient.
 *
 * TF.js's FusedBatchNorm gradient materialises per-channel vectors at the size of x with
 * Tile (1.6 s of a 4.8 s ResNet20 step on WASM, shared/design/engine.md). Here the
 * backward is three full-size passes with broadcast [C] operands:
 *   x̂ = (x − μ)/σ,  s = γ/σ,  dβ = Σ dy,  dγ = Σ dy·x̂
 *   dx = s·dy − (s·dγ/N)·x̂ − s·dβ/N
 * Per-channel sums are `channelSum` (channel.ts), not TF.js's transposing reduce.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BATCH_NORM } from '../util/kernel_names.js';
import { channelSum } from './channel.js';

export interface BatchStats { mean: tf.Tensor1D; variance: tf.Tensor1D }

/**
 * y = γ·(x − μ_B)/sqrt(σ²_B + eps) + β with batch statistics; `onStats` receives the
 * batch mean and (biased) variance inside the forward pass (to update running averages).
 */
export function batchNormTrain(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number,
  onStats?: (s: BatchStats) => void): tf.Tensor4D {
  // A backend with the fused kernel (the native kernels on 'wasm') runs it, with its
  // registered gradient; the composition below is the reference it is tested against.
  if (tf.getKernel(BATCH_NORM, tf.getBackend()) != null) {
    const [y, stats] = tf.engine().runKernel(BATCH_NORM, { x, gamma, beta }, { eps }) as tf.Tensor[];
    const c = x.shape[3];
    onStats?.({ mean: tf.slice(stats!, [0], [c]) as tf.Tensor1D, variance: tf.slice(stats!, [c], [c]) as tf.Tensor1D });
    return y as tf.Tensor4D;
  }
  const f = tf.customGrad(((xIn: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    const x4 = xIn as tf.Tensor4D;
    const n = x4.size / x4.shape[3];
    const mean = tf.div(channelSum(x4), n) as tf.Tensor1D;
    // Two-pass variance (no E[x²]−E[x]² cancellation); squaredDifference is one fused pass.
    const variance = tf.div(channelSum(tf.squaredDifference(x4, mean)), n) as tf.Tensor1D;
    onStats?.({ mean, variance });
    const invStd = tf.rsqrt(tf.add(variance, eps));
    // Two broadcast passes: WASM's FusedBatchNorm kernel is ~3x slower than sub + mul.
    const xhat = tf.mul(tf.sub(x4, mean), invStd);
    const y = tf.add(tf.mul(xhat, g), b);
    const scale = tf.mul(g, invStd);
    save([xhat, scale]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, s] = saved;
        const dBeta = channelSum(dy);
        const dGamma = channelSum(tf.mul(dy, xh));
        const dx = tf.add(tf.add(tf.mul(dy, s), tf.mul(xh, tf.mul(s, tf.div(dGamma, -n)))),
          tf.mul(s, tf.div(dBeta, -n)));
        return [dx, dGamma, dBeta];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, gamma, beta) as tf.Tensor4D;
}
