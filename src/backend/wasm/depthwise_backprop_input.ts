/**
 * DepthwiseConv2dNativeBackpropInput for 'wasm' (WASM ships none), as ONE XNNPACK
 * depthwise convolution.
 *
 *   dx[b,y,x,c] = Σ_{ky,kx,q} dy[b, (y+pt−ky·dh)/sh, (x+pl−kx·dw)/sw, c·m+q] · W[ky,kx,c,q]
 *
 * Zero-stuff dy by the stride, rotate W by 180° and view it as [KH,KW,C·m,1]; a
 * stride-1 depthwise convolution (dilation as the forward's) gives, per c·m+q, the
 * contribution of output channel q; for m > 1 those are summed over q.
 */
import {
  backend_util, DepthwiseConv2dNativeBackpropInput,
  type DepthwiseConv2dNativeBackpropInputAttrs, type DepthwiseConv2dNativeBackpropInputInputs,
  type KernelConfig, type KernelFunc, type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { explicitPad, withScratch } from './ops.js';

export function depthwiseBackpropInput(args: {
  inputs: DepthwiseConv2dNativeBackpropInputInputs; backend: BackendWasm;
  attrs: DepthwiseConv2dNativeBackpropInputAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const dy = inputs.dy as TensorInfo;
  const filter = inputs.filter as TensorInfo;
  const { strides, dilations, pad, dimRoundingMode, inputShape } = attrs;
  const info = backend_util.computeConv2DInfo(
    inputShape, filter.shape as [number, number, number, number], strides, dilations ?? 1, pad,
    dimRoundingMode, true);
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const [b, h, w, c] = inputShape;
  const m = filter.shape[3];
  const eh = (kh - 1) * dh + 1, ew = (kw - 1) * dw + 1; // effective (dilated) kernel extent

  return withScratch(backend, (s) => {
    const { x, pad: p } = s.transposedConvInput(dy, [sh, sw], [eh, ew], info.padInfo, [h, w]);
    const rotated = s.reshape(s.run('Reverse', { x: filter }, { dims: [0, 1] }), [kh, kw, c * m, 1]);
    const g = s.run('DepthwiseConv2dNative', { x, filter: rotated }, {
      strides: [1, 1], dilations: [dh, dw], pad: explicitPad(p),
    });
    if (m === 1) return g;
    const perQ = s.reshape(g, [b, h, w, c, m]);
    return s.run('Sum', { x: perQ }, { axis: [4], keepDims: false });
  });
}

export const depthwiseBackpropInputConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropInput as unknown as KernelFunc,
};
