/**
 * The PACT quantizer kernels (fused/pact.ts) natively: one vectorised, threaded pass each
 * way instead of four WASM kernels forward and a JS loop backward. Same semantics and the
 * same scale/clip definition (pactScale).
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { PACT, PACT_GRAD, pactScale } from '../fused/pact.js';
import type { NativeAddon } from './addon.js';

type KernelArgs = { inputs: Record<string, TensorInfo>; backend: BackendWasm; attrs: { bits: number } };

export function pactKernels(addon: NativeAddon): KernelConfig[] {
  const view = (b: BackendWasm, t: TensorInfo) => b.typedArrayFromHeap(t) as Float32Array;
  return [
    {
      kernelName: PACT, backendName: 'wasm',
      kernelFunc: (({ inputs, backend, attrs }: KernelArgs) => {
        const { x, clip } = inputs as { x: TensorInfo; clip: TensorInfo };
        const { scale, clipEffective } = pactScale(view(backend, clip)[0]!, attrs.bits);
        const y = backend.makeOutput(x.shape, 'float32');
        addon.pactForward(view(backend, x), view(backend, y), scale, clipEffective);
        return y;
      }) as unknown as KernelFunc,
    },
    {
      kernelName: PACT_GRAD, backendName: 'wasm',
      kernelFunc: (({ inputs, backend, attrs }: KernelArgs) => {
        const { dy, x, clip } = inputs as { dy: TensorInfo; x: TensorInfo; clip: TensorInfo };
        const { clipEffective } = pactScale(view(backend, clip)[0]!, attrs.bits);
        const dx = backend.makeOutput(x.shape, 'float32');
        const dclip = backend.makeOutput(clip.shape, 'float32');
        const g = addon.pactBackward(view(backend, dy), view(backend, x), view(backend, dx), clipEffective);
        view(backend, dclip)[0] = g;
        return [dx, dclip];
      }) as unknown as KernelFunc,
    },
  ];
}
