/**
 * DepthwiseConv2dNativeBackpropFilter for 'wasm' (WASM ships none), as ONE XNNPACK
 * depthwise convolution.
 *
 *   dW[ky,kx,c,q] = Σ_{b,oy,ox} x[b, oy·sh + ky·dh − pt, ox·sw + kx·dw − pl, c] · dy[b,oy,ox,c·m+q]
 *
 * Fold the batch into the channels: X[0,y,x,b·C+c] = x[b,y,x,c] and
 * F[oy,ox,b·C+c,q] = dy[b,oy,ox,c·m+q]. A depthwise convolution of X with F (channel
 * multiplier m, stride = forward dilation, dilation = forward stride) gives
 * G[0,ky,kx,(b·C+c)·m+q]; summing over b gives dW.
 */
import {
  backend_util, DepthwiseConv2dNativeBackpropFilter,
  type DepthwiseConv2dNativeBackpropFilterAttrs, type DepthwiseConv2dNativeBackpropFilterInputs,
  type KernelConfig, type KernelFunc, type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { explicitPad, withScratch } from './ops.js';

export function depthwiseBackpropFilter(args: {
  inputs: DepthwiseConv2dNativeBackpropFilterInputs; backend: BackendWasm;
  attrs: DepthwiseConv2dNativeBackpropFilterAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  const { strides, dilations, pad, dimRoundingMode, filterShape } = attrs;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape, strides, dilations ?? 1, pad,
    dimRoundingMode, true);
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const [b, h, w, c] = x.shape;
  const [, oh, ow] = dy.shape;
  const m = filterShape[3];
  const pt = info.padInfo.top, pl = info.padInfo.left;
  const pb = Math.max(0, (kh - 1) * dh + (oh - 1) * sh + 1 - h - pt);
  const pr = Math.max(0, (kw - 1) * dw + (ow - 1) * sw + 1 - w - pl);

  return withScratch(backend, (s) => {
    const xT = s.reshape(s.transpose(x, [1, 2, 0, 3]), [1, h, w, b * c]);
    const dyT = s.reshape(s.transpose(dy, [1, 2, 0, 3]), [oh, ow, b * c, m]);
    const g = s.run('DepthwiseConv2dNative', { x: xT, filter: dyT }, {
      strides: [dh, dw], dilations: [sh, sw], pad: explicitPad([[pt, pb], [pl, pr]]),
    });
    const cropped = s.cropTo(g, [1, kh, kw, b * c * m]);
    const perBatch = s.reshape(cropped, [kh, kw, b, c * m]);
    const summed = b === 1 ? perBatch : s.run('Sum', { x: perBatch }, { axis: [2], keepDims: false });
    return s.reshape(summed, [kh, kw, c, m]);
  });
}

export const depthwiseBackpropFilterConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropFilter as unknown as KernelFunc,
};
