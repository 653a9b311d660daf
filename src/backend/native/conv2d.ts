/** Conv2D (NHWC, HWIO) on the native indirect GEMM (native/src/kernels_impl.h). */
import {
  backend_util, Conv2D, type Conv2DAttrs, type Conv2DInputs, type TensorInfo,
} from '@tensorflow/tfjs-core';
import { nativeConvKernel } from './run.js';

export const conv2dNative = nativeConvKernel(Conv2D, 'conv2d', false,
  (inputs: Conv2DInputs, attrs: Conv2DAttrs) => {
    const x = inputs.x as TensorInfo, filter = inputs.filter as TensorInfo;
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], filter.shape as [number, number, number, number],
      attrs.strides, attrs.dilations, attrs.pad, attrs.dimRoundingMode, false,
      backend_util.convertConv2DDataFormat(attrs.dataFormat ?? 'NHWC'));
    return { info, a: x, b: filter, outShape: info.outShape };
  });
