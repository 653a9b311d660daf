/**
 * Registers hetsplit's training kernels on the 'wasm' backend, replacing any kernel of
 * the same name that WASM ships (its Conv2DBackpropInput is a naive loop, its Identity a copy).
 * Each kernel lives in its own file beside its comparison test (test/backend/).
 */
import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { conv2dBackpropFilterConfig } from './conv2d_backprop_filter.js';
import { conv2dBackpropInputConfig } from './conv2d_backprop_input.js';
import { depthwiseBackpropFilterConfig } from './depthwise_backprop_filter.js';
import { depthwiseBackpropInputConfig } from './depthwise_backprop_input.js';
import { identityConfig } from './identity.js';

export const wasmTrainingKernels: readonly KernelConfig[] = [
  conv2dBackpropFilterConfig,
  conv2dBackpropInputConfig,
  depthwiseBackpropFilterConfig,
  depthwiseBackpropInputConfig,
  identityConfig,
];

let registered = false;

/** Idempotent. Must run before the 'wasm' backend is initialised or used. */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  for (const config of wasmTrainingKernels) {
    if (getKernel(config.kernelName, 'wasm') != null) unregisterKernel(config.kernelName, 'wasm');
    registerKernel(config);
  }
  registered = true;
}
