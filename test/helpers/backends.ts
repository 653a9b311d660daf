/** Runs the same kernel on 'cpu' (the reference) and on 'wasm' and measures their difference. */
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../src/backend/engine.js';

export function seededData(n: number, seed: number): Float32Array {
  // xorshift32 → uniform(-1, 1); deterministic, independent of tfjs.
  let s = (seed * 2654435761) >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    out[i] = (s / 0xffffffff) * 2 - 1;
  }
  return out;
}

export async function useBackend(name: 'cpu' | 'wasm'): Promise<void> {
  if (name === 'wasm') await initEngine('wasm');
  else await tf.setBackend('cpu');
  await tf.ready();
  if (tf.getBackend() !== name) throw new Error(`expected backend ${name}, got ${tf.getBackend()}`);
}

export interface KernelRun { shape: number[]; values: Float32Array }

export async function runKernelOn(
  backend: 'cpu' | 'wasm', kernel: string, inputs: Record<string, { shape: number[]; seed: number }>,
  attrs: Record<string, unknown>,
): Promise<KernelRun> {
  await useBackend(backend);
  const ts: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(inputs)) {
    ts[k] = tf.tensor(seededData(v.shape.reduce((a, b) => a * b, 1), v.seed), v.shape);
  }
  const out = tf.engine().runKernel(kernel, ts, attrs as tf.NamedAttrMap) as tf.Tensor;
  if (tf.getBackend() !== backend) throw new Error(`kernel ran on ${tf.getBackend()}, not ${backend}`);
  const result = { shape: out.shape, values: out.dataSync() as Float32Array };
  out.dispose();
  Object.values(ts).forEach((t) => t.dispose());
  return result;
}

/** Normwise relative error max|a−b| / max|ref|. */
export function relError(ref: Float32Array, got: Float32Array): number {
  let diff = 0, scale = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(ref[i] - got[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return diff / Math.max(scale, 1e-12);
}

export async function compareWithCpu(
  kernel: string, inputs: Record<string, { shape: number[]; seed: number }>,
  attrs: Record<string, unknown>,
): Promise<{ err: number; shape: number[]; refShape: number[]; numTensorsLeaked: number }> {
  const ref = await runKernelOn('cpu', kernel, inputs, attrs);
  await useBackend('wasm');
  const before = tf.memory().numTensors;
  const wasmBytesBefore = (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
  const got = await runKernelOn('wasm', kernel, inputs, attrs);
  const leaked = (tf.backend() as unknown as { numDataIds(): number }).numDataIds() - wasmBytesBefore;
  if (tf.memory().numTensors !== before) throw new Error('tensor leak in comparison harness');
  return { err: relError(ref.values, got.values), shape: got.shape, refShape: ref.shape, numTensorsLeaked: leaked };
}

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
