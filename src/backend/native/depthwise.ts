/** DepthwiseConv2dNative (channel multiplier 1) natively, vectorised over channels. */
import {
  backend_util, DepthwiseConv2dNative, type DepthwiseConv2dNativeAttrs, type DepthwiseConv2dNativeInputs, type TensorInfo,
} from '@tensorflow/tfjs-core';
import { nativeConvKernel } from './run.js';

export const depthwiseNative = nativeConvKernel(DepthwiseConv2dNative, 'depthwise', true,
  (inputs: DepthwiseConv2dNativeInputs, attrs: DepthwiseConv2dNativeAttrs) => {
    const x = inputs.x as TensorInfo, filter = inputs.filter as TensorInfo;
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], filter.shape as [number, number, number, number],
      attrs.strides, attrs.dilations, attrs.pad, attrs.dimRoundingMode, true,
      backend_util.convertConv2DDataFormat(attrs.dataFormat ?? 'NHWC'));
    return { info, a: x, b: filter, outShape: info.outShape };
  });
