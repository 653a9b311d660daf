/** Mean softmax cross-entropy with integer labels and a direct gradient (softmax − onehot)/B. */
import * as tf from '@tensorflow/tfjs-core';

export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  const [b, k] = logits.shape;
  const f = tf.customGrad(((z: tf.Tensor, save: tf.GradSaveFunc) => {
    // Created inside the forward and saved: the tape frees whatever the forward does not save.
    const oneHot = tf.oneHot(tf.cast(labels, 'int32'), k);
    const logp = tf.logSoftmax(z);
    save([logp, oneHot]);
    return {
      value: tf.div(tf.neg(tf.sum(tf.mul(logp, oneHot))), b) as tf.Scalar,
      gradFunc: (dy: tf.Tensor, [lp, oh]: tf.Tensor[]) => tf.mul(tf.sub(tf.exp(lp), oh), tf.div(dy, b)),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(logits) as tf.Scalar;
}

/** Number of rows whose argmax equals the label. */
export function countCorrect(logits: tf.Tensor2D, labels: tf.Tensor1D): number {
  return tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.cast(labels, 'int32')), 'int32')).dataSync()[0]);
}
