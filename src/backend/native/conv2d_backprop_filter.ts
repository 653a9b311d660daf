/**
 * Conv2DBackpropFilter natively: per image, dW[tap][ci][co] accumulates in registers over
 * the tap's valid pixels, x and dy read in place; the images' sums go to fixed chunks
 * added in order (the same result on any thread count).
 */
import {
  backend_util, Conv2DBackpropFilter, type Conv2DBackpropFilterAttrs, type Conv2DBackpropFilterInputs, type TensorInfo,
} from '@tensorflow/tfjs-core';
import { nativeConvKernel } from './run.js';

export const conv2dBackpropFilterNative = nativeConvKernel(Conv2DBackpropFilter, 'conv2dBackpropFilter', false,
  (inputs: Conv2DBackpropFilterInputs, attrs: Conv2DBackpropFilterAttrs) => {
    const x = inputs.x as TensorInfo, dy = inputs.dy as TensorInfo;
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad,
      attrs.dimRoundingMode, false, backend_util.convertConv2DDataFormat(attrs.dataFormat ?? 'NHWC'));
    return { info, a: x, b: dy, outShape: attrs.filterShape };
  });
