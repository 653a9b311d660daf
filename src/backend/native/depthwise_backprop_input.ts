/** DepthwiseConv2dNativeBackpropInput (channel multiplier 1) natively. */
import {
  backend_util, DepthwiseConv2dNativeBackpropInput, type DepthwiseConv2dNativeBackpropInputAttrs,
  type DepthwiseConv2dNativeBackpropInputInputs, type KernelFunc, type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { NativeAddon } from './addon.js';
import { geometryOf, nativeHandles } from './geometry.js';
import { fallbackOf, runNative, type NativeKernel } from './run.js';

export const depthwiseBackpropInputNative: NativeKernel = {
  kernelName: DepthwiseConv2dNativeBackpropInput,
  make(addon: NativeAddon, previous: KernelFunc | undefined): KernelFunc {
    const fallback = fallbackOf(DepthwiseConv2dNativeBackpropInput, previous);
    return ((args: {
      inputs: DepthwiseConv2dNativeBackpropInputInputs; backend: BackendWasm; attrs: DepthwiseConv2dNativeBackpropInputAttrs;
    }) => {
      const { inputs, backend, attrs } = args;
      const dy = inputs.dy as TensorInfo, filter = inputs.filter as TensorInfo;
      const info = backend_util.computeConv2DInfo(
        attrs.inputShape, filter.shape as [number, number, number, number], attrs.strides, attrs.dilations,
        attrs.pad, attrs.dimRoundingMode, true);
      if (!nativeHandles(info, [dy.dtype, filter.dtype], true)) return fallback(args as never);
      return runNative(backend, addon, 'depthwiseBackpropInput', dy, filter, attrs.inputShape, geometryOf(info, true));
    }) as unknown as KernelFunc;
  },
};
