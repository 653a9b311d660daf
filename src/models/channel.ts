/**
 * Per-channel (last-axis) operations on NHWC activations with hand-written gradients.
 *
 * TF.js reduces a broadcast operand's gradient with Sum over the leading axes, which on
 * WASM transposes the whole activation first (a bias gradient of a [128,32,32,16] tensor
 * costs ~7 ms that way). Here those reductions are `channelSum`.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Σ over all but the last axis. For NHWC activations: a global average pool (XNNPACK,
 * threaded) times H·W, then a [1,B]·[B,C] matmul over the batch. A single [1,N]·[N,C]
 * matmul is as fast only when [N,C] is reused: WASM's MatMul packs its second operand
 * as fully-connected weights on every new tensor (4.6 ms per call in a ResNet20 step).
 */
export function channelSum(x: tf.Tensor): tf.Tensor1D {
  const c = x.shape[x.rank - 1];
  return tf.tidy(() => {
    let rows = x as tf.Tensor;
    if (x.rank === 4 && x.shape[1]! * x.shape[2]! > 1) {
      const [, h, w] = x.shape as [number, number, number, number];
      rows = tf.mul(tf.avgPool(x as tf.Tensor4D, [h, w], [h, w], 'valid'), h * w);
    }
    const n = rows.size / c;
    return tf.reshape(tf.matMul(tf.ones([1, n]), tf.reshape(rows, [n, c])), [c]) as tf.Tensor1D;
  });
}

/** y + b with b [C] broadcast over N, H, W. */
export function addBias(y: tf.Tensor4D, b: tf.Tensor): tf.Tensor4D {
  const f = tf.customGrad(((yIn: tf.Tensor, bIn: tf.Tensor) => ({
    value: tf.add(yIn, bIn),
    gradFunc: (dy: tf.Tensor) => [tf.reshape(dy, yIn.shape), tf.reshape(channelSum(dy), bIn.shape)],
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(y, b) as tf.Tensor4D;
}

/** a·m + b·(1 − m) with the channel weights m [C]: m = 1 takes a's channel, m = 0 b's. */
export function mixChannels(a: tf.Tensor4D, b: tf.Tensor4D, m: tf.Tensor): tf.Tensor4D {
  const f = tf.customGrad(((aIn: tf.Tensor, bIn: tf.Tensor, mIn: tf.Tensor, save: tf.GradSaveFunc) => {
    const d = tf.sub(aIn, bIn);
    save([d, mIn]);
    return {
      value: tf.add(bIn, tf.mul(d, mIn)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [dd, mm] = saved as [tf.Tensor, tf.Tensor];
        const da = tf.mul(dy, mm);
        return [da, tf.sub(dy, da), tf.reshape(channelSum(tf.mul(dy, dd)), mm.shape)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(a, b, m) as tf.Tensor4D;
}
