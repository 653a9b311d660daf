/**
 * Conv2DBackpropInput on the native indirect GEMM over dy, rows grouped by stride phase
 * (only the taps that reach a phase are computed: no zero-stuffed dy).
 */
import {
  backend_util, Conv2DBackpropInput, type Conv2DBackpropInputAttrs, type Conv2DBackpropInputInputs, type TensorInfo,
} from '@tensorflow/tfjs-core';
import { nativeConvKernel } from './run.js';

export const conv2dBackpropInputNative = nativeConvKernel(Conv2DBackpropInput, 'conv2dBackpropInput', false,
  (inputs: Conv2DBackpropInputInputs, attrs: Conv2DBackpropInputAttrs) => {
    const dy = inputs.dy as TensorInfo, filter = inputs.filter as TensorInfo;
    const info = backend_util.computeConv2DInfo(
      attrs.inputShape, filter.shape as [number, number, number, number], attrs.strides, 1, attrs.pad,
      attrs.dimRoundingMode, false, backend_util.convertConv2DDataFormat(attrs.dataFormat ?? 'NHWC'));
    return { info, a: dy, b: filter, outShape: attrs.inputShape };
  });
