/**
 * Puts the native kernels in place of the WASM backend's convolution kernels, or takes
 * them out again. Must run AFTER the WASM backend has initialised: each replaced kernel
 * stays the fallback for the calls the native one does not handle (NCHW, channel
 * multiplier > 1, non-float32), and WASM's own kernels need their setup to have run.
 */
import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon.js';
import { conv2dNative } from './conv2d.js';
import { conv2dBackpropFilterNative } from './conv2d_backprop_filter.js';
import { conv2dBackpropInputNative } from './conv2d_backprop_input.js';
import { depthwiseNative } from './depthwise.js';
import { depthwiseBackpropFilterNative } from './depthwise_backprop_filter.js';
import { depthwiseBackpropInputNative } from './depthwise_backprop_input.js';
import type { NativeKernel } from './run.js';

export const nativeKernels: readonly NativeKernel[] = [
  conv2dNative, conv2dBackpropInputNative, conv2dBackpropFilterNative,
  depthwiseNative, depthwiseBackpropInputNative, depthwiseBackpropFilterNative,
];

let replaced: KernelConfig[] | null = null;

export function nativeKernelsActive(): boolean { return replaced != null; }

/** Idempotent. */
export function registerNativeKernels(addon: NativeAddon): void {
  if (replaced) return;
  replaced = [];
  for (const k of nativeKernels) {
    const previous = getKernel(k.kernelName, 'wasm');
    if (previous) {
      replaced.push(previous);
      unregisterKernel(k.kernelName, 'wasm');
    }
    registerKernel({ kernelName: k.kernelName, backendName: 'wasm', kernelFunc: k.make(addon, previous?.kernelFunc) });
  }
}

/** Restores the kernels the native ones replaced. Idempotent. */
export function unregisterNativeKernels(): void {
  if (!replaced) return;
  for (const k of nativeKernels) unregisterKernel(k.kernelName, 'wasm');
  for (const config of replaced) registerKernel(config);
  replaced = null;
}
