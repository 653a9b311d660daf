/** The geometry array the native kernels take, from TF.js's own convolution info. */
import type { backend_util } from '@tensorflow/tfjs-core';
import type { Geometry } from './addon.js';

export function geometryOf(info: backend_util.Conv2DInfo, depthwise: boolean): Geometry {
  return Int32Array.from([
    info.batchSize, info.inHeight, info.inWidth, info.inChannels,
    info.filterHeight, info.filterWidth, depthwise ? info.inChannels : info.outChannels,
    info.outHeight, info.outWidth,
    info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth,
    info.padInfo.top, info.padInfo.left,
  ]);
}

/** True when the call is one the native kernels handle (else the previous kernel runs). */
export function nativeHandles(info: backend_util.Conv2DInfo, dtypes: string[], depthwise: boolean): boolean {
  if (dtypes.some((d) => d !== 'float32')) return false;
  if (info.dataFormat !== 'channelsLast') return false;
  if (depthwise && info.outChannels !== info.inChannels) return false;  // channel multiplier 1 only
  if (info.strideHeight * info.strideWidth > 64) return false;
  const sizes = [info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.outChannels];
  return sizes.every((s) => s > 0);
}

export type ConvCallKind = 'conv' | 'convInput' | 'convFilter' | 'dw' | 'dwInput' | 'dwFilter';

/**
 * Checks a geometry as the native addon's glue does (native/src/addon.cc) and returns the
 * float counts of the call's operands [a, b, out]: for the kernels that take raw pointers
 * (the WebAssembly module), where a wrong size would write past a tensor.
 */
export function checkConvCall(kind: ConvCallKind, g: Geometry): [number, number, number] {
  if (!(g instanceof Int32Array) || g.length < 15) throw new TypeError('hetsplit kernels: geometry must be an Int32Array of 15');
  for (let i = 0; i < 15; i++) {
    const ok = i >= 13 || i === 0 || i === 7 || i === 8 ? g[i]! >= 0 : g[i]! >= 1;
    if (!ok) throw new TypeError(`hetsplit kernels: geometry entry ${i} out of range`);
  }
  const [b, h, w, ci, kh, kw, co, oh, ow, sh, sw] = g as unknown as number[];
  if (sh! * sw! > 64) throw new TypeError('hetsplit kernels: stride product above 64');
  const depthwise = kind.startsWith('dw');
  if (depthwise && co !== ci) throw new TypeError('hetsplit kernels: depthwise needs channel multiplier 1');
  const xs = b! * h! * w! * ci!, ys = b! * oh! * ow! * co!, ws = kh! * kw! * ci! * (depthwise ? 1 : co!);
  if (kind === 'conv' || kind === 'dw') return [xs, ws, ys];
  if (kind === 'convInput' || kind === 'dwInput') return [ys, ws, xs];
  return [xs, ys, ws];
}
