/** Test-side helpers: the CPU-vs-WASM comparison lives in src (the `engine` command uses it). */
import * as tf from '@tensorflow/tfjs-core';
import { seededData, useBackend } from '../../src/backend/selfcheck.js';

export { compareWithCpu, relError, runKernelOn, seededData, useBackend } from '../../src/backend/selfcheck.js';

/**
 * Exact reference for the gradients of a forward kernel that is LINEAR in the probed
 * input (convolutions): grad[i] = <dy, forward(..., probe = e_i, ...)>, evaluated with the
 * CPU backend's forward kernel. Independent of any backprop kernel; use on small shapes.
 */
export async function linearAdjointReference(
  forwardKernel: string, probe: string, probeShape: number[],
  fixed: Record<string, { shape: number[]; seed: number }>, dy: { shape: number[]; seed: number },
  attrs: Record<string, unknown>,
): Promise<Float32Array> {
  await useBackend('cpu');
  const n = probeShape.reduce((a, b) => a * b, 1);
  const dyT = tf.tensor(seededData(dy.shape.reduce((a, b) => a * b, 1), dy.seed), dy.shape);
  const fixedTs: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(fixed)) {
    fixedTs[k] = tf.tensor(seededData(v.shape.reduce((a, b) => a * b, 1), v.seed), v.shape);
  }
  const out = new Float32Array(n);
  const basis = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    basis.fill(0); basis[i] = 1;
    const e = tf.tensor(basis, probeShape);
    const y = tf.engine().runKernel(forwardKernel, { ...fixedTs, [probe]: e }, attrs as tf.NamedAttrMap) as tf.Tensor;
    const dot = tf.sum(tf.mul(y, dyT));
    out[i] = dot.dataSync()[0];
    tf.dispose([e, y, dot]);
  }
  tf.dispose([dyT, ...Object.values(fixedTs)]);
  return out;
}
