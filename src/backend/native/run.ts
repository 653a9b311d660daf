/**
 * A native kernel's call on the WASM heap: allocate the output on the WASM backend first,
 * then take heap views (an allocation can grow the heap and detach older views), then
 * call the addon, which writes the output in place.
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { Geometry, NativeAddon } from './addon.js';

export type NativeCall = 'conv2d' | 'conv2dBackpropInput' | 'conv2dBackpropFilter' | 'depthwise' | 'depthwiseBackpropInput' | 'depthwiseBackpropFilter';

export function runNative(backend: BackendWasm, addon: NativeAddon, call: NativeCall, a: TensorInfo, b: TensorInfo,
  outShape: number[], geometry: Geometry): TensorInfo {
  const out = backend.makeOutput(outShape, 'float32');
  const av = backend.typedArrayFromHeap(a) as Float32Array;
  const bv = backend.typedArrayFromHeap(b) as Float32Array;
  const ov = backend.typedArrayFromHeap(out) as Float32Array;
  addon[call](av, bv, ov, geometry);
  return out;
}

/** The kernel a native kernel replaces, for the calls it does not handle. */
export function fallbackOf(name: string, previous: KernelFunc | undefined): KernelFunc {
  return previous ?? (() => {
    throw new Error(`hetsplit native ${name}: this call is not supported natively and no other kernel is registered`);
  });
}

/** What every native kernel file exports: a config built for a given addon and fallback. */
export interface NativeKernel {
  kernelName: string;
  make(addon: NativeAddon, previous: KernelFunc | undefined): KernelFunc;
}
