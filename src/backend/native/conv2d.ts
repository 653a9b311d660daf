/** Conv2D (NHWC, HWIO) on the native indirect GEMM (native/src/kernels_impl.h). */
import {
  backend_util, Conv2D, type Conv2DAttrs, type Conv2DInputs, type KernelFunc, type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { NativeAddon } from './addon.js';
import { geometryOf, nativeHandles } from './geometry.js';
import { fallbackOf, runNative, type NativeKernel } from './run.js';

export const conv2dNative: NativeKernel = {
  kernelName: Conv2D,
  make(addon: NativeAddon, previous: KernelFunc | undefined): KernelFunc {
    const fallback = fallbackOf(Conv2D, previous);
    return ((args: { inputs: Conv2DInputs; backend: BackendWasm; attrs: Conv2DAttrs }) => {
      const { inputs, backend, attrs } = args;
      const x = inputs.x as TensorInfo, filter = inputs.filter as TensorInfo;
      const info = backend_util.computeConv2DInfo(
        x.shape as [number, number, number, number], filter.shape as [number, number, number, number],
        attrs.strides, attrs.dilations, attrs.pad, attrs.dimRoundingMode, false,
        backend_util.convertConv2DDataFormat(attrs.dataFormat ?? 'NHWC'));
      if (!nativeHandles(info, [x.dtype, filter.dtype], false)) return fallback(args as never);
      return runNative(backend, addon, 'conv2d', x, filter, info.outShape, geometryOf(info, false));
    }) as unknown as KernelFunc;
  },
};
