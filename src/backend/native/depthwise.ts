/** DepthwiseConv2dNative (channel multiplier 1) natively, vectorised over channels. */
import {
  backend_util, DepthwiseConv2dNative, type DepthwiseConv2dNativeAttrs, type DepthwiseConv2dNativeInputs,
  type KernelFunc, type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { NativeAddon } from './addon.js';
import { geometryOf, nativeHandles } from './geometry.js';
import { fallbackOf, runNative, type NativeKernel } from './run.js';

export const depthwiseNative: NativeKernel = {
  kernelName: DepthwiseConv2dNative,
  make(addon: NativeAddon, previous: KernelFunc | undefined): KernelFunc {
    const fallback = fallbackOf(DepthwiseConv2dNative, previous);
    return ((args: { inputs: DepthwiseConv2dNativeInputs; backend: BackendWasm; attrs: DepthwiseConv2dNativeAttrs }) => {
      const { inputs, backend, attrs } = args;
      const x = inputs.x as TensorInfo, filter = inputs.filter as TensorInfo;
      const info = backend_util.computeConv2DInfo(
        x.shape as [number, number, number, number], filter.shape as [number, number, number, number],
        attrs.strides, attrs.dilations, attrs.pad, attrs.dimRoundingMode, true,
        backend_util.convertConv2DDataFormat(attrs.dataFormat ?? 'NHWC'));
      if (!nativeHandles(info, [x.dtype, filter.dtype], true)) return fallback(args as never);
      return runNative(backend, addon, 'depthwise', x, filter, info.outShape, geometryOf(info, true));
    }) as unknown as KernelFunc;
  },
};
