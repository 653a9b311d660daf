/**
 * Conv2DBackpropInput on the native indirect GEMM over dy, rows grouped by stride phase
 * (only the taps that reach a phase are computed: no zero-stuffed dy).
 */
import {
  backend_util, Conv2DBackpropInput, type Conv2DBackpropInputAttrs, type Conv2DBackpropInputInputs,
  type KernelFunc, type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { NativeAddon } from './addon.js';
import { geometryOf, nativeHandles } from './geometry.js';
import { fallbackOf, runNative, type NativeKernel } from './run.js';

export const conv2dBackpropInputNative: NativeKernel = {
  kernelName: Conv2DBackpropInput,
  make(addon: NativeAddon, previous: KernelFunc | undefined): KernelFunc {
    const fallback = fallbackOf(Conv2DBackpropInput, previous);
    return ((args: { inputs: Conv2DBackpropInputInputs; backend: BackendWasm; attrs: Conv2DBackpropInputAttrs }) => {
      const { inputs, backend, attrs } = args;
      const dy = inputs.dy as TensorInfo, filter = inputs.filter as TensorInfo;
      const info = backend_util.computeConv2DInfo(
        attrs.inputShape, filter.shape as [number, number, number, number], attrs.strides, 1, attrs.pad,
        attrs.dimRoundingMode, false, backend_util.convertConv2DDataFormat(attrs.dataFormat ?? 'NHWC'));
      if (!nativeHandles(info, [dy.dtype, filter.dtype], false)) return fallback(args as never);
      return runNative(backend, addon, 'conv2dBackpropInput', dy, filter, attrs.inputShape, geometryOf(info, false));
    }) as unknown as KernelFunc;
  },
};
