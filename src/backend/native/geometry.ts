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
