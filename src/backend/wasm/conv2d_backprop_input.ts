/**
 * Conv2DBackpropInput for 'wasm', as ONE XNNPACK convolution (WASM's own kernel is a
 * naive scalar loop: 4.6 s of an 8.8 s ResNet20 step, see shared/design/engine.md).
 *
 *   dx[b,y,x,ci] = Σ_{ky,kx,co} dy[b, (y+pt−ky)/sh, (x+pl−kx)/sw, co] · W[ky,kx,ci,co]
 *                  (terms with a non-integer or out-of-range dy index are zero)
 *
 * is a stride-1 convolution of the zero-stuffed dy (sh−1 zeros between rows, sw−1
 * between columns) with the filter rotated 180° and its channel axes swapped
 * ([KH,KW,Co,Ci]), padded by KH−1−pt on top so that the output is exactly H×W.
 */
import {
  backend_util, Conv2DBackpropInput,
  type Conv2DBackpropInputAttrs, type Conv2DBackpropInputInputs, type KernelConfig,
  type KernelFunc, type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { explicitPad, withScratch } from './ops.js';

export function conv2dBackpropInput(args: {
  inputs: Conv2DBackpropInputInputs; backend: BackendWasm; attrs: Conv2DBackpropInputAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const dy = inputs.dy as TensorInfo;
  const filter = inputs.filter as TensorInfo;
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
  const format = backend_util.convertConv2DDataFormat(dataFormat);
  if (format !== 'channelsLast') {
    throw new Error(`hetsplit wasm Conv2DBackpropInput: dataFormat '${dataFormat}' unsupported, use NHWC`);
  }
  const info = backend_util.computeConv2DInfo(
    inputShape, filter.shape as [number, number, number, number], strides, 1, pad,
    dimRoundingMode, false, format);
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const [, h, w] = inputShape;

  return withScratch(backend, (s) => {
    const { x, pad: p } = s.transposedConvInput(dy, [sh, sw], [kh, kw], info.padInfo, [h, w]);
    const rotated = s.run('Reverse', { x: filter }, { dims: [0, 1] });
    const swapped = s.transpose(rotated, [0, 1, 3, 2]);
    return s.run('Conv2D', { x, filter: swapped }, {
      strides: [1, 1], dilations: [1, 1], pad: explicitPad(p), dataFormat: 'NHWC',
    });
  });
}

export const conv2dBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropInput as unknown as KernelFunc,
};
