/** DepthwiseConv2dNativeBackpropFilter (channel multiplier 1) natively, per-thread partial sums. */
import {
  backend_util, DepthwiseConv2dNativeBackpropFilter, type DepthwiseConv2dNativeBackpropFilterAttrs,
  type DepthwiseConv2dNativeBackpropFilterInputs, type KernelFunc, type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { NativeAddon } from './addon.js';
import { geometryOf, nativeHandles } from './geometry.js';
import { fallbackOf, runNative, type NativeKernel } from './run.js';

export const depthwiseBackpropFilterNative: NativeKernel = {
  kernelName: DepthwiseConv2dNativeBackpropFilter,
  make(addon: NativeAddon, previous: KernelFunc | undefined): KernelFunc {
    const fallback = fallbackOf(DepthwiseConv2dNativeBackpropFilter, previous);
    return ((args: {
      inputs: DepthwiseConv2dNativeBackpropFilterInputs; backend: BackendWasm; attrs: DepthwiseConv2dNativeBackpropFilterAttrs;
    }) => {
      const { inputs, backend, attrs } = args;
      const x = inputs.x as TensorInfo, dy = inputs.dy as TensorInfo;
      const info = backend_util.computeConv2DInfo(
        x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, attrs.dilations,
        attrs.pad, attrs.dimRoundingMode, true);
      if (!nativeHandles(info, [x.dtype, dy.dtype], true)) return fallback(args as never);
      return runNative(backend, addon, 'depthwiseBackpropFilter', x, dy, attrs.filterShape, geometryOf(info, true));
    }) as unknown as KernelFunc;
  },
};
