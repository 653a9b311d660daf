/** DepthwiseConv2dNativeBackpropFilter (channel multiplier 1) natively, fixed-chunk partial sums. */
import {
  backend_util, DepthwiseConv2dNativeBackpropFilter, type DepthwiseConv2dNativeBackpropFilterAttrs,
  type DepthwiseConv2dNativeBackpropFilterInputs, type TensorInfo,
} from '@tensorflow/tfjs-core';
import { nativeConvKernel } from './run.js';

export const depthwiseBackpropFilterNative = nativeConvKernel(DepthwiseConv2dNativeBackpropFilter, 'depthwiseBackpropFilter', true,
  (inputs: DepthwiseConv2dNativeBackpropFilterInputs, attrs: DepthwiseConv2dNativeBackpropFilterAttrs) => {
    const x = inputs.x as TensorInfo, dy = inputs.dy as TensorInfo;
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, attrs.dilations,
      attrs.pad, attrs.dimRoundingMode, true);
    return { info, a: x, b: dy, outShape: attrs.filterShape };
  });
