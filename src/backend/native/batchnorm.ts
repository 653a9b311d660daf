/**
 * Training BatchNorm as one native kernel and its gradient as another, registered side by
 * side (as tfjs-core registers a kernel and its gradient). The forward pass computes the
 * batch statistics in two passes (no E[x²]−E[x]² cancellation) and normalises in a third;
 * the backward pass recomputes x̂ from x and the statistics instead of saving it:
 *   dβ = Σ dy,  dγ = Σ dy·x̂,  dx = s·dy − (s·dγ/N)·x̂ − s·dβ/N,  s = γ/σ.
 * The statistics output (mean, variance, 1/σ) is for running averages and is treated as
 * not differentiable: its incoming gradient is ignored.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BATCH_NORM, BATCH_NORM_GRAD } from '../../util/kernel_names.js';
import type { NativeAddon } from './addon.js';

type KernelArgs = { inputs: Record<string, tf.TensorInfo>; backend: BackendWasm; attrs: { eps?: number } };

export function batchNormKernels(addon: NativeAddon): tf.KernelConfig[] {
  return [
    {
      kernelName: BATCH_NORM, backendName: 'wasm',
      kernelFunc: (({ inputs, backend, attrs }: KernelArgs) => {
        const { x, gamma, beta } = inputs as { x: tf.TensorInfo; gamma: tf.TensorInfo; beta: tf.TensorInfo };
        const c = gamma.shape[0]!;
        const y = backend.makeOutput(x.shape, 'float32');
        const stats = backend.makeOutput([3 * c], 'float32');
        const v = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
        addon.batchNormForward(v(x), v(gamma), v(beta), v(y), v(stats), attrs.eps ?? 1e-5);
        return [y, stats];
      }) as unknown as tf.KernelFunc,
    },
    {
      kernelName: BATCH_NORM_GRAD, backendName: 'wasm',
      kernelFunc: (({ inputs, backend }: KernelArgs) => {
        const { dy, x, gamma, stats } = inputs as Record<'dy' | 'x' | 'gamma' | 'stats', tf.TensorInfo>;
        const c = gamma.shape[0]!;
        const dx = backend.makeOutput(x.shape, 'float32');
        const grads = backend.makeOutput([2 * c], 'float32');
        const v = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
        addon.batchNormBackward(v(dy), v(x), v(gamma), v(stats), v(dx), v(grads));
        return [dx, grads];
      }) as unknown as tf.KernelFunc,
    },
  ];
}

let gradientRegistered = false;
/** The gradient of BATCH_NORM (backend-independent: it runs BATCH_NORM_GRAD). Idempotent. */
export function registerBatchNormGradient(): void {
  if (gradientRegistered) return;
  tf.registerGradient({
    kernelName: BATCH_NORM,
    inputsToSave: ['x', 'gamma'],
    outputsToSave: [false, true],
    gradFunc: (dy, saved) => {
      const [x, gamma, stats] = saved as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D];
      const dyY = Array.isArray(dy) ? dy[0]! : dy;
      const [dx, grads] = tf.engine().runKernel(BATCH_NORM_GRAD, { dy: dyY, x, gamma, stats }, {}) as tf.Tensor[];
      const c = gamma.shape[0];
      return {
        x: () => dx!,
        gamma: () => tf.slice(grads!, [0], [c]),
        beta: () => tf.slice(grads!, [c], [c]),
      };
    },
  });
  gradientRegistered = true;
}
