/** DepthwiseConv2dNativeBackpropInput (channel multiplier 1) natively. */
import {
  backend_util, DepthwiseConv2dNativeBackpropInput, type DepthwiseConv2dNativeBackpropInputAttrs,
  type DepthwiseConv2dNativeBackpropInputInputs, type TensorInfo,
} from '@tensorflow/tfjs-core';
import { nativeConvKernel } from './run.js';

export const depthwiseBackpropInputNative = nativeConvKernel(DepthwiseConv2dNativeBackpropInput, 'depthwiseBackpropInput', true,
  (inputs: DepthwiseConv2dNativeBackpropInputInputs, attrs: DepthwiseConv2dNativeBackpropInputAttrs) => {
    const dy = inputs.dy as TensorInfo, filter = inputs.filter as TensorInfo;
    const info = backend_util.computeConv2DInfo(
      attrs.inputShape, filter.shape as [number, number, number, number], attrs.strides, attrs.dilations,
      attrs.pad, attrs.dimRoundingMode, true);
    return { info, a: dy, b: filter, outShape: attrs.inputShape };
  });
