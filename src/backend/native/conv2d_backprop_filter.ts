/**
 * Conv2DBackpropFilter natively: per image, dW[tap][ci][co] accumulates in registers over
 * the tap's valid pixels, x and dy read in place; per-thread partial sums, then one sum.
 */
import {
  backend_util, Conv2DBackpropFilter, type Conv2DBackpropFilterAttrs, type Conv2DBackpropFilterInputs,
  type KernelFunc, type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { NativeAddon } from './addon.js';
import { geometryOf, nativeHandles } from './geometry.js';
import { fallbackOf, runNative, type NativeKernel } from './run.js';

export const conv2dBackpropFilterNative: NativeKernel = {
  kernelName: Conv2DBackpropFilter,
  make(addon: NativeAddon, previous: KernelFunc | undefined): KernelFunc {
    const fallback = fallbackOf(Conv2DBackpropFilter, previous);
    return ((args: { inputs: Conv2DBackpropFilterInputs; backend: BackendWasm; attrs: Conv2DBackpropFilterAttrs }) => {
      const { inputs, backend, attrs } = args;
      const x = inputs.x as TensorInfo, dy = inputs.dy as TensorInfo;
      const info = backend_util.computeConv2DInfo(
        x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad,
        attrs.dimRoundingMode, false, backend_util.convertConv2DDataFormat(attrs.dataFormat ?? 'NHWC'));
      if (!nativeHandles(info, [x.dtype, dy.dtype], false)) return fallback(args as never);
      return runNative(backend, addon, 'conv2dBackpropFilter', x, dy, attrs.filterShape, geometryOf(info, false));
    }) as unknown as KernelFunc;
  },
};
