/**
 * Puts the native kernels in place of the WASM backend's convolution and PACT kernels and
 * adds the fused BatchNorm, or takes them out again. Must run AFTER the WASM backend has initialised: each replaced kernel
 * stays the fallback for the calls the native one does not handle (NCHW, channel
 * multiplier > 1, non-float32), and WASM's own kernels need their setup to have run.
 */
import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { PACT, PACT_GRAD, registerPactKernels } from '../fused/pact.js';
import type { NativeAddon } from './addon.js';
import { batchNormKernels, registerBatchNormGradient } from './batchnorm.js';
import { pactKernels } from './pact.js';
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
let added: KernelConfig[] = [];
let registeredAddon: NativeAddon | null = null;
let taken: readonly NativeKernel[] = [];

/** Idempotent for the same addon; another addon (native ↔ wasm) replaces the first. */
export function registerNativeKernels(addon: NativeAddon): void {
  if (replaced && registeredAddon === addon) return;
  if (replaced) unregisterNativeKernels();
  registeredAddon = addon;
  replaced = [];
  taken = nativeKernels.filter((k) => !addon.takes || addon.takes.includes(k.kernelName));
  for (const k of taken) {
    const previous = getKernel(k.kernelName, 'wasm');
    if (previous) {
      replaced.push(previous);
      unregisterKernel(k.kernelName, 'wasm');
    }
    registerKernel({ kernelName: k.kernelName, backendName: 'wasm', kernelFunc: k.make(addon, previous?.kernelFunc) });
  }
  // PACT: the JS kernels first (so they are what is restored), then the native ones over them.
  registerPactKernels();
  for (const config of pactKernels(addon)) {
    replaced.push(getKernel(config.kernelName, 'wasm')!);
    unregisterKernel(config.kernelName, 'wasm');
    registerKernel(config);
  }
  registerBatchNormGradient();
  added = batchNormKernels(addon);
  for (const config of added) registerKernel(config);
}

/** Restores the kernels the native ones replaced. Idempotent. */
export function unregisterNativeKernels(): void {
  if (!replaced) return;
  for (const k of taken) unregisterKernel(k.kernelName, 'wasm');
  for (const name of [...added.map((c) => c.kernelName), PACT, PACT_GRAD]) unregisterKernel(name, 'wasm');
  for (const config of replaced) registerKernel(config);
  replaced = null;
  added = [];
  registeredAddon = null;
  taken = [];
}
