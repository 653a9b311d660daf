/**
 * Engine self-check: runs a kernel on 'cpu' (TF.js's reference backend) and on 'wasm'
 * (our training kernels) with the same seeded inputs and measures the difference.
 * Used by `hetsplit engine` and by the kernel comparison tests.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from './engine.js';

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


/** A few training-shaped cases per registered kernel (stride 1/2, same/valid, 1x1/3x3). */
export const SELF_CHECK_CASES: { kernel: string; inputs: Record<string, { shape: number[]; seed: number }>; attrs: Record<string, unknown> }[] = [
  { kernel: 'Conv2DBackpropFilter', inputs: { x: { shape: [4, 9, 9, 3], seed: 1 }, dy: { shape: [4, 5, 5, 8], seed: 2 } }, attrs: { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 3, 8] } },
  { kernel: 'Conv2DBackpropFilter', inputs: { x: { shape: [4, 8, 8, 6], seed: 1 }, dy: { shape: [4, 8, 8, 6], seed: 2 } }, attrs: { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 6, 6] } },
  { kernel: 'Conv2DBackpropInput', inputs: { dy: { shape: [4, 5, 5, 8], seed: 3 }, filter: { shape: [3, 3, 3, 8], seed: 4 } }, attrs: { strides: 2, pad: 'same', dataFormat: 'NHWC', inputShape: [4, 9, 9, 3] } },
  { kernel: 'Conv2DBackpropInput', inputs: { dy: { shape: [4, 4, 4, 8], seed: 3 }, filter: { shape: [1, 1, 6, 8], seed: 4 } }, attrs: { strides: 2, pad: 'valid', dataFormat: 'NHWC', inputShape: [4, 8, 8, 6] } },
  { kernel: 'DepthwiseConv2dNativeBackpropFilter', inputs: { x: { shape: [4, 9, 9, 5], seed: 5 }, dy: { shape: [4, 5, 5, 5], seed: 6 } }, attrs: { strides: 2, pad: 'same', dilations: 1, filterShape: [3, 3, 5, 1] } },
  { kernel: 'DepthwiseConv2dNativeBackpropInput', inputs: { dy: { shape: [4, 7, 7, 5], seed: 7 }, filter: { shape: [3, 3, 5, 1], seed: 8 } }, attrs: { strides: 1, pad: 'valid', dilations: 1, inputShape: [4, 9, 9, 5] } },
];

export async function selfCheck(tolerance = 1e-4): Promise<{ kernel: string; err: number; ok: boolean }[]> {
  const out: { kernel: string; err: number; ok: boolean }[] = [];
  for (const c of SELF_CHECK_CASES) {
    const r = await compareWithCpu(c.kernel, c.inputs, c.attrs);
    out.push({ kernel: c.kernel, err: r.err, ok: r.err <= tolerance && r.numTensorsLeaked === 0 });
  }
  await initEngine('wasm');
  return out;
}
