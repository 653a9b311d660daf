/**
 * A native kernel's call on the WASM heap: allocate the output on the WASM backend first,
 * then take heap views (an allocation can grow the heap and detach older views), then
 * call the addon, which writes the output in place.
 */
import type { backend_util, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { Geometry, NativeAddon } from './addon.js';
import { geometryOf, nativeHandles } from './geometry.js';

export type NativeCall = 'conv2d' | 'conv2dBackpropInput' | 'conv2dBackpropFilter' | 'depthwise' | 'depthwiseBackpropInput' | 'depthwiseBackpropFilter';

function runNative(backend: BackendWasm, addon: NativeAddon, call: NativeCall, a: TensorInfo, b: TensorInfo,
  outShape: number[], geometry: Geometry): TensorInfo {
  const out = backend.makeOutput(outShape, 'float32');
  const av = backend.typedArrayFromHeap(a) as Float32Array;
  const bv = backend.typedArrayFromHeap(b) as Float32Array;
  const ov = backend.typedArrayFromHeap(out) as Float32Array;
  addon[call](av, bv, ov, geometry);
  return out;
}

/** The kernel a native kernel replaces, for the calls it does not handle. */
function fallbackOf(name: string, previous: KernelFunc | undefined): KernelFunc {
  return previous ?? (() => {
    throw new Error(`hetsplit native ${name}: this call is not supported natively and no other kernel is registered`);
  });
}

/** What every native kernel file exports: a config built for a given addon and fallback. */
export interface NativeKernel {
  kernelName: string;
  make(addon: NativeAddon, previous: KernelFunc | undefined): KernelFunc;
}

/** What a convolution kernel file says: its geometry, operands and output shape. */
export interface NativePlan { info: backend_util.Conv2DInfo; a: TensorInfo; b: TensorInfo; outShape: number[] }

/**
 * A native convolution kernel: `plan` reads TF.js's inputs and attributes; calls the
 * native kernels do not handle (see nativeHandles) go to the kernel it replaced.
 */
export function nativeConvKernel<I, A>(kernelName: string, call: NativeCall, depthwise: boolean,
  plan: (inputs: I, attrs: A) => NativePlan): NativeKernel {
  return {
    kernelName,
    make(addon: NativeAddon, previous: KernelFunc | undefined): KernelFunc {
      const fallback = fallbackOf(kernelName, previous);
      return ((args: { inputs: I; backend: BackendWasm; attrs: A }) => {
        const p = plan(args.inputs, args.attrs);
        if (!nativeHandles(p.info, [p.a.dtype, p.b.dtype], depthwise)) return fallback(args as never);
        return runNative(args.backend, addon, call, p.a, p.b, p.outShape, geometryOf(p.info, depthwise));
      }) as unknown as KernelFunc;
    },
  };
}
